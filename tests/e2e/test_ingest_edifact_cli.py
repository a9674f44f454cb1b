"""`backorder ingest edifact FILE` as a user runs it: the CONTRL written beside the file (or
into --ack-dir), and an inbound CONTRL recorded, never answered."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_ingest_cli import _in_process
from tests.unit.test_edifact import CONTRL

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def test_an_edifact_interchange_is_answered_with_a_contrl_beside_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    for sku in ("IPOD-GREEN", "CARTON", "BAG"):
        _in_process(db, "product", "add", sku, "--name", sku.title(), "--price", "9")
    _in_process(db, "product", "update", "BAG", "--pack", "BG=5")  # the catalogue's pack
    for alias, sku in (("upc:4006381333948", "CARTON"), ("upc:4006381333955", "BAG")):
        _in_process(db, "sku", "alias", "edifact", alias, sku, "--account", "obrien")
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    edi = inbound / "obrien-20261120.edi"
    edi.write_text((FIXTURES / "edifact_orders.edi").read_text())

    done = _in_process(db, "ingest", "edifact", str(edi), "--account", "obrien", "--json", code=2)
    report = json.loads(done.stdout)
    assert report["accepted"] == ["edifact.obrien:5412345000013.PO-4711"]
    assert [d["reasons"] for d in report["dead_lettered"]] == [
        ["unknown SKU 'in:ART-889' (no product, and no alias for edifact)"],
        ["no UNS segment (the section control between the lines and the summary)"],
    ]
    ack = Path(report["acknowledgements"][0])
    assert ack == edi.with_name("obrien-20261120.edi.contrl")
    text = ack.read_text()
    assert text.startswith("UNA:+.? '\nUNB+UNOC:3+5400000000005:14+5412345000013:14+")
    assert "UCM+2+ORDERS:D:01B:UN+7'" in text  # readable: its SKU is the intake's business
    assert report["envelope"] == []
    # An interchange whose UNZ miscounts its messages: the messages are taken all the same,
    # and what is wrong is told in words beside the CONTRL that says it by code.
    miscounted = inbound / "obrien-miscounted.edi"
    miscounted.write_text(edi.read_text().replace("UNZ+3+IC4711'", "UNZ+5+IC4711'"))
    told = _in_process(db, "ingest", "edifact", str(miscounted), code=2)
    assert f"envelope   {miscounted}: interchange IC4711: UNZ counts 5 messages" in told.stdout

    order = json.loads(
        _in_process(db, "order", "show", "edifact.obrien:5412345000013.PO-4711", "--json").stdout
    )
    assert [(x["sku"], x["quantity"]) for x in order["lines"]] == [
        ("IPOD-GREEN", 12),
        ("CARTON", 36),
        ("BAG", 10),
    ]

    acks = tmp_path / "acks"
    again = _in_process(db, "ingest", "edifact", str(edi), "--account", "obrien", "--ack-dir",
                        str(acks), "--json", code=2)  # fmt: skip
    assert json.loads(again.stdout)["acknowledgements"] == [str(acks / edi.name) + ".contrl"]
    assert json.loads(again.stdout)["duplicates"] == ["edifact.obrien:5412345000013.PO-4711"]

    inbound_ack = tmp_path / "partner.contrl"
    inbound_ack.write_text(CONTRL)
    read = json.loads(_in_process(db, "ingest", "edifact", str(inbound_ack), "--json").stdout)
    assert "acknowledgements" not in read
    assert read["ignored"][0]["outcome"].startswith("acknowledgement of interchange IC4711")
    assert not inbound_ack.with_name("partner.contrl.contrl").exists()
