"""Dates, money and counts read the same everywhere, in the reader's language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from backorder.words import LANGUAGES, count, day, language_tag, locale_of, money, reason_in_words

THURSDAY = date(2027, 1, 14)


def test_a_date_reads_as_words_in_the_readers_language() -> None:
    assert day(THURSDAY, "en_GB", today=date(2027, 1, 2)) == "Thursday 14 January"
    assert day(THURSDAY, "en", today=date(2027, 1, 2)) == "Thursday, January 14"
    assert day(THURSDAY, "de", today=date(2027, 1, 2)) == "Donnerstag 14. Januar"
    assert day(THURSDAY, "fr-FR", today=date(2027, 1, 2)) == "jeudi 14 janvier"


def test_a_date_in_another_year_says_the_year() -> None:
    assert day(THURSDAY, "en_GB", today=date(2026, 12, 6)) == "Thursday 14 January 2027"
    assert day(THURSDAY, "en") == "Thursday, January 14, 2027"


def test_an_unknown_language_falls_back_to_the_shops() -> None:
    assert locale_of("xx-YY", "de") == "de"
    assert locale_of(None) == "en"
    assert locale_of("en-GB") == "en_GB"


def test_money_carries_its_currency_symbol() -> None:
    assert money(Decimal("1140"), "USD", "en") == "$1,140.00"
    assert money("19.99", "EUR", "de") == "19,99\xa0€"
    assert money("5", "XYZ", "en") in ("XYZ5.00", "XYZ 5.00")
    assert money(None, "USD") == ""


def test_counts_say_one_unit_and_many_units() -> None:
    assert [count(n, "unit") for n in (0, 1, 2)] == ["0 units", "1 unit", "2 units"]
    assert count(1, "day") == "1 day" and count(1200, "day") == "1,200 days"
    assert count(2, "delivery", "deliveries") == "2 deliveries"


def test_a_language_tag_is_written_as_bcp_47_writes_it_or_refused() -> None:
    assert language_tag("fr_CA") == "fr-CA" and language_tag("en-gb") == "en-GB"
    assert language_tag("zh-CN") == "zh-Hans-CN"  # as CLDR names it, and listed
    assert language_tag("xx-Nowhere") is None and language_tag("") is None
    assert all(language_tag(tag) == tag for tag in LANGUAGES)


def test_a_cancellation_reason_reads_as_words() -> None:
    assert reason_in_words("customer_self_service") == "you cancelled it"
    assert reason_in_words("discontinued") == "it has been discontinued"
    assert reason_in_words("found it elsewhere") == "found it elsewhere"  # an operator's words
    assert reason_in_words("a_code_we_do_not_know") == "a code we do not know"
    assert reason_in_words("shop:inventory") == "the shop cancelled it: it is out of stock"
    assert reason_in_words("shop:whatever") == "the shop cancelled it"
    assert reason_in_words("") == "it was cancelled"
