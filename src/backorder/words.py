"""What people read: dates in words, money with its currency symbol, counts with the right
plural, in a locale (a customer's language, else the shop's). One module, so a date or a sum
reads the same in an e-mail, on the customer's page, on the dashboard and in the CLI.

Pure (no clock: `today` is passed in). Locale data comes from Babel (CLDR)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton
from babel.localedata import locale_identifiers
from babel.numbers import format_currency, format_decimal

# One list of reasons in words, read here by the messages and the pages alike.
from backorder.domain.reasons import reason_in_words as reason_in_words

DEFAULT_LOCALE = "en"


@lru_cache(maxsize=64)
def locale_of(tag: str | None, fallback: str = DEFAULT_LOCALE) -> str:
    """A locale Babel knows, from a language tag as shops send it ("en-GB", "de_DE", "fr");
    the fallback for anything it does not know."""
    for candidate in (tag, fallback, DEFAULT_LOCALE):
        if not candidate:
            continue
        try:
            return str(Locale.parse(candidate.replace("-", "_")))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return DEFAULT_LOCALE


def knows_language(tag: str) -> bool:
    """Whether a language tag names a locale Babel has words for."""
    try:
        Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


# Every language tag we have words for, as BCP 47 writes it ("en", "en-GB", "zh-Hans-CN"):
# what an order's `customer.language` may be (the JSON Schema lists them).
LANGUAGES: tuple[str, ...] = tuple(
    sorted(tag.replace("_", "-") for tag in locale_identifiers() if tag != "root")
)


def language_tag(tag: str | None) -> str | None:
    """A language tag as a channel sends it ("fr_CA", "en-gb", "zh-CN") in the BCP 47 form of
    `LANGUAGES` ("fr-CA", "en-GB", "zh-Hans-CN"); None for one we have no words for."""
    if not tag or not knows_language(tag):
        return None
    return str(Locale.parse(tag.replace("-", "_"))).replace("_", "-")


def day(value: date, locale: str = DEFAULT_LOCALE, today: date | None = None) -> str:
    """ "Thursday 14 January" (en_GB), "Thursday, January 14" (en), "Donnerstag 14. Januar"
    (de); with the year when it is not this year's (or no `today` is given)."""
    locale = locale_of(locale)
    weekday = format_date(value, "EEEE", locale=locale)
    same_year = today is not None and value.year == today.year
    rest = format_skeleton("MMMMd" if same_year else "yMMMMd", value, locale=locale)
    joiner = ", " if rest[:1].isalpha() else " "  # month first (en): "Thursday, January 14"
    return f"{weekday}{joiner}{rest}"


def money(amount: Decimal | str | int | None, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """An amount with its currency's symbol, as the locale writes it: "$1,140.00",
    "1.140,00 €"; an amount that is not a number is shown as given."""
    if amount is None:
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    try:
        return str(format_currency(value, currency, locale=locale_of(locale)))
    except (ValueError, KeyError):  # a currency code the locale data does not know
        return f"{currency} {format_decimal(value, format='#,##0.00', locale=locale_of(locale))}"


def count(number: int, one: str, many: str | None = None) -> str:
    """ "1 unit", "3 units", "0 units"; `many` for a plural that is not `one` + "s"."""
    word = one if number == 1 else (many or f"{one}s")
    return f"{number:,} {word}"
