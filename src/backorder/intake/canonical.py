"""The engine's own order JSON, taken as it is (validation follows in the intake flow)."""

from __future__ import annotations

from typing import Any

from backorder.intake.base import Converted, Payload, Unreadable, load_json, split_json


class CanonicalAdapter:
    channel = "canonical"

    def split(self, text: str) -> list[Payload]:
        return split_json(text, lambda item: item.get("external_id"))

    def convert(self, payload: Payload) -> Converted:
        document: Any = load_json(payload.text)
        if not isinstance(document, dict):
            raise Unreadable("a canonical order is a JSON object")
        return Converted(document)


ADAPTER = CanonicalAdapter()
