"""Settings come from BACKORDER_* environment variables."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from backorder.config import Settings
from backorder.domain.model import QueueStrategy
from backorder.intake.signatures import secret_for


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "DEFAULT_QUEUE", "PRIORITY_RULES", "PRIORITY_AGING_DAYS"):
        monkeypatch.delenv(f"BACKORDER_{name}", raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///backorder.db"
    assert settings.default_queue is QueueStrategy.FIFO
    assert settings.priority_rules[0] == "expedite"
    assert settings.priority_aging_days == 14


def test_rule_order_and_aging_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKORDER_PRIORITY_RULES", '["tier:wholesale", "tier:vip"]')
    monkeypatch.setenv("BACKORDER_PRIORITY_AGING_DAYS", "")
    settings = Settings(_env_file=None)
    ranking = settings.ranking(QueueStrategy.PRIORITY)
    assert ranking.rules == ("tier:wholesale", "tier:vip")
    assert ranking.aging_days is None


def test_unknown_rule_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKORDER_PRIORITY_RULES", '["tier:gold"]')
    with pytest.raises(ValidationError, match="unknown priority rule"):
        Settings(_env_file=None)


def test_a_channel_secret_without_an_account_signs_for_the_default_account_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = {"shopify": "plain", "shopify:eu": "eu", "woocommerce:*": "every"}
    monkeypatch.setenv("BACKORDER_WEBHOOK_SECRETS", json.dumps(secrets))
    given = Settings(_env_file=None).webhook_secrets
    assert secret_for(given, "shopify", "default") == "plain"
    assert secret_for(given, "shopify", "eu") == "eu"
    assert secret_for(given, "shopify", "us") is None  # not "plain"
    assert secret_for(given, "woocommerce", "us") == "every"
    assert secret_for(given, "woocommerce", "default") == "every"
