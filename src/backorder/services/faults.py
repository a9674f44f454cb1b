"""How a worker speaks of what went wrong with one record it could not handle: in one line,
with where it was raised, so a person can file it and the worker can go on."""

from __future__ import annotations

import traceback
from pathlib import Path


def describe(error: BaseException, limit: int = 2000) -> str:
    """The error's type and message, and the place it was raised."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    where = ""
    if frames:
        last = frames[-1]
        where = f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return f"{type(error).__name__}: {error}{where}"[:limit]
