"""Orders placed over HTTP on SQLite, where one writer works at a time: while it places one
group of orders, the orders that arrive queue on the event loop, in arrival order, and the
next turn places all of them (up to `GroupCommit.MOST`) in one transaction on one worker
thread (services/placing_answer.py: `place_together`). A thread hand-off costs about as much
CPU as a bare request, and each transaction a BEGIN IMMEDIATE and a COMMIT: a group pays them
once. An order that carries an Idempotency-Key is placed on its own, in its own context, so
that the key is marked applied in its transaction and in no other's."""

from __future__ import annotations

from collections import deque
from contextvars import Context, copy_context
from dataclasses import dataclass
from typing import Any

from anyio import Lock, to_thread

from backorder.domain.model import OrderRequest
from backorder.services.context import Backorder
from backorder.services.intake import Placed
from backorder.services.placing_answer import Outcome, place_and_view, place_together
from backorder.store.db import COMMIT_HOOKS, COMMITS, Commits


@dataclass(eq=False)
class _Waiting:
    request: OrderRequest
    context: Context  # the request's own, for an order placed on its own
    tally: Commits | None  # the request's count of commits (api/problems.py)
    keyed: bool  # commit hooks to run in its transaction: placed on its own
    outcome: Outcome | None = None


class GroupCommit:
    MOST = 32  # orders in one transaction, at most

    def __init__(self, app: Backorder, most: int = MOST) -> None:
        self.app, self.most = app, most
        self._turn = Lock()  # fair: waiters get it in the order they asked
        self._waiting: deque[_Waiting] = deque()

    async def place(self, request: OrderRequest) -> tuple[Placed, dict[str, Any]]:
        """`place_and_view(app, request)`, in this process's next group."""
        me = _Waiting(request, copy_context(), COMMITS.get(), bool(COMMIT_HOOKS.get()))
        self._waiting.append(me)
        try:
            async with self._turn:
                # Every order ahead of this one is placed already, or leaves the queue with
                # its request: this order is at the front, and the next group holds it.
                while me.outcome is None and self._waiting:
                    await to_thread.run_sync(self._place, self._take())
        finally:
            if me.outcome is None and me in self._waiting:  # cancelled while it waited
                self._waiting.remove(me)
        if me.outcome is None:
            raise RuntimeError("the order left the queue unplaced")
        return me.outcome.answer()

    def _take(self) -> list[_Waiting]:
        group = [self._waiting.popleft()]
        if group[0].keyed:
            return group
        while self._waiting and len(group) < self.most and not self._waiting[0].keyed:
            group.append(self._waiting.popleft())
        return group

    def _place(self, group: list[_Waiting]) -> None:
        """In a worker thread: place the group and give each its outcome, even when the
        request that waits for the turn was cancelled meanwhile."""
        try:
            if group[0].keyed:
                one = group[0]
                placed, view = one.context.run(place_and_view, self.app, one.request)
                one.outcome = Outcome(placed, view)
                return
            # a fresh context: the commit counts each request's, not the thread's caller's
            outcomes = Context().run(place_together, self.app, [w.request for w in group])
            for waiting, outcome in zip(group, outcomes, strict=True):
                waiting.outcome = outcome
                if outcome.committed and waiting.tally is not None:
                    waiting.tally.count += 1
        except Exception as error:
            for waiting in group:
                if waiting.outcome is None:
                    waiting.outcome = Outcome(error=error)
