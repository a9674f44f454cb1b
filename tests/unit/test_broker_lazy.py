"""Without a broker nothing loads its client: the command line and the API start as they
did before BACKORDER_BROKER_URL existed."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_and_the_api_do_not_load_nats_py_without_a_broker() -> None:
    probe = "import sys, backorder.cli.app, backorder.api.app; print('nats' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
