"""Content negotiation between a page and JSON on one address (a customer's link is opened by
browsers and by programs): HTML only when the client's Accept header ranks it above JSON."""

from __future__ import annotations

HTML = "text/html"
JSON = "application/json"


def _quality(accept: str, media_type: str) -> float:
    """The q the Accept header gives `media_type`, from its most specific matching range
    (RFC 9110 §12.5.1); 0 when no range matches."""
    kind = media_type.split("/")[0]
    best_specificity, quality = -1, 0.0
    for item in accept.split(","):
        parts = [part.strip() for part in item.split(";")]
        media = parts[0].lower()
        if media == media_type:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        q = 1.0
        for parameter in parts[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value.strip())))
                except ValueError:
                    q = 0.0
        if specificity > best_specificity:
            best_specificity, quality = specificity, q
    return quality


def prefers_html(accept: str | None) -> bool:
    """Whether the client would rather have HTML than JSON: a browser's navigation
    (`text/html,...,*/*;q=0.8`) would; no Accept, `*/*`, or a tie leaves JSON."""
    if not accept:
        return False
    return _quality(accept, HTML) > _quality(accept, JSON)
