"""A check for the schemathesis run: a request the schema allows never fails the server's
own validation. (The business may still refuse it, as a different problem type.)"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def schema_valid_request_passes_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("type") == "/problems/validation":
        raise AssertionError(f"the schema allows this request, the server refused it: {body}")
    return None
