"""Who approves a purchase order made from a recommendation: a rule, when its value is
within the limit that applies, else a person (the procurement manager's task).

The limit that applies is the first one set of: the supplier's own
(`suppliers.auto_approve_limit`), the SKU's ABC class's (`auto_approve_limits`; of a
purchase order of several SKUs, the lowest of theirs), the general one
(`auto_approve_limit`). None set, or a value that is not known (a line without a price): a
person approves. Pure: the caller reads the limits and the classes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Limits:
    supplier: Decimal | None  # the supplier's own
    by_class: Mapping[str, Decimal]  # per ABC class (settings.auto_approve_limits)
    general: Decimal | None  # settings.auto_approve_limit


@dataclass(frozen=True)
class Verdict:
    automatic: bool
    rule: str | None  # "rule:auto_approve_limit supplier FilterCo 500.00" when automatic
    reason: str  # in words, for the task and the audit


def _limit(supplier: str, classes: Sequence[str], limits: Limits) -> tuple[Decimal, str] | None:
    if limits.supplier is not None:
        return limits.supplier, f"supplier {supplier}"
    known = [(limits.by_class[c], c) for c in sorted(set(classes)) if c in limits.by_class]
    if known:
        value, name = min(known)
        return value, f"class {name}"
    if limits.general is not None:
        return limits.general, "general"
    return None


def decide(value: Decimal | None, supplier: str, classes: Sequence[str], limits: Limits) -> Verdict:
    """Approve automatically when `value` is within the limit that applies."""
    found = _limit(supplier, classes, limits)
    if found is None:
        return Verdict(False, None, "no auto-approve limit is set: a person approves")
    limit, which = found
    if value is None:
        return Verdict(False, None, "a line has no price, its value is unknown: a person approves")
    if value <= limit:
        setting = "auto_approve_limits" if which.startswith("class") else "auto_approve_limit"
        rule = f"rule:{setting} {which} {limit:.2f}"
        return Verdict(True, rule, f"value {value:.2f} is within the {which} limit {limit:.2f}")
    return Verdict(False, None, f"value {value:.2f} is over the {which} limit {limit:.2f}")
