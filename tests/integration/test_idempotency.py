"""Idempotency keys commit with their change; customer links expire."""

from __future__ import annotations

import pytest

from backorder.domain.access import Role
from backorder.services import idempotency
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.customer_links import LinkRefused, customer_view, mint_link
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.services.views import stock_view
from backorder.store.db import COMMIT_HOOKS
from tests.conftest import Clock
from tests.factories import order, product


def test_work_marks_its_key_applied_in_its_own_transaction(app: Backorder) -> None:
    add_product(app, product())
    key = create_key(app, Role.OPS)
    fingerprint = idempotency.request_hash("POST", "/x", b"{}")
    first = idempotency.claim(app, key.id, "k-1", fingerprint)
    assert first.fresh
    token = COMMIT_HOOKS.set((idempotency.applied_hook(first.id),))
    try:
        receive_stock(app, "WIDGET-BLUE", 3)
    finally:
        COMMIT_HOOKS.reset(token)
    # the process dies here, before keeping the answer: a retry must not receive again
    retry = idempotency.claim(app, key.id, "k-1", fingerprint)
    assert (retry.fresh, retry.state, retry.same_request) == (False, "applied", True)
    assert stock_view(app, "WIDGET-BLUE")["on_hand"] == 3


def test_a_key_whose_work_failed_can_be_used_again(app: Backorder) -> None:
    key = create_key(app, Role.OPS)
    first = idempotency.claim(app, key.id, "k-2", "h")
    idempotency.release(app, first.id)
    assert idempotency.claim(app, key.id, "k-2", "h").fresh


def test_customer_links_expire(app: Backorder, clock: Clock) -> None:
    add_product(app, product())
    place_order(app, order("1", ("WIDGET-BLUE", 1)))
    link = mint_link(app, "web:1")
    assert customer_view(app, "web:1", link.token)["ref"] == "web:1"
    clock.advance(days=app.settings.customer_link_days + 1)
    with pytest.raises(LinkRefused, match="expired"):
        customer_view(app, "web:1", link.token)
