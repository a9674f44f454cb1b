"""POST /api/v1/channels/edifact/orders: an EDIFACT interchange over HTTP, answered with the
CONTRL that acknowledges it."""

from __future__ import annotations

from pathlib import Path

from tests.api.live import Server, cli
from tests.api.test_intake_http import post

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def test_an_edifact_interchange_is_answered_with_its_contrl(server: Server) -> None:
    cli(server.db_url, "product", "add", "IPOD-RED", "--name", "iPod", "--price", "199")
    body = (FIXTURES / "edifact_broken.edi").read_bytes()
    answer = post(server.base, server.keys["channel"], "edifact", body, account="globex")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["accepted"] == [
        "edifact.globex:GLOBEX.PO-88001",
        "edifact.globex:INITECH.IN-501",  # its own UNA: | ^ , ! ~
    ]
    assert [d["reasons"][0] for d in report["dead_lettered"]] == [
        "UNT counts 9 segments; message M2 has 7",
        "message M3 has no UNT trailer",
    ]
    ack = report["acknowledgement"]
    assert "UCI+88+GLOBEX:ZZ+BACKORDER:ZZ+7+29+UNZ'" in ack  # the UNZ count named
    assert report["envelope"] == ["interchange 88: UNZ counts 2 messages; the interchange has 3"]
    assert "UCM+M2+ORDERS:D:96A:UN+4+29+UNT'" in ack
    assert "UNA^|,! ~\n" in ack and "UCM|1|ORDERS^D^01B^UN|7~" in ack
