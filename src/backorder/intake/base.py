"""What every channel adapter does: cut a delivery into payloads, and turn one payload into
the canonical order JSON (or say, in words, why it cannot). Adapters are pure: no database,
no clock; SKU aliases and the catalogue are applied after them, by the intake flow."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from backorder.canonical import unreadable_number
from backorder.words import language_tag


class Unreadable(Exception):
    """The payload cannot be read as this channel's format; the message says where."""


@dataclass
class Converted:
    """A canonical order (a dict in the shape of `canonical.OrderIn`) and what was noticed
    on the way that is worth a warning but not a refusal."""

    order: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Payload:
    """One order as the channel delivered it: its text, and its id when it can be read; the
    topic its body names, for a channel that names it there (BigCommerce's `scope`)."""

    text: str
    external_id: str | None
    topic: str | None = None


class Adapter(Protocol):
    channel: str

    def split(self, text: str) -> list[Payload]:
        """The payloads in one delivery (a file or a request body). Never raises: a delivery
        that cannot be read is one payload with no external id, and converting it says why."""
        ...

    def convert(self, payload: Payload) -> Converted:
        """The canonical order; raises Unreadable with the reason when it cannot."""
        ...


@runtime_checkable
class Acknowledging(Protocol):
    """An adapter whose channel expects an acknowledgement of each delivery (X12's 997)."""

    def acknowledge(self, text: str, control: int, now: datetime) -> str | None:
        """The acknowledgement of a delivery; `control` numbers it uniquely."""
        ...


@runtime_checkable
class Partial(Protocol):
    """An adapter whose channel can deliver part of an order: a notification carrying only
    the order's id (BigCommerce's webhooks), an order without its lines. Such a payload is
    kept, waiting for the rest, and settled when the whole order comes."""

    def waiting_for(self, payload: Payload) -> str | None:
        """What the payload waits for, in words; None when it is a whole order (or none)."""
        ...

    def combine(self, texts: list[str]) -> Payload | None:
        """The whole order the parts' texts make together, if they make one."""
        ...


@runtime_checkable
class Noting(Protocol):
    """An adapter whose deliveries have envelopes (X12, EDIFACT) that can disagree with what
    they hold: a trailer's count, a control number. What it notices is told in words to
    whoever sent the delivery, beside the acknowledgement that says it by code."""

    def envelope_notes(self, text: str) -> list[str]:
        """What is wrong with the delivery's envelopes, in words; [] when nothing is."""
        ...


def _whole(digits: str) -> int:
    """A JSON integer; one too long for Python to read makes the payload unreadable."""
    why = unreadable_number(digits)
    if why:
        raise Unreadable(why)
    return int(digits)


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_whole)
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace


def load_json(text: str) -> Any:
    """JSON with exact decimals (money is never a float), or Unreadable."""
    try:
        return json.loads(text, parse_float=Decimal, parse_int=_whole)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise Unreadable(f"not JSON: {error}") from None


def _space(text: str, at: int) -> int:
    """The first position at or after `at` that is not JSON whitespace."""
    found = _SPACE.match(text, at)
    return found.end() if found else at


def _elements(text: str) -> list[tuple[Any, str]]:
    """The JSON value of the text, or each element of a top-level array, each with its own
    text exactly as it came (so numbers stay as written); Unreadable when it is not JSON."""
    try:
        at = _space(text, 0)
        if not text.startswith("[", at):
            value, end = _DECODER.raw_decode(text, at)
            found = [(value, text[at:end])]
        else:
            found, at = [], _space(text, at + 1)
            end = at + 1 if text.startswith("]", at) else -1
            while end < 0:  # each turn reads one element: bounded by the text's length
                value, stop = _DECODER.raw_decode(text, at)
                found.append((value, text[at:stop]))
                at = _space(text, stop)
                if text.startswith(",", at):
                    at = _space(text, at + 1)
                elif text.startswith("]", at):
                    end = at + 1
                else:
                    raise Unreadable(f"not JSON: expected ',' or ']' at character {at}")
    except (ValueError, RecursionError) as error:
        raise Unreadable(f"not JSON: {error}") from None
    if _space(text, end) != len(text):
        raise Unreadable(f"not JSON: extra data at character {_space(text, end)}")
    return found


def split_json(text: str, external_id: Any) -> list[Payload]:
    """One JSON object, or a JSON array of them, each as its own payload: its own text,
    exactly as received."""
    try:
        items = _elements(text)
    except Unreadable:
        return [Payload(text, None)]
    if not items:
        return [Payload(text, None)]
    payloads = []
    for item, item_text in items:
        try:
            ident = external_id(item) if isinstance(item, dict) else None
        except (KeyError, TypeError, ValueError):
            ident = None
        payloads.append(Payload(item_text, str(ident) if ident is not None else None))
    return payloads


def need(document: Any, *path: str | int) -> Any:
    """document[path...], or Unreadable naming the missing field."""
    value = document
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            raise Unreadable(f"missing {'.'.join(str(p) for p in path)}") from None
    if value is None:
        raise Unreadable(f"missing {'.'.join(str(p) for p in path)}")
    return value


def listed(document: Any, key: str, required: bool = False) -> list[Any]:
    """document[key] as a list: absent is empty (or Unreadable when required)."""
    value = document.get(key) if isinstance(document, dict) else None
    if isinstance(value, list) and (value or not required):
        return value
    if required:
        raise Unreadable(f"{key} must be a non-empty list")
    return []


def channel_sku(item: dict[str, Any], where: str, own: str, *ids: tuple[str, str]) -> str:
    """The channel's SKU field, else the first id present as `prefix:id` (for the alias
    table); an id of 0 means none, as the channels send it."""
    sku = text_of(item.get(own))
    if sku is not None:
        return sku
    for key, prefix in ids:
        value = text_of(item.get(key))
        if value is not None and value != "0":
            return f"{prefix}:{value}"
    names = ", ".join([own, *(key for key, _ in ids)])
    raise Unreadable(f"{where} has none of {names}")


def text_of(value: Any) -> str | None:
    """A string field as text, or None when absent or empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def money(value: Any, where: str) -> str | None:
    """An amount as a canonical decimal string ("19.99"), or None when absent."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
        if not amount.is_finite() or abs(amount) >= 10**12:
            raise ArithmeticError
        return format(amount.quantize(Decimal("0.0001")).normalize(), "f")
    except ArithmeticError:
        raise Unreadable(f"{where}: {value!r} is not an amount") from None


def words_of(value: Any, limit: int, what: str, warnings: list[str]) -> str | None:
    """A name the customer reads (an order number, a variant) as the canonical order takes
    it: text up to `limit` characters with no NUL; otherwise left out, with a warning (the
    order is still taken: the customer's words are not worth losing it over)."""
    text = text_of(value)
    if text is None or isinstance(value, dict | list | bool):
        return None
    if len(text) > limit or "\x00" in text:
        warnings.append(f"{what} left out: more than {limit} characters or a NUL")
        return None
    return text


def language_of(value: Any, what: str, warnings: list[str]) -> str | None:
    """A customer's language as the canonical order takes it ("fr-CA"); a tag we have no
    words for is left out with a warning (the shop's language is used instead)."""
    text = text_of(value)
    if text is None or isinstance(value, dict | list | bool):
        return None
    tag = language_tag(text[:35])
    if tag is None:
        warnings.append(f"{what} {text[:35]!r} is not a language we have words for: left out")
    return tag
