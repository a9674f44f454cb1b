"""Set, reset and read the intake's validation rules. A change applies to payloads processed
from then on; dead letters are tried again under the new rules with `intake replay`."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from backorder.domain.errors import InvalidRequest
from backorder.intake import adapter_for, check_account
from backorder.intake.rules import RULES, Setting, Severity, effective
from backorder.services.context import Backorder
from backorder.store.tables import intake_rules

CURRENCY = re.compile(r"^[A-Z]{3}$")


def _scope(channel: str | None, account: str | None) -> tuple[str, str]:
    """A setting's channel and account: empty for every one."""
    if channel:
        adapter_for(channel)
    if account:
        check_account(account)
    return channel or "", account or ""


def _rule(name: str) -> str:
    if name not in RULES:
        raise InvalidRequest(f"unknown rule {name!r}; known: {', '.join(RULES)}")
    return name


def all_settings(conn: Connection) -> list[Setting]:
    """Every stored setting (a short list: a few per channel and account at most)."""
    return [_setting(row) for row in conn.execute(select(intake_rules)).all()]


def _setting(row: Any) -> Setting:
    return Setting(row.rule, row.channel, row.account, Severity(row.severity), row.options or {})


def set_rule(
    app: Backorder,
    rule: str,
    severity: str,
    channel: str | None = None,
    account: str | None = None,
    currencies: list[str] | None = None,
    max_deviation_percent: str | Decimal | None = None,
) -> dict[str, Any]:
    """Make a rule an error, a warning or off, for every channel or one, every account or
    one; the setting as stored."""
    _rule(rule)
    channel_, account_ = _scope(channel, account)
    try:
        level = Severity(severity)
    except ValueError:
        raise InvalidRequest(f"severity {severity!r}: error, warning or off") from None
    allowed = RULES[rule].severities
    if level not in allowed:
        raise InvalidRequest(f"{rule} can only be {', '.join(sorted(allowed))}")
    options: dict[str, Any] = {}
    if currencies is not None:
        if rule != "currency":
            raise InvalidRequest("currencies belong to the currency rule")
        codes = [c.strip().upper() for c in currencies if c.strip()]
        bad = [c for c in codes if not CURRENCY.fullmatch(c)]
        if bad or not codes:
            raise InvalidRequest(f"currencies are ISO 4217 codes such as USD: {bad or currencies}")
        options["currencies"] = sorted(set(codes))
    if rule == "currency" and level is not Severity.OFF and not options.get("currencies"):
        raise InvalidRequest("say which currencies the account sells in (currencies)")
    if max_deviation_percent is not None:
        if rule != "price_deviation":
            raise InvalidRequest("max_deviation_percent belongs to the price_deviation rule")
        try:
            percent = Decimal(str(max_deviation_percent))
        except InvalidOperation:
            percent = Decimal(-1)
        if not percent.is_finite() or not 0 < percent <= 10_000:
            raise InvalidRequest("max_deviation_percent is a number above 0 and at most 10000")
        options["max_deviation_percent"] = format(percent.normalize(), "f")
    key = {"channel": channel_, "account": account_, "rule": rule}
    values = {"severity": str(level), "options": options or None, "updated_at": app.now()}
    with app.db.write() as uow:
        conn = uow.connection
        same = [intake_rules.c[k] == v for k, v in key.items()]
        if conn.execute(update(intake_rules).where(*same).values(values)).rowcount == 0:
            conn.execute(insert(intake_rules).values(key | values))
        uow.commit()
    return _view(Setting(rule, channel_, account_, level, options))


def reset_rule(
    app: Backorder, rule: str, channel: str | None = None, account: str | None = None
) -> None:
    """Remove one setting: the next more general one (or the default) applies again."""
    _rule(rule)
    channel_, account_ = _scope(channel, account)
    with app.db.write() as uow:
        gone = uow.connection.execute(
            delete(intake_rules).where(
                intake_rules.c.rule == rule,
                intake_rules.c.channel == channel_,
                intake_rules.c.account == account_,
            )
        ).rowcount
        if gone != 1:
            raise InvalidRequest(
                f"no setting of {rule} for {channel_ or 'every channel'}"
                f"{f' and account {account_}' if account_ else ''}"
            )
        uow.commit()


def _view(setting: Setting) -> dict[str, Any]:
    return {
        "rule": setting.rule,
        "channel": setting.channel or None,
        "account": setting.account or None,
        "severity": str(setting.severity),
        **dict(setting.options or {}),
    }


def rules_view(
    app: Backorder, channel: str | None = None, account: str | None = None
) -> dict[str, Any]:
    """Every stored setting, and the rules in force for a channel's account (every channel's
    defaults when none is named)."""
    channel_, account_ = _scope(channel, account)
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(intake_rules).order_by(
                intake_rules.c.rule, intake_rules.c.channel, intake_rules.c.account
            )
        ).all()
    settings = [_setting(row) for row in rows]
    in_force = effective(channel_, account_, settings)
    return {
        "channel": channel_ or None,
        "account": account_ or None,
        "rules": [rule.view() for rule in in_force.values()],
        "settings": [_view(s) for s in settings],
    }
