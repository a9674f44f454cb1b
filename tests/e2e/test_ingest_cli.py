"""`backorder ingest` and the intake commands as a user runs them."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from typer.testing import CliRunner, Result

from backorder.cli.app import app as cli
from tests.e2e.test_cli import run
from tests.integration.test_channel_events import ACK, shopify

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def test_ingest_dead_letter_alias_replay_discard(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    for sku in ("IPOD-GREEN", "IPOD-RED"):
        run(db, "product", "add", sku, "--name", "iPod", "--price", "199")
    run(db, "sku", "alias", "shopify", "IPOD2008GREEN", "IPOD-GREEN")

    first = run(
        db,
        "ingest",
        "shopify",
        str(FIXTURES / "shopify_order.json"),
        str(FIXTURES / "truncated.json"),
        "--json",
        ok=False,
    )
    assert first.returncode == 2, first.stderr
    report = json.loads(first.stdout)
    assert report["accepted"] == [] and len(report["dead_lettered"]) == 2

    letters = json.loads(run(db, "intake", "dead-letters", "--json").stdout)
    assert [d["external_id"] for d in letters] == ["450789469", None]  # the valuable one first
    run(db, "sku", "alias", "shopify", "variant:49148385", "IPOD-RED")
    replayed = run(db, "intake", "replay", str(letters[0]["id"]), "--json")
    assert json.loads(replayed.stdout)["accepted"] == ["shopify:450789469"]

    run(db, "intake", "discard", str(letters[1]["id"]), "--reason", "half a file")
    assert json.loads(run(db, "intake", "dead-letters", "--json").stdout) == []
    again = run(db, "ingest", "shopify", str(FIXTURES / "shopify_order.json"), "--json")
    assert json.loads(again.stdout)["duplicates"] == ["shopify:450789469"]

    refused = run(db, "ingest", "fax", str(FIXTURES / "shopify_order.json"), ok=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: unknown channel")


def test_an_x12_interchange_is_answered_with_a_997_beside_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    for sku in ("IPOD-GREEN", "IPOD-RED"):
        run(db, "product", "add", sku, "--name", "iPod", "--price", "199")
    run(db, "sku", "alias", "x12", "bp:BP-4471", "IPOD-RED", "--account", "acme")
    edi = tmp_path / "inbound" / "acme-20261120.edi"
    edi.parent.mkdir()
    edi.write_text((FIXTURES / "x12_850.edi").read_text())

    result = run(db, "ingest", "x12", str(edi), "--account", "acme", "--json", ok=False)
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["accepted"] == ["x12.acme:ACMEBUYER.4500012345"]
    assert [d["reasons"] for d in report["dead_lettered"]] == [
        [
            "unknown SKU 'NO-SUCH-SKU' (no product, and no alias for x12)",
            "unknown SKU 'upc:885909000017' (no product, and no alias for x12)",
        ],
        ["no BEG segment (the purchase order's beginning)"],
    ]
    ack = Path(report["acknowledgements"][0])
    assert ack == edi.with_name("acme-20261120.edi.997")
    text = ack.read_text()
    assert text.startswith("ISA*") and "AK9*P*3*3*2~" in text

    order = json.loads(run(db, "order", "show", "x12.acme:ACMEBUYER.4500012345", "--json").stdout)
    assert order["expedite"] is True and order["customer"]["tier"] == "wholesale"
    assert [(x["sku"], x["quantity"]) for x in order["lines"]] == [
        ("IPOD-GREEN", 12),
        ("IPOD-RED", 3),
    ]


def test_rules_set_per_account_dead_letter_then_warn_and_replay(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    for sku in ("IPOD-GREEN", "IPOD-RED", "WOO-SINGLE"):
        run(db, "product", "add", sku, "--name", "iPod", "--price", "199")
    run(db, "sku", "alias", "csv", "BP-4471", "WOO-SINGLE")
    run(db, "intake", "rules", "set", "currency", "error", "--channel", "csv", "--account",
        "acme", "--currencies", "EUR,GBP")  # fmt: skip
    refused = run(db, "intake", "rules", "set", "currency", "error", ok=False)
    assert refused.returncode == 1 and "say which currencies" in refused.stderr
    refused = run(db, "intake", "rules", "set", "unknown_sku", "warning", ok=False)
    assert "unknown_sku can only be error" in refused.stderr

    rules = json.loads(run(db, "intake", "rules", "list", "--channel", "csv", "--account",
                           "acme", "--json").stdout)  # fmt: skip
    currency = next(r for r in rules["rules"] if r["rule"] == "currency")
    assert currency["severity"] == "error" and currency["currencies"] == ["EUR", "GBP"]
    assert currency["set_for"] == "csv.acme"

    partner = str(FIXTURES / "partner_orders.csv")
    first = run(db, "ingest", "csv", partner, "--account", "acme", "--json", ok=False)
    dead = json.loads(first.stdout)["dead_lettered"]
    assert [d["reasons"] for d in dead] == [
        ["currency USD is not one this account sells in (EUR, GBP) (currency)"]
    ] * 2
    other = json.loads(run(db, "ingest", "csv", partner, "--account", "zeta", "--json").stdout)
    assert len(other["accepted"]) == 2  # the rule is acme's alone

    run(db, "intake", "rules", "set", "currency", "warning", "--channel", "csv", "--account",
        "acme", "--currencies", "EUR")  # fmt: skip
    replayed = json.loads(run(db, "intake", "replay", "--all", "--json").stdout)
    assert replayed["accepted"] == ["csv.acme:PO-7781", "csv.acme:PO-7782"]
    assert replayed["warnings"][0]["warnings"] == [
        "currency USD is not one this account sells in (EUR) (currency)"
    ]
    run(db, "intake", "rules", "reset", "currency", "--channel", "csv", "--account", "acme")
    assert "no setting" in run(db, "intake", "rules", "reset", "currency", ok=False).stderr


def test_drain_follow_is_the_intake_worker(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    run(db, "product", "add", "IPOD-GREEN", "--name", "iPod", "--price", "199")
    from backorder.config import Settings
    from backorder.services.context import Backorder
    from backorder.services.ingest import receive
    from backorder.store.db import Database

    app = Backorder(Database(db), Settings(database_url=db))
    try:
        receive(app, "x12", (FIXTURES / "x12_850.edi").read_text())
    finally:
        app.close()
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    follow = run(db, "intake", "drain", "--follow", "--for", "3", "--interval", "0.2", "--json")
    # Ctrl-C and SIGTERM stop the loop while it runs, and mean what they meant before after
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    states = [json.loads(line)["state"] for line in follow.stdout.splitlines()]
    assert sorted(states) == ["dead", "dead", "dead"]  # no aliases or products for them
    assert json.loads(run(db, "intake", "health", "--json").stdout)[0]["backlog"] == 0


def _in_process(db: str, *args: str, code: int = 0) -> Result:
    """The command run in this process (a process per command costs a second each)."""
    done = CliRunner().invoke(cli, ["--db", db, *args], env={"COLUMNS": "160"})
    assert done.exit_code == code, done.output
    return done


def test_a_997_goes_where_the_user_says_or_to_stdout_and_a_997_read_is_not_answered(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    _in_process(db, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    inbound, acks = tmp_path / "inbound", tmp_path / "acks" / "today"
    inbound.mkdir()
    edi = inbound / "acme.edi"
    edi.write_text((FIXTURES / "x12_850.edi").read_text())

    # its unknown SKUs are dead letters: exit 2
    told = _in_process(db, "ingest", "x12", str(edi), "--ack-dir", str(acks), "--json", code=2)
    assert json.loads(told.stdout)["acknowledgements"] == [str(acks / "acme.edi.997")]
    assert (acks / "acme.edi.997").read_text().startswith("ISA*")
    assert not (inbound / "acme.edi.997").exists()

    inbound.chmod(0o555)  # a folder the user may read and not write
    if os.access(inbound, os.W_OK):  # root writes anyway: the folder is in the way there
        inbound.chmod(0o755)
        (inbound / "acme.edi.997").mkdir()
        inbound.chmod(0o555)
    try:
        printed = _in_process(db, "ingest", "x12", str(edi), code=2)
    finally:
        inbound.chmod(0o755)
    assert "ISA*" in printed.stdout and "AK9*" in printed.stdout
    assert f"acknowledgement of {edi} printed above: {inbound} is not writable" in printed.stdout
    assert not (inbound / "acme.edi.997").is_file()

    ack = tmp_path / "partner.997"
    ack.write_text(ACK)
    read = json.loads(_in_process(db, "ingest", "x12", str(ack), "--json").stdout)
    assert "acknowledgements" not in read and not ack.with_name("partner.997.997").exists()
    assert read["ignored"][0]["outcome"].startswith("acknowledgement of group 1234 (PO)")

    web = tmp_path / "order.json"
    web.write_text(shopify())
    _in_process(db, "ingest", "shopify", str(web), "--topic", "orders/create")
    web.write_text(shopify(cancelled_at="2026-03-14T10:00:00Z", cancel_reason="other"))
    gone = _in_process(db, "ingest", "shopify", str(web), "--topic", "orders/cancelled")
    assert "applied    shopify:1001  (cancelled 3 units not shipped (shop:other))" in gone.stdout
    refused = _in_process(db, "ingest", "x12", str(ack), "--ack-dir", str(web), code=1)
    assert "--ack-dir" in refused.output
