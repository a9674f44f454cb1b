"""Webhooks the Standard Webhooks way: the event as JSON, POSTed with `webhook-id` (the
delivery's message id, the same on every attempt, so a subscriber can drop repeats),
`webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
id.timestamp.body>` under the subscription's `whsec_` secret)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from backorder.notify import Sent

USER_AGENT = "backorder-webhooks/1"


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form, `whsec_<base64 of 24 bytes>`."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def body_of(event_type: str, occurred_at: datetime, event_id: int, data: dict[str, Any]) -> str:
    """The JSON a subscriber receives."""
    document = {
        "type": event_type,
        "timestamp": occurred_at.isoformat(),
        "event_id": event_id,
        "data": data,
    }
    return json.dumps(document, separators=(",", ":"), default=str)


def text_body(event_type: str, data: dict[str, Any]) -> str:
    """The event as one line of text, `{"text": …}`, the body Slack and Teams incoming
    webhooks take."""
    if event_type in ("alert_raised", "alert_resolved"):
        state = {"alert_resolved": "Resolved: "}.get(event_type) or (
            "Alert: " if data.get("state") == "open" else ""
        )
        line = f"{state}{data.get('summary')}"
        if data.get("resolution") and event_type == "alert_resolved":
            line += f" ({data['resolution']})"
    elif isinstance(told := data.get("title") or data.get("summary"), str):  # tasks, incidents
        line = f"{event_type.replace('_', ' ')}: {told}"
    else:
        about = [f"{name} {data[name]}" for name in ("order_ref", "sku", "units") if data.get(name)]
        line = f"{event_type.replace('_', ' ')}: {', '.join(about)}" if about else event_type
    return json.dumps({"text": line})


def headers_for(
    secret: str, message_id: str, now: datetime, body: str, media: str = "application/json"
) -> dict[str, str]:
    return {
        "content-type": media,
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }


def post(
    client: httpx.Client,
    url: str,
    secret: str,
    message_id: str,
    now: datetime,
    body: str,
    media: str = "application/json",
) -> Sent:
    """One attempt: any 2xx answer is a delivery; anything else, or no answer, is not."""
    try:
        answer = client.post(
            url, content=body.encode(), headers=headers_for(secret, message_id, now, body, media)
        )
    except httpx.HTTPError as error:
        return Sent(False, None, f"{type(error).__name__}: {error}"[:500])
    if 200 <= answer.status_code < 300:
        return Sent(True, answer.status_code)
    return Sent(False, answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}")
