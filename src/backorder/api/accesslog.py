"""The server's logging: uvicorn's own, with the access log kept free of customers' tokens.
A customer's link carries its token in the query (`/api/v1/customer/orders/{ref}?token=…`,
and the delay page's `?choice=…&token=…`), and uvicorn's access log prints the path with the
query; whoever reads the logs could open and cancel those orders. The filter masks the
token's value in every access-log line before any handler sees it."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

# `token=` as a query parameter (any case: the query is the client's to spell), to the next
# parameter.
TOKEN_PARAMETER = re.compile(r"([?&]token=)[^&#\s\"]*", re.IGNORECASE)
MASK = "***"


def masked(text: str) -> str:
    """The text with the value of every `token` query parameter replaced by ***."""
    return TOKEN_PARAMETER.sub(lambda found: found[1] + MASK, text)


class MaskTokens(logging.Filter):
    """Masks tokens in a record's message and in its arguments (uvicorn's access formatter
    reads the request line from the arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = masked(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(masked(a) if isinstance(a, str) else a for a in record.args)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, with the access log's logger filtered."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"mask_tokens": {"()": MaskTokens}}
    config["loggers"]["uvicorn.access"]["filters"] = ["mask_tokens"]
    return config
