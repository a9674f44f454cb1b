"""EDIFACT ORDERS in, canonical orders and CONTRL acknowledgements out: service characters
read from each UNA (the release character included), several messages and interchanges per
delivery, broken envelopes judged message by message, and any text at all survived."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backorder.canonical import OrderIn
from backorder.intake import Converted, Unreadable
from backorder.intake.edifact import ADAPTER, parse, read_contrl
from backorder.intake.edifact_syntax import Service, cut, plain

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
ORDERS = (FIXTURES / "edifact_orders.edi").read_text()
BROKEN = (FIXTURES / "edifact_broken.edi").read_text()
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)


def responses(ack: str) -> list[list[list[str]]]:
    """A CONTRL read back with the service characters its own UNA names: its UC* segments."""
    found = []
    for interchange in parse(ack):
        assert interchange.unz is not None and not interchange.notes
        for message in interchange.messages:
            assert message.kind == "CONTRL" and not message.problems
            found += [s.elements for s in message.segments if s.tag.startswith("UC")]
    return found


def converted(text: str) -> list[str]:
    results = []
    for payload in ADAPTER.split(text):
        try:
            results.append(ADAPTER.convert(payload).order["external_id"])
        except Unreadable as error:
            results.append(str(error))
    return results


def test_each_order_is_a_payload_mapped_onto_the_canonical_order() -> None:
    first, rush, no_uns = ADAPTER.split(ORDERS)
    assert (first.external_id, rush.external_id, no_uns.external_id) == (
        "5412345000013.PO-4711",
        "5412345000013.PO-4712",
        "5412345000013.PO-4713",
    )
    done = ADAPTER.convert(first)
    order = done.order
    assert order["display_number"] == "PO-4711"  # the buyer knows its own order number
    assert order["placed_at"] == "2026-11-20T00:00:00Z"
    assert order["customer"] == {
        "id": "5412345000013",  # the buyer's GLN
        "name": "O'Brien Hardware GmbH",  # a release character inside a name
        "email": "jane.buyer@obrien.example",  # the buyer's COM, not the supplier's
        "phone": "+49 30 1234567",
        "tier": "wholesale",
    }
    assert order["currency"] == "EUR" and order["payment_timing"] == "at_ship"
    assert order["expedite"] is False
    assert order["lines"] == [
        {"sku": "IPOD-GREEN", "quantity": 12, "unit_price": "150"},  # SA wins over EN
        # 3 cartons of 12 (QTY+59) at 30 a piece: 360 a carton
        {"sku": "upc:4006381333948", "quantity": 3, "unit_price": "360", "unit": "CT", "pack": 12},
        # 91.00 for 2 bags (PRI basis 2): 45.50 a bag, the pack from the catalogue
        {"sku": "upc:4006381333955", "quantity": 2, "unit_price": "45.5", "unit": "BG"},
    ]
    assert done.warnings == [
        "requested delivery 2026-12-01 (DTM+2) is not kept: an order here holds no delivery date"
    ]
    OrderIn.model_validate(order)  # the canonical order takes it as it is
    order = ADAPTER.convert(rush).order
    assert order["expedite"] is True  # BGM 224: a rush order
    assert order["placed_at"] == "2026-11-21T10:15:00Z"  # DTM format 203
    assert order["lines"] == [{"sku": "in:ART-889", "quantity": 4, "unit_price": "179.5"}]
    with pytest.raises(Unreadable, match="no UNS segment"):
        ADAPTER.convert(no_uns)


def test_the_contrl_acknowledges_what_could_be_read_and_points_at_what_could_not() -> None:
    ack = ADAPTER.acknowledge(ORDERS, 42, NOW)
    assert ack is not None
    head = ack.splitlines()[1]
    assert head == "UNB+UNOC:3+5400000000005:14+5412345000013:14+261124:1005+42'"  # swapped
    assert "UNH+1+CONTRL:D:3:UN'" in ack
    assert responses(ack) == [  # elements as read back: each a list of its components
        [["UCI"], ["IC4711"], ["5412345000013", "14"], ["5400000000005", "14"], ["7"]],
        [["UCM"], ["1"], ["ORDERS", "D", "96A", "UN", "EAN008"], ["7"]],
        [["UCM"], ["2"], ["ORDERS", "D", "01B", "UN"], ["7"]],
        [["UCM"], ["3"], ["ORDERS", "D", "93A", "UN"], ["4"]],
        [["UCS"], ["7"], ["13"]],  # segment 7 (where UNS belongs) missing
    ]


def test_broken_envelopes_lose_only_the_broken_messages_and_each_interchange_is_answered() -> None:
    assert converted(BROKEN) == [
        "GLOBEX.PO-88001",
        "UNT counts 9 segments; message M2 has 7",
        "message M3 has no UNT trailer",
        "INITECH.IN-501",  # the second interchange: ^ | , ! and ~ from its own UNA
    ]
    last = ADAPTER.convert(ADAPTER.split(BROKEN)[-1]).order
    assert last["customer"]["name"] == "Initech R|D^Labs"  # released separators kept as text
    assert last["lines"][0]["unit_price"] == "12.5"  # a decimal comma
    ack = ADAPTER.acknowledge(BROKEN, 7, NOW)
    assert ack is not None
    first, second = ack.split("UNZ+1+7'\n")
    assert responses(first + "UNZ+1+7'\n") == [
        [["UCI"], ["88"], ["GLOBEX", "ZZ"], ["BACKORDER", "ZZ"], ["7"], ["29"], ["UNZ"]],
        [["UCM"], ["M1"], ["ORDERS", "D", "96A", "UN"], ["7"]],
        [["UCM"], ["M2"], ["ORDERS", "D", "96A", "UN"], ["4"], ["29"], ["UNT"]],
        [["UCM"], ["M3"], ["ORDERS", "D", "96A", "UN"], ["4"], ["13"], ["UNT"]],
    ]
    assert second.startswith("UNA^|,! ~\nUNB|UNOC^3|BACKORDER^ZZ|INITECH^ZZ|")
    assert "\nUCM|1|ORDERS^D^01B^UN|7~\n" in second


def test_a_payload_is_one_message_in_its_own_envelope_and_replays_alone() -> None:
    payload = ADAPTER.split(BROKEN)[-1]
    assert payload.text.startswith("UNA^|,! ~\nUNB|")
    assert payload.text.endswith("UNT|10|1~\nUNZ|1|IN-501~\n")
    assert ADAPTER.split(payload.text) == [payload]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("BGM+220+PO-4711+9", "BGM+220+PO-4711+1"), "BGM message function '1': only original"),
        (("BGM+220+PO-4711", "BGM+380+PO-4711"), "BGM document '380': only orders"),
        (("BGM+220+PO-4711+9", "BGM+220++9"), "BGM: no document number"),
        (("DTM+137:20261120:102", "DTM+137:2026112:102"), "'2026112' is not a date in format"),
        (("DTM+137:20261120:102", "DTM+137:20261120:101"), "format 101: only 102, 203"),
        (("DTM+137:20261120:102'", "DTM+4:20261120:102'"), "no DTM\\+137"),
        (("QTY+21:12:PCE", "QTY+21:12.5:PCE"), "quantity 12.5 is not a whole number above 0"),
        (("QTY+21:12:PCE", "QTY+21:0:PCE"), "quantity 0 is not a whole number above 0"),
        (("PRI+AAA:150.00", "PRI+AAA:-1"), "LIN 1: price -1 is below 0"),
        (("QTY+21:12:PCE", "QTY+21:twelve:PCE"), "quantity 'twelve' is not a number"),
        (("QTY+21:12:PCE", "QTY+12:12:PCE"), "LIN 1: no QTY\\+21"),
        (("QTY+21:12:PCE", "QTY+21:12:p?+"), "unit 'p\\+' is not a unit code"),
        (("PRI+AAA:150.00", "PRI+AAA:abc"), "price 'abc' is not a number"),
        (("PRI+AAB:91.00:::2:BG", "PRI+AAB:91.00:::0:BG"), "price basis 0 is not above 0"),
        (("PIA+1+IPOD-GREEN:SA'\n", ""), None),  # the EAN is an alias: still read
        (("LIN+1++4006381333931:EN'\nPIA+1+IPOD-GREEN:SA'", "LIN+1'"), "LIN 1: no item number"),
        (("CNT+2:3", "CNT+2:4"), "CNT\\+2 counts 4 lines; the order has 3"),
        (("UNT+26+1", "UNT+25+1"), "UNT counts 25 segments; message 1 has 26"),
        (("UNT+26+1", "UNT+26+9"), "UNH '1' and UNT '9' message references differ"),
        (("UNH+1+ORDERS", "UNH+1+INVOIC"), "message INVOIC is not a purchase order"),
        (("CUX+2:EUR:9", "CUX+2:EURO:9"), "CUX currency 'EURO' is not a currency code"),
        (("CUX+2:EUR:9'", "CUX+2:EUR:9'\nUNS+S'"), "no LIN line items"),
    ],
)
def test_an_unreadable_order_says_why(change: tuple[str, str], reason: str | None) -> None:
    text = ORDERS.replace(*change, 1)
    if "UNT" not in change[0]:  # segments added or taken away: the trailer counts them
        size = text.split("UNT+")[0].count("\n") - 1  # the UNA and UNB are not counted
        text = text.replace("UNT+26+1", f"UNT+{size}+1")
    first = ADAPTER.split(text)[0]
    if reason is None:
        assert ADAPTER.convert(first).order["lines"][0]["sku"] == "upc:4006381333931"
        return
    with pytest.raises(Unreadable, match=reason):
        ADAPTER.convert(first)


def test_a_cnt_quantity_total_and_a_missing_or_foreign_price_unit() -> None:
    total = ORDERS.replace("CNT+2:3'", "CNT+2:3'\nCNT+1:17'").replace("UNT+26+1", "UNT+27+1")
    assert ADAPTER.convert(ADAPTER.split(total)[0]).order["external_id"].endswith("PO-4711")
    wrong = total.replace("CNT+1:17'", "CNT+1:18'")
    with pytest.raises(Unreadable, match="CNT\\+1 totals 18; the lines' quantities total 17"):
        ADAPTER.convert(ADAPTER.split(wrong)[0])
    # a price per kilogram on a line in cartons: nothing to bring one to the other
    foreign = ORDERS.replace("PRI+AAA:30:::1:PCE", "PRI+AAA:30:::1:KGM")
    done = ADAPTER.convert(ADAPTER.split(foreign)[0])
    assert done.order["lines"][1]["unit_price"] is None
    assert "a price per KGM on a line in CT" in done.warnings[-1]
    # a price per piece on a line in bags with no pack given: left out, said
    loose = ORDERS.replace("PRI+AAB:91.00:::2:BG", "PRI+AAB:4.00:::1:PCE")
    done = ADAPTER.convert(ADAPTER.split(loose)[0])
    assert done.order["lines"][2]["unit_price"] is None


def test_service_characters_are_read_from_the_una_and_released() -> None:
    service = Service("^", "|", ",", "!", " ", "~")
    assert cut("a!|b|c!!|d", "|", "!") == ["a!|b", "c!!", "d"]
    assert plain("a!|b", "!") == "a|b" and plain("c!!", "!") == "c!"
    assert service.escape("R|D^1!") == "R!|D!^1!!"
    assert parse(ORDERS.replace("UNA:+.? '\n", ""))[0].una is None  # the defaults, no UNA
    for bad in ("UNA:+.?", "UNAa+.? '", "UNA::.? '", "UNA:+;? '"):
        with pytest.raises(Unreadable, match="UNA"):
            parse(bad + "\nUNB+UNOC:3+X+Y+261120:0930+1'")


def test_level_b_without_a_una_uses_the_information_separators() -> None:
    level_b = (
        ORDERS.split("\n", 1)[1]
        .replace("UNOC", "UNOB")
        .replace("O?'Brien", "O'Brien")
        .replace("?+49", "PLUS49")
        .replace("'\n", "\x1c")
        .replace("+", "\x1d")
        .replace(":", "\x1f")
        .replace("PLUS", "+")  # a plain + in a value: no separator at level B
    )
    assert converted(level_b)[:2] == ["5412345000013.PO-4711", "5412345000013.PO-4712"]
    first = ADAPTER.convert(ADAPTER.split(level_b)[0]).order
    assert first["customer"]["name"] == "O'Brien Hardware GmbH"
    assert first["customer"]["phone"] == "+49 30 1234567"
    ack = ADAPTER.acknowledge(level_b, 1, NOW) or ""
    assert ack.startswith("UNB\x1dUNOB\x1f3\x1d5400000000005") and "UCS\x1d7\x1d13\x1c" in ack


def test_text_that_is_no_interchange_is_one_payload_and_gets_no_contrl() -> None:
    for text in ("", "hello", "UNA:+.?", "ISA*00*", ORDERS[:9]):
        (payload,) = ADAPTER.split(text)
        assert payload.external_id is None
        with pytest.raises(Unreadable):
            ADAPTER.convert(payload)
        assert ADAPTER.acknowledge(text, 1, NOW) is None


def test_text_after_the_last_interchange_loses_none_of_it() -> None:
    for tail in ("UNA:+.? 'LIN+1'", "UNA:+", "LIN+1'", "UNA^|,! ~UNH|1~"):
        payloads = ADAPTER.split(ORDERS + tail)
        assert [p.external_id for p in payloads][:3] == [
            "5412345000013.PO-4711",
            "5412345000013.PO-4712",
            "5412345000013.PO-4713",
        ]
        assert len(payloads) == 4  # the tail: a dead letter of its own
        assert "+7+33'" in (ADAPTER.acknowledge(ORDERS + tail, 1, NOW) or "")


def test_segments_outside_any_message_are_a_dead_letter_of_their_own_and_named() -> None:
    text = ORDERS.replace("UNH+2+ORDERS:D:01B:UN'\n", "")  # the header is lost; not its segments
    payloads = ADAPTER.split(text)
    assert len(payloads) == 3
    with pytest.raises(Unreadable, match="outside any UNH … UNT message: BGM, DTM"):
        ADAPTER.convert(payloads[-1])
    ack = ADAPTER.acknowledge(text, 1, NOW) or ""
    assert "UCI+IC4711+5412345000013:14+5400000000005:14+7+33'" in ack


CONTRL = (
    "UNA:+.? 'UNB+UNOC:3+5412345000013:14+5400000000005:14+261121:0930+77'"
    "UNH+1+CONTRL:D:3:UN'UCI+IC4711+5400000000005:14+5412345000013:14+7'"
    "UCM+1+ORDRSP:D:96A:UN+7'UCM+2+ORDRSP:D:96A:UN+4'UCS+5'UCD+12+1:2'"
    "UNT+7+1'UNZ+1+77'"
)


def test_functional_groups_are_answered_with_a_ucf_and_counted_by_the_unz() -> None:
    text = (
        "UNB+UNOC:4+BUYER:14+SELLER:14+20261120:0930+9'UNG+ORDERS+BUYERDEPT+SELLERDEPT"
        "+20261120:0930+G1+UN+D:96A'UNH+1+ORDERS:D:96A:UN'BGM+220+A1+9'DTM+137:20261120:102'"
        "LIN+1++X:SA'QTY+21:1'UNS+S'UNT+7+1'UNE+2+G1'UNZ+1+9'"
    )
    assert converted(text) == ["BUYER.A1"]
    ack = ADAPTER.acknowledge(text, 5, NOW) or ""
    assert ack.startswith("UNB+UNOC:4+SELLER:14+BUYER:14+20261124:1005+5'")  # version 4 dates
    assert "UNH+1+CONTRL:4:1:UN'" in ack
    assert responses(ack) == [
        [["UCI"], ["9"], ["BUYER", "14"], ["SELLER", "14"], ["7"]],
        [["UCF"], ["G1"], ["BUYERDEPT"], ["SELLERDEPT"], ["7"], ["29"], ["UNE"]],  # UNE: 2?
        [["UCM"], ["1"], ["ORDERS", "D", "96A", "UN"], ["7"]],
    ]


def test_an_inbound_contrl_is_read_into_words_and_never_answered() -> None:
    assert read_contrl(CONTRL) == (
        "acknowledgement of interchange IC4711 (5400000000005): acknowledged; UCI 7; "
        "message 1 ORDRSP: UCM 7; message 2 ORDRSP: UCM 4, UCS 5, UCD 12 1:2"
    )
    assert ADAPTER.acknowledge(CONTRL, 1, NOW) is None
    assert read_contrl(ORDERS) is None  # no CONTRL: an order to place


def survive(text: str) -> None:
    """Never raises; every message is accounted for (a payload, and a UCM in our CONTRL);
    our CONTRL parses as EDIFACT whose envelopes agree."""
    try:
        interchanges = parse(text)
    except Unreadable:
        interchanges = []
    payloads = ADAPTER.split(text)
    messages = [m for i in interchanges for m in i.messages]
    assert len(payloads) >= len(messages)
    for payload in payloads:
        try:
            assert isinstance(ADAPTER.convert(payload), Converted)
        except Unreadable as error:
            assert str(error)
    ack = ADAPTER.acknowledge(text, 1, NOW)
    if ack is None:
        assert not interchanges or all(m.kind == "CONTRL" for m in messages)
        return
    answered = [m for m in messages if m.kind != "CONTRL"]
    assert sum(1 for r in responses(ack) if r[0] == ["UCM"]) == len(answered)


LINES = ORDERS.splitlines()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    line=st.integers(min_value=1, max_value=len(LINES) - 1),
    element=st.integers(min_value=0, max_value=8),
    value=st.text(max_size=20),
)
def test_a_real_interchange_with_any_element_replaced(line: int, element: int, value: str) -> None:
    lines = list(LINES)
    parts = lines[line].rstrip("'").split("+")
    parts[element % len(parts)] = value
    lines[line] = "+".join(parts) + "'"
    survive("\n".join(lines))


@settings(max_examples=200, deadline=None)
@given(
    cut_at=st.lists(st.integers(min_value=0, max_value=len(LINES) - 1), max_size=4),
    twice=st.lists(st.integers(min_value=0, max_value=len(LINES) - 1), max_size=3),
    end=st.integers(min_value=0, max_value=len(ORDERS)),
)
def test_a_real_interchange_with_segments_lost_doubled_or_cut_short(
    cut_at: list[int], twice: list[int], end: int
) -> None:
    lines = [line for n, line in enumerate(LINES) if n not in cut_at]
    for n in twice:
        lines.insert(n % (len(lines) or 1), LINES[n])
    survive("\n".join(lines)[: max(end, 60)])


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400), head=st.sampled_from(["", "UNA:+.? '", "UNA^|,! ~\n"]))
def test_any_text_after_a_real_header(text: str, head: str) -> None:
    survive(head + (LINES[1] if head != "UNA^|,! ~\n" else "UNB|UNOC^3|X|Y|1^2|3~") + text)


PIECES = ["'", "+", ":", "?", "\n", "UNA:+.? '", "UNA^|,! ~", "UNH+9+ORDERS:D:96A:UN'", "UNT+2+9'",
          "UNZ+1+IC4711'", "UNG+ORDERS+A+B'", "UNE+1+1'", "UNS+S'", "CONTRL"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES + LINES), max_size=40))
def test_service_characters_and_envelopes_in_any_order(pieces: list[str]) -> None:
    survive(LINES[0] + LINES[1] + "".join(pieces))


def test_envelope_problems_are_told_in_words_beside_the_contrl() -> None:
    broken = (FIXTURES / "edifact_broken.edi").read_text()
    assert ADAPTER.envelope_notes(broken) == [
        "interchange 88: UNZ counts 2 messages; the interchange has 3"
    ]
    assert ADAPTER.envelope_notes((FIXTURES / "edifact_orders.edi").read_text()) == []
    assert ADAPTER.envelope_notes("no interchange at all") == []
