"""`backorder ingest bigcommerce` as a user runs it: a webhook file is parked (exit 0, not a
dead letter), listed by `intake parked`, and settled when the order's file comes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from backorder.cli.app import app as cli

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def _in_process(db: str, *args: str, code: int = 0) -> Result:
    """The command run in this process (a process per command costs a second each)."""
    done = CliRunner().invoke(cli, ["--db", db, *args], env={"COLUMNS": "200"})
    assert done.exit_code == code, done.output
    return done


def test_a_webhook_file_is_parked_listed_then_settled_by_the_order_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    _in_process(db, "product", "add", "IPOD-GREEN", "--name", "iPod", "--price", "199")
    _in_process(db, "product", "add", "DOCK", "--name", "Dock", "--price", "7")
    _in_process(db, "sku", "alias", "bigcommerce", "product:79", "DOCK")

    hook = _in_process(db, "ingest", "bigcommerce", str(FIXTURES / "bigcommerce_webhook.json"))
    assert hook.output.startswith("parked     payload 1  (waiting for order 250's body: ")
    listed = _in_process(db, "intake", "parked").output
    assert listed.startswith("     1 bigcommerce/default order 250 store/order/created, 0.0 h: ")
    health = _in_process(db, "intake", "health").output
    assert "; 1 parked, waiting for their orders (oldest " in health

    order = _in_process(
        db, "ingest", "bigcommerce", str(FIXTURES / "bigcommerce_order.json"), "--json"
    )
    assert json.loads(order.output)["accepted"] == ["bigcommerce:250"]
    assert _in_process(db, "intake", "parked").output == "nothing parked\n"
