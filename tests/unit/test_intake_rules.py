"""The intake's validation rules as data: the most specific setting wins, and each rule's
severity decides whether a finding refuses the order, flags it, or is not looked for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backorder.canonical import OrderIn
from backorder.intake.rules import Setting, Severity, check, effective


def order(**changes: Any) -> OrderIn:
    document: dict[str, Any] = {
        "channel": "shopify",
        "external_id": "1",
        "placed_at": "2026-11-20T10:00:00Z",
        "customer": {"id": "c-1"},
        "currency": "GBP",
        "lines": [
            {"sku": "A", "quantity": 1, "unit_price": "10"},
            {"sku": "A", "quantity": 2, "unit_price": "16"},
        ],
    }
    return OrderIn.model_validate(document | changes)


def setting(
    rule: str, severity: str, channel: str = "", account: str = "", **options: Any
) -> Setting:
    return Setting(rule, channel, account, Severity(severity), options)


CATALOGUE = {"A": Decimal("10.00")}


def test_the_defaults_warn_and_amazon_is_not_asked_for_a_contact() -> None:
    errors, warnings = check(order(), CATALOGUE, effective("shopify", "default", []))
    assert errors == []
    assert warnings == [
        "no way to reach the customer: neither e-mail nor phone (missing_contact)",
        "line 2: A appears on more than one line (duplicate_line)",
        "line 2: price 16 is far from the catalogue's 10.00 (price_deviation)",
    ]
    amazon = effective("amazon", "default", [])
    assert amazon["missing_contact"].severity is Severity.OFF
    assert "missing_contact" not in " ".join(check(order(), CATALOGUE, amazon)[1])


def test_the_most_specific_setting_wins_whatever_order_it_comes_in() -> None:
    settings = [
        setting("currency", "error", "shopify", "eu", currencies=["EUR"]),
        setting("currency", "warning", currencies=["USD"]),
        setting("currency", "off", "shopify"),
        setting("duplicate_line", "error", account="eu"),
        setting("price_deviation", "warning", "shopify", max_deviation_percent="70"),
        setting("missing_contact", "error", "woocommerce"),  # another channel: not here
    ]
    eu = effective("shopify", "eu", settings)
    assert (eu["currency"].severity, eu["currency"].set_for) == (Severity.ERROR, "shopify.eu")
    errors, warnings = check(order(), CATALOGUE, eu)
    assert errors == [
        "currency GBP is not one this account sells in (EUR) (currency)",
        "line 2: A appears on more than one line (duplicate_line)",
    ]
    assert warnings == ["no way to reach the customer: neither e-mail nor phone (missing_contact)"]
    us = effective("shopify", "us", settings)
    assert us["currency"].severity is Severity.OFF and us["currency"].set_for == "shopify"
    web = effective("woocommerce", "us", settings)
    assert web["currency"].set_for == "every channel"
    assert check(order(currency="USD"), CATALOGUE, web)[0] == [
        "no way to reach the customer: neither e-mail nor phone (missing_contact)"
    ]


def test_a_price_within_the_allowed_deviation_is_not_flagged() -> None:
    rules = effective(
        "csv", "default", [setting("price_deviation", "error", max_deviation_percent="60")]
    )
    assert check(order(), CATALOGUE, rules)[0] == []
    rules = effective(
        "csv", "default", [setting("price_deviation", "error", max_deviation_percent="59.9")]
    )
    assert check(order(), CATALOGUE, rules)[0] == [
        "line 2: price 16 is far from the catalogue's 10.00 (price_deviation)"
    ]
