"""What the customer's page says in words: cancellation reasons, which answer a client gets
(page or JSON) from its Accept header, and where a tracking number can be followed."""

from __future__ import annotations

import pytest

from backorder.api.customer import tracking_link
from backorder.api.negotiation import prefers_html
from backorder.domain.reasons import reason_in_words


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("customer_self_service", "you cancelled it"),
        ("delay_cancelled", "you chose to cancel it after our delay notice"),
        ("discontinued", "it has been discontinued"),
        ("staff", "the shop cancelled it"),
        ("marketplace", "the marketplace cancelled it"),
        ("found it elsewhere", "found it elsewhere"),  # an operator's own words, as written
        ("some_new_reason", "some new reason"),
        (None, "it was cancelled"),
        ("  ", "it was cancelled"),
    ],
)
def test_reasons_in_words(reason: str | None, words: str) -> None:
    assert reason_in_words(reason) == words


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # Chrome
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8,x/y;q=0.7", True),
        ("text/*", True),
        (None, False),
        ("", False),
        ("*/*", False),  # curl, httpx: JSON
        ("application/json", False),
        ("application/json, text/html", False),  # a tie leaves JSON
        ("text/html;q=0.5, application/json", False),
        ("text/html, application/json;q=0.9", True),
        ("text/html;q=0, */*", False),
        ("text/html;q=nonsense", False),
    ],
)
def test_html_only_when_the_client_ranks_it_above_json(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_tracking_links() -> None:
    assert (
        tracking_link("1Z999AA10123456784")
        == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    )
    assert tracking_link("https://track.example/p/42") == "https://track.example/p/42"
    assert tracking_link("TRACK-1") is None
    assert tracking_link("javascript:alert(1)") is None
