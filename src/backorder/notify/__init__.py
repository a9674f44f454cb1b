"""Senders of what the outbox says: webhooks now (e-mail, SMS and the live stream follow).
Each sender takes one message and says how it went; when to send and what to retry is the
dispatcher's business (services.notifications)."""

# The customer e-mail milestones, each with its templates (email/<kind>.*).
EMAIL_KINDS = ("backorder_confirmed", "status_update", "allocated", "shipped", "cancelled")
