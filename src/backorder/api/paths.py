"""References in paths. An order's `CHANNEL:EXTERNAL_ID`, a SKU, a supplier or a purchase
order may hold `/`, `?`, `#` or `%` (an EDI PO number looks like `PO/2026/0042`), so a link
carries each as one percent-encoded segment (services/links.py). The server decodes the path
before routing, which would turn an encoded `/` into a separator and leave no way to tell
`%2F` from `/`: so routing here sees each segment decoded except for `/` and `%`, which stay
encoded (`%2F`, `%25`), and a reference parameter decodes those two last (`Segment`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from pydantic import BeforeValidator
from starlette.types import ASGIApp, Receive, Scope, Send


def routed(raw_path: bytes) -> str:
    """The path as routing sees it: each segment decoded (as UTF-8), but a `/` or a `%` it
    holds kept encoded, so that it stays inside its segment."""
    return "/".join(
        unquote_to_bytes(part).decode("utf-8", "replace").replace("%", "%25").replace("/", "%2F")
        for part in raw_path.split(b"/")
    )


def _decoded(value: Any) -> Any:
    return unquote(value) if isinstance(value, str) else value


# A path parameter that holds a reference: its `/` and `%`, kept encoded for routing, decoded.
Segment = BeforeValidator(_decoded)


class SegmentPaths:
    """Routes requests on their raw path, segment by segment (see the module's note)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] in ("http", "websocket") else None
        if raw:  # the raw path holds the root path too, as plain text: it comes out the same
            scope["path"] = routed(raw)
        await self.app(scope, receive, send)
