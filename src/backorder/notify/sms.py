"""Text messages. A provider is anything with `send(to, body) -> Sent`; the first speaks the
Twilio Messages REST API (`POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form fields
`To`, `From` or `MessagingServiceSid`, and `Body`, with HTTP basic auth), at a configurable
base URL, so a compatible provider or a local stand-in can take its place.

How an answer is read: 2xx is sent (the provider's `sid` is kept); 429 and 5xx are worth
another try later (after `Retry-After` when given); any other 4xx is permanent: the number or
the request is wrong and saying it again will not help. Twilio honours no idempotency key, so
a request whose answer was lost (a read timeout) is not sent again by itself: the dispatcher
reports it instead of risking a second text."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from backorder.notify import Sent

USER_AGENT = "backorder-sms/1"
# Long texts cost several segments; ours stay within three (GSM-7: 153 characters each).
MAX_LENGTH = 459
UNSURE = "outcome unknown: the provider may have sent it; check its log before a retry"


def configured(settings: Any) -> bool:
    """Whether the deployment named an SMS account, its token and a sender."""
    return bool(settings.sms_account_sid and settings.sms_auth_token and settings.sms_from)


class SmsProvider(Protocol):
    def send(self, to: str, body: str) -> Sent: ...


class Twilio:
    """The Twilio Messages API (or one that speaks it) at `base_url`."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
    ) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = httpx.BasicAuth(account_sid, auth_token)
        self.sender = ("MessagingServiceSid" if sender.startswith("MG") else "From", sender)

    def send(self, to: str, body: str) -> Sent:
        form = {"To": to, "Body": fit(body), self.sender[0]: self.sender[1]}
        try:
            answer = self.client.post(
                self.url, data=form, auth=self.auth, headers={"user-agent": USER_AGENT}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:  # never reached it
            return Sent(False, None, f"{type(error).__name__}: {error}"[:500])
        except httpx.HTTPError as error:  # it may have gone out: do not send it twice
            return Sent(
                False, None, f"{UNSURE} ({type(error).__name__}: {error})"[:500], permanent=True
            )
        return read_answer(answer)


def read_answer(answer: httpx.Response) -> Sent:
    status = answer.status_code
    try:
        document = answer.json()
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    if 200 <= status < 300:
        sid = document.get("sid")
        return Sent(True, status, provider_id=str(sid)[:128] if sid else None)
    detail = document.get("message") or answer.text[:200]
    code = f" (code {document['code']})" if document.get("code") else ""
    error = f"HTTP {status}{code}: {detail}"[:500]
    if status == 429 or status >= 500 or status == 408:
        return Sent(False, status, error, retry_after=retry_after(answer))
    return Sent(False, status, error, permanent=True)


def retry_after(answer: httpx.Response) -> float | None:
    value = answer.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def fit(body: str) -> str:
    """One line of text, cut (with an ellipsis) to what three segments carry."""
    text = " ".join(body.split())
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1].rstrip() + "…"
