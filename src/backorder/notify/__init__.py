"""Senders of what the outbox says: webhooks, customer and staff e-mail, SMS. Each sender
takes one message and says how it went; when to send and what to retry is the dispatcher's
business (services.notifications)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    """How one attempt went: delivered, or why not (and the status when there was one)."""

    ok: bool
    status: int | None = None
    error: str | None = None
    withdrawn: bool = False  # not sent, and not to be: what it would say is no longer true
    permanent: bool = False  # failed in a way trying again cannot mend (a refused number)
    retry_after: float | None = None  # the far side asked us to wait this many seconds
    provider_id: str | None = None  # what the provider calls the message


# The customer milestones, each with its templates (email/<kind>.*, sms/<kind>.txt).
EMAIL_KINDS = (
    "backorder_confirmed",
    "status_update",
    "eta_changed",
    "delay_notice",
    "allocated",
    "shipped",
    "cancelled",
    "substitute_offer",
)
# Milestones that wait a little, so that more of the same for one order go in one message.
FOLDED_KINDS = ("eta_changed", "allocated", "shipped", "cancelled")
