"""Idempotency keys commit with their change; customer links expire."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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
    token = COMMIT_HOOKS.set((idempotency.applied_hook(first),))
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
    idempotency.release(app, first)
    assert idempotency.claim(app, key.id, "k-2", "h").fresh


def _receive_under(app: Backorder, held: idempotency.Claim, units: int) -> None:
    token = COMMIT_HOOKS.set((idempotency.applied_hook(held),))
    try:
        receive_stock(app, "WIDGET-BLUE", units)
    finally:
        COMMIT_HOOKS.reset(token)


def test_a_key_left_pending_by_a_dead_request_is_taken_over_once_its_lease_lapses(
    app: Backorder, clock: Clock
) -> None:
    add_product(app, product())
    key = create_key(app, Role.OPS)
    dead = idempotency.claim(app, key.id, "k-3", "h")  # its process is killed: nothing applied
    clock.advance(seconds=app.settings.idempotency_lease_seconds - 1)
    waiting = idempotency.claim(app, key.id, "k-3", "h")
    assert (waiting.fresh, waiting.state) == (False, "pending")  # it may still be running
    assert not idempotency.claim(app, key.id, "k-3", "other body").fresh
    clock.advance(seconds=1)
    retry = idempotency.claim(app, key.id, "k-3", "h")
    assert (retry.fresh, retry.id, retry.number) == (True, dead.id, dead.number + 1)
    assert not idempotency.claim(app, key.id, "k-3", "h").fresh  # taken over once
    _receive_under(app, retry, 2)
    idempotency.keep_answer(app, retry, 200, "{}")
    clock.advance(seconds=app.settings.idempotency_lease_seconds * 2)
    replay = idempotency.claim(app, key.id, "k-3", "h")
    assert (replay.fresh, replay.state, replay.response) == (False, "done", "{}")
    assert stock_view(app, "WIDGET-BLUE")["on_hand"] == 2


def test_a_request_that_outlived_its_lease_changes_nothing_once_taken_over(
    app: Backorder, clock: Clock
) -> None:
    add_product(app, product())
    key = create_key(app, Role.OPS)
    slow = idempotency.claim(app, key.id, "k-4", "h")
    clock.advance(seconds=app.settings.idempotency_lease_seconds)
    retry = idempotency.claim(app, key.id, "k-4", "h")
    assert retry.fresh
    with pytest.raises(idempotency.ClaimLost):
        _receive_under(app, slow, 5)  # the slow one commits last: refused, rolled back
    idempotency.release(app, slow)  # and its failure does not free the key it lost
    assert not idempotency.claim(app, key.id, "k-4", "h").fresh
    _receive_under(app, retry, 5)
    assert stock_view(app, "WIDGET-BLUE")["on_hand"] == 5


def test_two_retries_after_the_lease_do_not_both_take_the_key_over(
    app: Backorder, clock: Clock
) -> None:
    key = create_key(app, Role.OPS)
    idempotency.claim(app, key.id, "k-5", "h")
    clock.advance(seconds=app.settings.idempotency_lease_seconds)
    start = threading.Barrier(4)

    def retry() -> bool:
        start.wait(timeout=30)
        return idempotency.claim(app, key.id, "k-5", "h").fresh

    with ThreadPoolExecutor(max_workers=4) as pool:
        taken = list(pool.map(lambda _: retry(), range(4)))
    assert sorted(taken) == [False, False, False, True]


def test_customer_links_expire(app: Backorder, clock: Clock) -> None:
    add_product(app, product())
    place_order(app, order("1", ("WIDGET-BLUE", 1)))
    link = mint_link(app, "web:1")
    assert customer_view(app, "web:1", link.token)["ref"] == "web:1"
    clock.advance(days=app.settings.customer_link_days + 1)
    with pytest.raises(LinkRefused, match="expired"):
        customer_view(app, "web:1", link.token)
