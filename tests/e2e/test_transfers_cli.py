"""Transfers, purchase orders at a location and ATP per location from the command line,
as a user types them (the installed `backorder`, a real SQLite file)."""

from __future__ import annotations

from tests.e2e.test_cli import as_json, order, run


def test_transfers_and_atp_per_location_from_the_command_line(sqlite_url: str) -> None:
    db = sqlite_url
    run(db, "supplier", "add", "ACME", "--name", "Acme", "--lead-time-days", "30")
    run(
        db,
        "product",
        "add",
        "WIDGET-BLUE",
        "--name",
        "Blue",
        "--price",
        "9.5",
        "--supplier",
        "ACME",
    )
    run(db, "location", "add", "east", "--name", "East 3PL", "--kind", "3pl", "--priority", "1")
    run(db, "stock", "set", "WIDGET-BLUE", "6", "--location", "east")
    run(db, "order", "place", "-", stdin=order("1", 5, qty=8))  # 6 from east, 2 wait

    po = run(
        db,
        "po",
        "add",
        "PO-9",
        "--supplier",
        "ACME",
        "--line",
        "WIDGET-BLUE:5:2099-03-01",
        "--location",
        "east",
    )
    assert "PO-9 from ACME to east: open" in po.stdout
    assert as_json(db, "po", "show", "PO-9")["location"] == "east"

    refused = run(
        db,
        "transfer",
        "create",
        "WIDGET-BLUE",
        "2",
        "--from",
        "east",
        "--to",
        "east",
        "--expected-on",
        "2099-02-01",
        ok=False,
    )
    assert refused.returncode == 1
    assert "two different locations" in refused.stderr + refused.stdout

    made = as_json(
        db,
        "transfer",
        "create",
        "WIDGET-BLUE",
        "3",
        "--from",
        "main",
        "--to",
        "east",
        "--expected-on",
        "2099-02-01",
    )
    number = str(made["id"])
    assert made["state"] == "planned"
    # main holds nothing: shipping is refused in words and nothing moves
    nothing = run(db, "transfer", "ship", number, ok=False)
    assert nothing.returncode == 1
    assert "main has 0 unit(s) of WIDGET-BLUE free" in nothing.stderr + nothing.stdout
    assert as_json(db, "transfer", "show", number)["state"] == "planned"

    # a planned transfer out of a location that could serve the line brings it nothing
    # (units free there would be its already): the line is dated by PO-9
    assert as_json(db, "order", "show", "web:1")["lines"][0]["eta"] == "2099-03-01"
    east = as_json(db, "atp", "WIDGET-BLUE", "--location", "east")
    assert (east["on_hand"], east["allocated"], east["available"]) == (6, 6, 0)
    assert [(i["transfer"], i["po"], i["units"]) for i in east["inbound"]] == [
        (made["id"], None, 3),
        (None, "PO-9", 5),
    ]
    assert east["promisable"] == [
        {"date": "2099-02-01", "units": 3},  # the transfer's 3
        {"date": "2099-03-01", "units": 6},  # and PO-9's 5, less the 2 waiting
    ]
    text = run(db, "atp", "WIDGET-BLUE", "--location", "east").stdout
    assert "WIDGET-BLUE at east: 6 on hand, 6 allocated, 0 available" in text
    assert f"transfer {number}: 3 to east from main, expected 2099-02-01" in text
    assert "by 2099-03-01: 6 units" in text

    run(db, "stock", "receive", "WIDGET-BLUE", "5", "--location", "main")  # 2 to the queue
    shipped = run(db, "transfer", "ship", number)
    assert f"transfer {number}: 3 WIDGET-BLUE from main to east" in shipped.stdout
    assert "shipped, 3 in transit" in shipped.stdout
    run(db, "transfer", "receive", number)
    assert as_json(db, "transfer", "show", number)["state"] == "received"
    listed = run(db, "transfer", "list").stdout
    assert "received" in listed and "main" in listed and "east" in listed
    assert as_json(db, "transfer", "list", "--state", "planned") == []
    at = {
        p["location"]: p["on_hand"]
        for p in as_json(db, "stock", "show", "WIDGET-BLUE")["locations"]
    }
    assert at == {"east": 9, "main": 2}
    assert run(db, "transfer", "cancel", number, ok=False).returncode == 1
