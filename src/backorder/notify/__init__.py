"""Senders of what the outbox says: webhooks now (e-mail, SMS and the live stream follow).
Each sender takes one message and says how it went; when to send and what to retry is the
dispatcher's business (services.notifications)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    """How one attempt went: delivered, or why not (and the status when there was one)."""

    ok: bool
    status: int | None = None
    error: str | None = None
    withdrawn: bool = False  # not sent, and not to be: what it would say is no longer true


# The customer e-mail milestones, each with its templates (email/<kind>.*).
EMAIL_KINDS = ("backorder_confirmed", "status_update", "allocated", "shipped", "cancelled")
