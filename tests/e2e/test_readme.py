"""The README's two set-up commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    first_screen = readme.split("---", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", first_screen)


def test_the_first_screen_shows_exactly_two_commands_demo_then_tests() -> None:
    demo, tests = commands()
    assert demo.endswith("backorder demo")
    assert tests.endswith("pytest")


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    assert commands()[1] in (ROOT / ".ci" / "run").read_text().splitlines()
