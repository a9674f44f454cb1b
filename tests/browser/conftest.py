"""Headless Chromium (Debian's `chromium` package) driven by Playwright, which is told where
the browser is: Playwright's own browser download is never used. Where the browser is missing
and this is a Debian machine run as root (CI here), it is installed once with apt-get;
elsewhere the browser tests are skipped with the reason (and fail under CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("BACKORDER_TEST_ARTIFACTS", "test-artifacts"))


def _chromium() -> str | None:
    named = os.environ.get("BACKORDER_CHROMIUM")
    if named:
        return named
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _install() -> str:
    """apt-get install chromium, bounded in time; what happened, in words."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "no chromium, and no apt-get run as root to install it"
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=600,
                env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
            )
        except subprocess.TimeoutExpired:
            return f"{' '.join(command)} took over 10 minutes"
        if done.returncode != 0 and command[1] == "install":
            return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    return "apt-get installed no chromium"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        why = _install()
        path = _chromium()
        if path is None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"browser tests need Debian's chromium: {why}")
            pytest.skip(f"browser tests need Debian's chromium (or BACKORDER_CHROMIUM): {why}")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS, timeout=60_000
        )
        yield launched
        launched.close()
