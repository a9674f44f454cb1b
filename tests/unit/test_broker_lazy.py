"""Without a broker nothing loads its client: the command line and the API start as they
did before BACKORDER_BROKER_URL existed. With one, its client must be installed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from pydantic import ValidationError

from backorder.config import Settings


def test_the_cli_and_the_api_do_not_load_nats_py_without_a_broker() -> None:
    probe = "import sys, backorder.cli.app, backorder.api.app; print('nats' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


def test_a_broker_without_its_client_is_refused_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nats" else real(name, *a)
    )
    with pytest.raises(ValidationError, match=r"pip install 'backorder\[broker\]'"):
        Settings(broker_url="nats://127.0.0.1:4222")
    assert Settings(broker_url="").broker_url is None  # no broker: nothing needed
