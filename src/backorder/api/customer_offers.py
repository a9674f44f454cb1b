"""The customer's answer to a substitute offer, posted from the order page (which shows the
offer with its two buttons): accept, or no thanks. Forms carry the page's form token (CSRF);
then back to the order page (Post/Redirect/Get), which says what was done. An offer that
cannot be taken any more (answered in another tab, expired, the stock sold meanwhile) is
refused in words on the page, and nothing changes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from backorder.api.customer import (
    LINE,
    PRIVATE,
    Ref,
    _context,
    _error,
    _form_token,
    _render,
    order_path,
)
from backorder.api.routes import App
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.services.context import Backorder
from backorder.services.customer_links import check_form, customer_order, customer_substitute
from backorder.services.substitute_answers import OfferRefused

pages = APIRouter(include_in_schema=False)

Answer = Literal["accept", "decline"]


@pages.post("/customer/orders/{ref}/substitute")
async def answer_offer(
    request: Request, ref: Ref, app: App, token: str = "", line: str = "", choice: Answer = "accept"
) -> Response:
    """The customer takes the substitute, or says no thanks; then the order page."""
    given = await _form_token(request)
    return await run_in_threadpool(_answer, app, ref, token, (line, choice), given)


def _answer(
    app: Backorder, ref: str, token: str, answer: tuple[str, Answer], given: str
) -> Response:
    line, choice = answer
    try:
        check_form(app, ref, token, given)
        if not LINE.fullmatch(line):
            raise InvalidRequest(f"order {ref} has no line {line}")
        customer_substitute(app, ref, token, int(line), choice)
    except OfferRefused as refused:
        try:
            context = _context(app, ref, token, customer_order(app, ref, token))
        except BackorderError as error:
            return _error(app, error, ref)
        notice = f"Nothing was changed: {refused}."
        return _render(app, "customer_order.html", 409, **context, notice=notice)
    except BackorderError as error:
        return _error(app, error, ref)
    return RedirectResponse(order_path(ref, token, offer=line), status_code=303, headers=PRIVATE)
