"""X12 850 purchase orders in, canonical orders and 997 acknowledgements out: separators
read from each ISA, several transaction sets and interchanges per delivery, broken envelopes
judged set by set, and any text at all survived."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backorder.intake import Converted, Unreadable
from backorder.intake.x12 import ADAPTER, Segment, parse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
ORDERS = (FIXTURES / "x12_850.edi").read_text()
CASES = (FIXTURES / "x12_850_cases.edi").read_text()
BROKEN = (FIXTURES / "x12_broken.edi").read_text()
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)


def segments_of(ack: str) -> list[list[str]]:
    """A 997 read back with the separators its own ISA names."""
    (interchange,) = parse(ack)
    return [
        s.elements
        for group in interchange.groups
        for tset in group.sets
        for s in tset.segments
        if s.tag.startswith("AK")
    ]


def test_each_purchase_order_is_a_payload_mapped_onto_the_canonical_order() -> None:
    rush, euro, headless = ADAPTER.split(ORDERS)
    assert (rush.external_id, euro.external_id, headless.external_id) == (
        "ACMEBUYER.4500012345",
        "ACMEBUYER.4500012346",
        None,
    )
    order = ADAPTER.convert(rush).order
    assert order["external_id"] == "ACMEBUYER.4500012345"
    assert order["display_number"] == "4500012345"  # the buyer knows its own PO number
    assert order["placed_at"] == "2026-11-20T00:00:00Z"
    assert order["customer"] == {
        "id": "ACME-01",
        "name": "Acme Hardware Inc",
        "email": "jane.buyer@acme.example",
        "phone": "+15550100111",
        "tier": "wholesale",
    }
    assert order["expedite"] is True  # BEG02 RU: a rush order
    assert order["shipping"] == {"method": "expedited", "preference": "ship_available"}  # TD5 ND
    assert order["payment_timing"] == "at_ship"
    assert order["lines"] == [
        {"sku": "IPOD-GREEN", "quantity": 12, "unit_price": "150"},  # VP wins over UP
        {"sku": "bp:BP-4471", "quantity": 3, "unit_price": None},  # buyer's part: an alias
    ]
    order = ADAPTER.convert(euro).order
    assert order["currency"] == "EUR" and order["shipping"]["preference"] == "ship_complete"
    assert order["lines"][0] == {"sku": "upc:885909000017", "quantity": 4, "unit_price": "179.5"}
    with pytest.raises(Unreadable, match="no BEG segment"):
        ADAPTER.convert(headless)


def test_the_997_accepts_what_could_be_read_and_points_at_what_could_not() -> None:
    ack = ADAPTER.acknowledge(ORDERS, 42, NOW)
    assert ack is not None
    head = ack.splitlines()[0]
    assert head.split("*")[6].strip() == "BACKORDER" and head.split("*")[8].strip() == "ACMEBUYER"
    assert len(head) == 106 and head.split("*")[13] == "000000042"
    assert segments_of(ack) == [
        ["AK1", "PO", "77"],
        ["AK2", "850", "0001"],
        ["AK5", "A"],
        ["AK2", "850", "0002"],
        ["AK5", "A"],  # an unknown SKU is the dead-letter store's business, not the 997's
        ["AK2", "850", "0003"],
        ["AK3", "BEG", "2", "", "3"],  # mandatory segment missing
        ["AK5", "R", "5"],
        ["AK9", "P", "3", "3", "2"],
    ]


def test_broken_envelopes_lose_only_the_broken_sets_and_each_interchange_is_answered() -> None:
    payloads = ADAPTER.split(BROKEN)
    results: list[str] = []
    for payload in payloads:
        try:
            results.append(ADAPTER.convert(payload).order["external_id"])
        except Unreadable as error:
            results.append(str(error))
    assert results == [
        "GLOBEX.PO-88001",
        "SE01 counts 9 segments; the transaction set has 4",
        "transaction set 1003 has no SE trailer",
        "INITECH.IN-501",  # the second interchange, with | and ^ and line-break terminators
    ]
    ack = ADAPTER.acknowledge(BROKEN, 7, NOW)
    assert ack is not None
    first, second = ack.split("IEA*1*000000007~\n")
    assert segments_of(first + "IEA*1*000000007~\n") == [
        ["AK1", "PO", "5"],
        ["AK2", "850", "1001"],
        ["AK5", "A"],
        ["AK2", "850", "1002"],
        ["AK5", "R", "4"],  # segment count wrong
        ["AK2", "850", "1003"],
        ["AK5", "R", "2"],  # trailer missing
        ["AK9", "P", "2", "3", "1", "5", "4"],  # the group's count and control number disagree
    ]
    assert second.startswith("ISA|") and "\nAK5|A\nAK9|A|1|1|1\n" in second


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("BEG*00*RU", "BEG*01*RU"), "BEG01 '01': only original"),
        (("BEG*00*RU*4500012345**20261120", "BEG*00*RU*4500012345**2026112"), "not a date"),
        (("PO1*1*12*EA", "PO1*1*12.5*EA"), "12.5 is not a whole number"),
        (("PO1*1*12*EA", "PO1*1*12*C A"), "unit 'C A' is not a unit code"),
        (("PID*F****iPod nano green~", "PO4*0~"), "PO401 pack '0' is not a whole number"),
        (("PID*F****iPod nano green~", "PO4*1.5~"), "PO401 pack '1.5' is not a whole"),
        (("PID*F****iPod nano green~", "PO4*2*************x~"), "PO414 inner pack 'x'"),
        (("PO1*1*12*EA*150.00", "PO1*1*12*EA*abc"), "is not an amount"),
        (("*PE*VP*IPOD-GREEN*UP*885909123456", ""), "no item id"),
        (("CTT*2~", "CTT*3~"), "CTT01 counts 3 lines; the order has 2"),
        (("ST*850*0001", "ST*855*0001"), "855 is not a purchase order"),
    ],
)
def test_an_unreadable_purchase_order_says_why(change: tuple[str, str], reason: str) -> None:
    first = ADAPTER.split(ORDERS.replace(*change, 1))[0]
    with pytest.raises(Unreadable, match=reason):
        ADAPTER.convert(first)


def test_lines_in_cases_carry_their_unit_the_partners_pack_and_the_price_per_case() -> None:
    packed, catalogued, unpacked = (ADAPTER.convert(p) for p in ADAPTER.split(CASES))
    assert packed.order["lines"] == [
        # PO4 12: twelve units in a case; the price is per case (no PO105)
        {"sku": "24776", "quantity": 144, "unit": "CA", "pack": 12, "unit_price": "30"},
        # PO4 4 inner packs (of 12 OZ: a measure, not a count) x PO414 6 units each; PO105
        # PE: 1.25 is per single unit, so 30 per case of 24
        {"sku": "24777", "quantity": 10, "unit": "CA", "pack": 24, "unit_price": "30"},
        # a dozen is 12 by its name: no pack needed
        {"sku": "24778", "quantity": 2, "unit": "DZ", "unit_price": "18"},
    ]
    assert packed.warnings == []
    # no PO4: the catalogue's pack is found when the order is placed
    assert catalogued.order["lines"] == [
        {"sku": "24780", "quantity": 5, "unit": "CA", "unit_price": "36"}
    ]
    assert unpacked.order["lines"][0] == {
        "sku": "24776",
        "quantity": 3,
        "unit": "CA",
        "unit_price": "30",
    }


@pytest.mark.parametrize(
    ("po1", "po4", "line", "warning"),
    [
        # a price per dozen on single units: per unit
        ("PO1*1*24*EA*30*PD*VP*X~", "", {"quantity": 24, "unit_price": "2.5"}, None),
        # a price per each on a case with no PO4: the catalogue's price, said in a warning
        ("PO1*1*2*CA*2.5*PE*VP*X~", "", {"unit": "CA", "unit_price": None}, "per 1 single unit"),
        (
            "PO1*1*2*CA*2.5*WE*VP*X~",
            "PO4*10~",
            {"unit": "CA", "unit_price": "25", "pack": 10},
            None,
        ),
        # per hundred, on a case of 50
        ("PO1*1*2*CA*90*HP*VP*X~", "PO4*50~", {"unit_price": "45", "pack": 50}, None),
        # a price per pound: not a price per anything we count
        (
            "PO1*1*2*CA*4*PP*VP*X~",
            "PO4*10~",
            {"unit_price": None, "pack": 10},
            "per a measure (PO105 PP)",
        ),
        # PO4 1: "one case", says nothing of what is in it
        ("PO1*1*2*CA*30**VP*X~", "PO4*1~", {"unit": "CA", "unit_price": "30"}, None),
        # a PO4 on single units describes their packing; the line stays in units
        ("PO1*1*2*EA*3**VP*X~", "PO4*12~", {"quantity": 2, "unit_price": "3"}, None),
    ],
)
def test_a_lines_price_basis_and_pack(
    po1: str, po4: str, line: dict[str, object], warning: str | None
) -> None:
    text = ORDERS.replace("PO1*1*12*EA*150.00*PE*VP*IPOD-GREEN*UP*885909123456~", po1, 1)
    text = text.replace("PID*F****iPod nano green~", po4 or "PID*F****thing~", 1)
    converted = ADAPTER.convert(ADAPTER.split(text)[0])
    first = converted.order["lines"][0]
    assert {key: first.get(key) for key in line} == line
    if "pack" not in line:
        assert "pack" not in first
    if warning is None:
        assert converted.warnings == []
    else:
        (said,) = converted.warnings
        assert warning in said


def test_a_bad_po4_is_rejected_in_the_997_naming_its_element() -> None:
    text = ORDERS.replace("PID*F****iPod nano green~", "PO4*0~", 1)
    ack = ADAPTER.acknowledge(text, 42, NOW)
    assert ack is not None
    found = segments_of(ack)
    assert found[1:5] == [
        ["AK2", "850", "0001"],
        ["AK3", "PO4", "11", "", "8"],  # the eleventh segment of the set
        ["AK4", "1", "", "6"],  # PO401: invalid character
        ["AK5", "R", "5"],
    ]
    # a case with no pack anywhere is not the 997's business: the set was read
    ack = ADAPTER.acknowledge(CASES, 43, NOW)
    assert ack is not None
    assert [s for s in segments_of(ack) if s[0] == "AK5"] == [["AK5", "A"]] * 3


def test_text_that_is_no_interchange_is_one_payload_and_gets_no_acknowledgement() -> None:
    for text in ("", "hello", "ISA*00*short~", ORDERS[:50]):
        (payload,) = ADAPTER.split(text)
        assert payload.external_id is None
        with pytest.raises(Unreadable):
            ADAPTER.convert(payload)
        assert ADAPTER.acknowledge(text, 1, NOW) is None


def test_segments_outside_any_transaction_set_are_kept_as_their_own_dead_letter() -> None:
    text = ORDERS.replace("ST*850*0002~\n", "")  # the header is lost; its segments are not
    payloads = ADAPTER.split(text)
    assert len(payloads) == 3
    with pytest.raises(Unreadable, match="outside any ST … SE"):
        ADAPTER.convert(payloads[-1])


def survive(text: str) -> None:
    for payload in ADAPTER.split(text):
        try:
            assert isinstance(ADAPTER.convert(payload), Converted)
        except Unreadable as error:
            assert str(error)
    ack = ADAPTER.acknowledge(text, 1, NOW)
    if ack is not None:
        for interchange in parse(ack):  # our own 997 is well-formed X12
            assert interchange.iea is not None and not interchange.notes
            for group in interchange.groups:
                assert not group.notes and all(not t.problems for t in group.sets)


LINES = ORDERS.splitlines()
CASE_LINES = CASES.splitlines()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    line=st.integers(min_value=0, max_value=len(LINES) - 1),
    element=st.integers(min_value=0, max_value=20),
    value=st.text(max_size=20),
)
def test_a_real_interchange_with_any_element_replaced(line: int, element: int, value: str) -> None:
    lines = list(LINES)
    parts = lines[line].rstrip("~").split("*")
    parts[element % len(parts)] = value
    lines[line] = "*".join(parts) + "~"
    survive("\n".join(lines))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    line=st.integers(min_value=0, max_value=len(CASE_LINES) - 1),
    element=st.integers(min_value=0, max_value=20),
    value=st.one_of(st.text(max_size=20), st.from_regex(r"\A[0-9.\-]{0,8}\Z")),
)
def test_an_interchange_in_cases_with_any_element_replaced(
    line: int, element: int, value: str
) -> None:
    lines = list(CASE_LINES)
    parts = lines[line].rstrip("~").split("*")
    parts[element % len(parts)] = value
    lines[line] = "*".join(parts) + "~"
    survive("\n".join(lines))


@settings(max_examples=200, deadline=None)
@given(
    cut=st.lists(st.integers(min_value=0, max_value=len(LINES) - 1), max_size=4),
    twice=st.lists(st.integers(min_value=0, max_value=len(LINES) - 1), max_size=3),
    end=st.integers(min_value=0, max_value=len(ORDERS)),
)
def test_a_real_interchange_with_segments_lost_doubled_or_cut_short(
    cut: list[int], twice: list[int], end: int
) -> None:
    lines = [line for n, line in enumerate(LINES) if n not in cut]
    for n in twice:
        lines.insert(n % (len(lines) or 1), LINES[n])
    survive("\n".join(lines)[: max(end, 120)])


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400), head=st.booleans())
def test_any_text_after_a_real_header(text: str, head: bool) -> None:
    survive((LINES[0] + "\n" if head else "") + text)


def test_envelope_problems_are_told_in_words_beside_the_997() -> None:
    broken = (FIXTURES / "x12_broken.edi").read_text()
    assert ADAPTER.envelope_notes(broken) == [
        "interchange 000000202: the interchange has no IEA trailer",
        "interchange 000000202, group 5: GE01 counts 2 transaction sets; the group has 3",
        "interchange 000000202, group 5: GS06 '5' and GE02 '6' differ",
    ]
    assert ADAPTER.envelope_notes((FIXTURES / "x12_850.edi").read_text()) == []


def well_formed(ack: str) -> None:
    """Our 997 read back: each envelope's control numbers agree with its trailer's, and no
    element of ours holds a separator, a line break or another control character."""
    for interchange in parse(ack):
        sep = interchange.separators
        assert interchange.iea is not None and not interchange.notes
        assert interchange.isa.get(13) == interchange.iea.get(2)
        for group in interchange.groups:
            assert group.ge is not None and group.gs.get(6) == group.ge.get(2)
            for tset in group.sets:
                assert not tset.problems
                assert tset.segments[0].get(2) == tset.segments[-1].get(2)  # ST02 == SE02
        segments: list[Segment | None] = [interchange.isa, interchange.iea]
        for group in interchange.groups:
            segments += [group.gs, group.ge, *(s for t in group.sets for s in t.segments)]
        for segment in filter(None, segments):
            elements = segment.elements[:-1] if segment.tag == "ISA" else segment.elements
            for value in elements:
                assert value.isprintable() and sep.component not in value, repr(segment.text)


ODD = "~\n\r*>:^| A0\t\x85"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.text(alphabet=ODD, max_size=5), min_size=16, max_size=16),
    separators=st.permutations(list("~\n\r*>:^|'")).map(lambda p: p[:3]),
    line_break=st.sampled_from(["\n", "", "\r\n"]),
    gs=st.lists(st.text(alphabet=ODD, max_size=3), min_size=7, max_size=7),
)
def test_our_997_stays_well_formed_whatever_the_inbound_envelope_holds(
    values: list[str], separators: list[str], line_break: str, gs: list[str]
) -> None:
    """ISA and GS elements holding separators, spaces and line breaks: copied into our 997
    they must not break it (a space taken for the terminator once made its ISA13 and IEA02
    disagree)."""
    element, component, terminator = separators
    isa = element.join(["ISA", *values[:15], component])
    rest = [line.rstrip("~").replace("*", element) for line in LINES[1:]]
    rest[0] = element.join(["GS", "PO", *gs])
    text = "".join(s + terminator + line_break for s in [isa, *rest])
    ack = ADAPTER.acknowledge(text, 7, NOW)
    if ack is not None:
        well_formed(ack)


@pytest.mark.parametrize(
    ("isa16", "why"),
    [(": ", "a space cannot be a separator"), ("> ", "a space cannot be a separator")],
)
def test_a_space_after_isa16_is_no_terminator(isa16: str, why: str) -> None:
    """The header pads its elements with spaces: a space read as the segment terminator cut
    our own 997's ISA into pieces, its ISA13 and IEA02 then disagreeing."""
    text = ORDERS.replace("*P*>~", f"*P*{isa16}", 1)
    assert ADAPTER.acknowledge(text, 1, NOW) is None
    (payload,) = ADAPTER.split(text)
    with pytest.raises(Unreadable, match=why):
        ADAPTER.convert(payload)


def test_an_isa_element_holding_a_line_break_and_separators_is_not_copied_whole() -> None:
    header = LINES[0].replace("ACMEBUYER      ", "AC>ME\nBUY\x85ER ", 1)
    ack = ADAPTER.acknowledge("\n".join([header, *LINES[1:]]), 3, NOW)
    assert ack is not None
    well_formed(ack)
    assert ack.startswith("ISA*00*          *00*          *ZZ*BACKORDER      *ZZ*ACMEBUYER      *")
