"""The intake's validation rules, as data: each rule is an error (the payload is
dead-lettered), a warning (the order is taken and flagged) or off, set for every channel, for
one channel, for one account, or for one channel's account; the most specific setting wins.

Pure: the settings come in as rows, the catalogue as a mapping; nothing is read here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backorder.canonical import OrderIn


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


ANY = frozenset(Severity)


@dataclass(frozen=True)
class RuleSpec:
    meaning: str
    default: Severity
    severities: frozenset[Severity] = ANY


RULES: dict[str, RuleSpec] = {
    "unknown_sku": RuleSpec(
        "a line names a SKU that is no product and has no alias",
        Severity.ERROR,
        frozenset({Severity.ERROR}),
    ),
    "invalid_order": RuleSpec(
        "the order breaks the canonical order's rules (a quantity that is not positive, a "
        "missing field, a malformed value)",
        Severity.ERROR,
        frozenset({Severity.ERROR}),
    ),
    "currency": RuleSpec(
        "the order's currency is not one the account sells in (`currencies`)", Severity.OFF
    ),
    "missing_contact": RuleSpec(
        "the customer gave neither e-mail nor phone (off for Amazon, which hides both)",
        Severity.WARNING,
    ),
    "duplicate_line": RuleSpec("a SKU appears on more than one line", Severity.WARNING),
    "price_deviation": RuleSpec(
        "a line's price is further from the catalogue price than `max_deviation_percent` "
        "(default 50)",
        Severity.WARNING,
    ),
}
CHANNEL_DEFAULTS: dict[tuple[str, str], Severity] = {("amazon", "missing_contact"): Severity.OFF}
DEFAULT_DEVIATION = Decimal(50)


@dataclass(frozen=True)
class Rule:
    name: str
    severity: Severity
    currencies: tuple[str, ...] = ()
    max_deviation_percent: Decimal = DEFAULT_DEVIATION
    set_for: str = "default"  # default | every channel | CHANNEL | ACCOUNT | CHANNEL.ACCOUNT

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "rule": self.name,
            "severity": str(self.severity),
            "set_for": self.set_for,
            "meaning": RULES[self.name].meaning,
        }
        if self.name == "currency":
            view["currencies"] = list(self.currencies)
        if self.name == "price_deviation":
            view["max_deviation_percent"] = str(self.max_deviation_percent)
        return view


@dataclass(frozen=True)
class Setting:
    """One stored setting: a rule's severity (and options) for a channel and account, where
    an empty channel or account means every one."""

    rule: str
    channel: str
    account: str
    severity: Severity
    options: Mapping[str, Any]

    @property
    def specificity(self) -> int:
        return (2 if self.channel else 0) + (1 if self.account else 0)

    @property
    def scope(self) -> str:
        if self.channel and self.account:
            return f"{self.channel}.{self.account}"
        return self.channel or (f"account {self.account}" if self.account else "every channel")


def effective(channel: str, account: str, settings: Iterable[Setting]) -> dict[str, Rule]:
    """The rules that apply to one channel's account."""
    rules = {
        name: Rule(name, CHANNEL_DEFAULTS.get((channel, name), spec.default))
        for name, spec in RULES.items()
    }
    applicable = [
        s
        for s in settings
        if s.rule in RULES and s.channel in ("", channel) and s.account in ("", account)
    ]
    for setting in sorted(applicable, key=lambda s: s.specificity):
        options = setting.options or {}
        rules[setting.rule] = Rule(
            setting.rule,
            setting.severity,
            tuple(options.get("currencies") or ()),
            Decimal(str(options.get("max_deviation_percent") or DEFAULT_DEVIATION)),
            setting.scope,
        )
    return rules


def check(
    order: OrderIn,
    catalogue: Mapping[str, Decimal | None],
    rules: Mapping[str, Rule],
    unit_prices: Sequence[Decimal | None] | None = None,
) -> tuple[list[str], list[str]]:
    """What the configurable rules say of a valid order: (errors, warnings). `unit_prices`
    are the lines' prices per single unit when some line is ordered in packs."""
    errors: list[str] = []
    warnings: list[str] = []

    def found(rule: str, message: str) -> None:
        severity = rules[rule].severity
        if severity is not Severity.OFF:
            (errors if severity is Severity.ERROR else warnings).append(f"{message} ({rule})")

    currency = rules["currency"]
    if currency.currencies and order.currency not in currency.currencies:
        sold = ", ".join(currency.currencies)
        found("currency", f"currency {order.currency} is not one this account sells in ({sold})")
    if not order.customer.email and not order.customer.phone:
        found("missing_contact", "no way to reach the customer: neither e-mail nor phone")
    seen: set[str] = set()
    deviation = rules["price_deviation"].max_deviation_percent
    for number, line in enumerate(order.lines, start=1):
        if line.sku in seen:
            found("duplicate_line", f"line {number}: {line.sku} appears on more than one line")
        seen.add(line.sku)
        listed = catalogue.get(line.sku)
        price = unit_prices[number - 1] if unit_prices is not None else line.unit_price
        if price is not None and listed and abs(price - listed) * 100 > listed * deviation:
            per = " a unit" if price != line.unit_price else ""
            found(
                "price_deviation",
                f"line {number}: price {price}{per} is far from the catalogue's {listed}",
            )
    return errors, warnings
