"""Links the service builds (customer links, task links, the dashboard's record pages): each
reference in them (an order's `CHANNEL:EXTERNAL_ID`, a SKU, a supplier, a purchase order) is
one path segment, percent-encoded whatever it holds, `/`, `?`, `#`, `%` and all."""

from __future__ import annotations

from urllib.parse import quote


def segment(value: str) -> str:
    """`value` as one path segment. A segment of dots alone would be read as "this" or "the
    parent" folder (and dropped by clients), so its dots are encoded too."""
    encoded = quote(value, safe=":")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
