"""What an operator runs (deploy/) is what this version of Backorder offers: every `backorder`
command line in the container image, the compose file, the systemd units and the deployment
notes is a real command with real options, every BACKORDER_* variable they name is a real
setting with a valid example value, and the ports, health paths and start order agree. No
Docker engine and no systemd run here: the files are parsed, and each command line is parsed
in process by the command's own Click parser (an unknown command or option, or a bad value,
fails), never run."""

from __future__ import annotations

import configparser
import functools
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from typer.core import TyperGroup

from backorder.cli import app as cli
from backorder.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
ENV_FILE = "/etc/backorder/backorder.env"
PORT = 8000
# The health routes the API serves (api/app.py), found in its source so that a renamed route
# fails here.
HEALTH_PATHS = set(
    re.findall(r'@app\.get\(\s*"(/\w+)"', (ROOT / "src/backorder/api/app.py").read_text())
) & {"/healthz", "/readyz"}
LONG_RUNNING = (
    "backorder-serve.service",
    "backorder-worker@.service",
    "backorder-consume@.service",
)
VARIABLE = re.compile(r"\bBACKORDER_[A-Z0-9_]*[A-Z0-9]\b")
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "DynamicUser": "yes"}


# --- reading the files ------------------------------------------------------------------


def containerfile() -> dict[str, list[str]]:
    """Each instruction's arguments, in order (continued lines joined, comments dropped)."""
    instructions: dict[str, list[str]] = {}
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Containerfile").read_text())
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.setdefault(keyword.upper(), []).append(rest.strip())
    return instructions


def exec_form(arguments: str) -> list[str]:
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string((UNITS / name).read_text())
    return parser


def unit_names() -> list[str]:
    return sorted(path.name for path in UNITS.iterdir() if path.suffix in (".service", ".target"))


def caddyfile() -> str:
    return (DEPLOY / "Caddyfile").read_text()


def notes() -> str:
    """The deployment notes: deploy/README.md and the README's own section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deployment and scale", 1)[1].split("\n## ", 1)[0]
    return (DEPLOY / "README.md").read_text() + section


def shell_lines(text: str) -> list[str]:
    """Lines of the ```sh blocks, and `docker …` lines quoted in comments."""
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    lines += re.findall(r"^#\s+(docker .+)$", text, flags=re.M)
    return [part for line in lines for part in re.split(r"&&|\|\||;|\|", line)]


def after_program(words: list[str]) -> list[str] | None:
    """The arguments given to `backorder` in one shell command (None: it runs none). The
    image is named backorder too: the program is the last `backorder` followed by a word."""
    for at in range(len(words) - 1, -1, -1):
        program = words[at].rsplit("/", 1)[-1] == "backorder"
        if program and at + 1 < len(words) and re.fullmatch(r"[a-z][a-z-]*", words[at + 1]):
            return words[at + 1 :]
    return None


def command_lines() -> list[tuple[str, list[str]]]:
    found = [("Containerfile CMD", exec_form(containerfile()["CMD"][-1])[1:])]
    for name, service in services().items():
        if "command" in service:
            command = service["command"]
            words = command if isinstance(command, list) else shlex.split(command)
            if words[0] == "backorder":
                found.append((f"compose {name}", words[1:]))
    for name in unit_names():
        for section in unit(name).values():
            for key, value in section.items():
                if key.startswith("Exec"):
                    words = shlex.split(value.lstrip("-@+!"))
                    assert words[0].endswith("/backorder"), f"{name} {key}: {value}"
                    found.append((f"{name} {key}", words[1:]))
    texts = {
        "Containerfile": (DEPLOY / "Containerfile").read_text(),
        "compose.yaml": (DEPLOY / "compose.yaml").read_text(),
        "deployment notes": notes(),
    }
    for where, text in texts.items():
        for line in shell_lines(text):
            arguments = after_program(shlex.split(line, comments=True))
            if arguments:
                found.append((f"{where}: {line.strip()}", arguments))
    return found


# --- every command line is a real command -------------------------------------------------


COMMANDS = command_lines()


def test_the_deployment_runs_the_api_migrations_workers_and_consumers() -> None:
    run = {" ".join(arguments[:2]) for _, arguments in COMMANDS}
    assert {"serve --host", "db upgrade", "worker", "intake consume"} <= run


@functools.cache
def command_tree() -> Any:
    """The `backorder` command as Click sees it, built once: Typer builds it anew on every
    CliRunner call (half a second each on this machine)."""
    return typer.main.get_command(cli)


@pytest.mark.parametrize(("where", "arguments"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_every_command_line_is_a_real_command_with_real_options(
    where: str, arguments: list[str]
) -> None:
    command = command_tree()
    context = command.context_class(command, info_name="backorder")
    words = list(arguments)
    while words and not words[0].startswith("-") and isinstance(command, TyperGroup):
        found = command.get_command(context, words[0])
        assert found is not None, f"{where}: `backorder` has no command {words[0]!r}"
        context = found.context_class(found, info_name=words[0], parent=context)
        command, words = found, words[1:]
    assert not isinstance(command, TyperGroup), f"{where}: {command.name} needs a command"
    try:  # Click's own parsing, as a run would do it, short of calling the command
        command.make_context(command.name, words, parent=context.parent)
    except Exception as error:  # an unknown option, a bad or missing value
        raise AssertionError(f"{where}: {type(error).__name__}: {error}") from error


# --- every variable is a real setting -----------------------------------------------------


def test_every_backorder_variable_named_is_a_real_setting() -> None:
    known = {f"BACKORDER_{name.upper()}" for name in Settings.model_fields}
    files = [path for path in DEPLOY.rglob("*") if path.is_file()]
    texts = {path.relative_to(ROOT).as_posix(): path.read_text() for path in files}
    texts["README.md#deployment-and-scale"] = notes()
    named = {(where, name) for where, text in texts.items() for name in VARIABLE.findall(text)}
    assert len(named) > 10, "the deployment files name hardly any setting"
    assert sorted({f"{name} ({where})" for where, name in named if name not in known}) == []


def test_the_example_settings_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"BACKORDER_{name.upper()}", raising=False)
    Settings(_env_file=UNITS / "backorder.env")
    for service in services().values():
        if "build" in service:
            with monkeypatch.context() as each:
                for variable, value in service["environment"].items():
                    each.setenv(variable, str(value))
                Settings(_env_file=None)


# --- ports, health paths, start order -----------------------------------------------------


def port_of(arguments: list[str]) -> int:
    return int(arguments[arguments.index("--port") + 1])


def test_the_image_serves_checks_and_exposes_one_port() -> None:
    image = containerfile()
    command = exec_form(image["CMD"][-1])
    assert command[:2] == ["backorder", "serve"] and port_of(command) == PORT
    assert image["EXPOSE"] == [str(PORT)]
    assert image["USER"] and image["USER"][-1] not in ("root", "0")
    (check,) = image["HEALTHCHECK"]
    url = urlsplit(re.findall(r"https?://[^'\"\s]+", check)[0])
    assert (url.port, url.path) == (PORT, "/healthz") and url.path in HEALTH_PATHS
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    (wanted,) = re.findall(r"^ARG EXTRAS=(\S+)$", "\n".join(f"ARG {a}" for a in image["ARG"]), re.M)
    assert {"postgres", "broker"} <= set(wanted.split(","))
    assert sorted(set(wanted.split(",")) - set(extras)) == [], "extras pyproject.toml lacks"


def test_compose_starts_in_order_and_balances_over_ready_api_processes() -> None:
    found = services()
    image_checks = "HEALTHCHECK" in containerfile()
    serving = sorted(
        n for n, s in found.items() if s.get("command", [])[:2] == ["backorder", "serve"]
    )
    assert len(serving) >= 2 and all(port_of(found[n]["command"]) == PORT for n in serving)
    for name, service in found.items():
        for needed, how in service.get("depends_on", {}).items():
            target = found[needed]
            if how["condition"] == "service_healthy":
                own = target.get("healthcheck", {})
                assert not own.get("disable") and (own or (image_checks and "build" in target))
            elif how["condition"] == "service_completed_successfully":
                assert target.get("restart") == "no", f"{name} waits for {needed} to finish"
        if "build" in service and name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    (listen, upstreams), *_ = re.findall(r"^:(\d+) \{\s*reverse_proxy ([^{]+)\{", caddyfile(), re.M)
    assert sorted(upstreams.split()) == [f"{n}:{PORT}" for n in serving]
    assert re.findall(r"health_uri (\S+)", caddyfile())[0] in HEALTH_PATHS
    assert found["proxy"]["ports"] == [f"{listen}:{listen}"]
    environment = found["migrate"]["environment"]
    database = urlsplit(environment["BACKORDER_DATABASE_URL"])
    postgres = found["postgres"]["environment"]
    assert (database.hostname, database.username, database.password, database.path[1:]) == (
        "postgres",
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert urlsplit(environment["BACKORDER_BROKER_URL"]).hostname == "nats"
    assert "-js" in found["nats"]["command"] and found["nats"]["volumes"]


def test_systemd_units_read_one_file_restart_stop_cleanly_and_are_hardened() -> None:
    names = unit_names()
    assert {"backorder-migrate.service", *LONG_RUNNING} <= set(names)
    for name in names:
        if not name.endswith(".service"):
            continue
        service = unit(name)["Service"]
        assert service["EnvironmentFile"] == ENV_FILE, name
        assert service["Restart"] == "on-failure", name
        assert {k: service.get(k) for k in HARDENING} == HARDENING, name
    for name in LONG_RUNNING:
        service, order = unit(name)["Service"], unit(name)["Unit"]
        assert service["KillSignal"] == "SIGTERM" and service["TimeoutStopSec"], name
        assert "backorder-migrate.service" in order["Requires"].split(), name
        assert "backorder-migrate.service" in order["After"].split(), name
    serve = shlex.split(unit("backorder-serve.service")["Service"]["ExecStart"])
    assert port_of(serve) == PORT
    wanted = unit("backorder.target")["Unit"]["Wants"].split()
    assert wanted and all(re.sub(r"@[^.]+\.", "@.", w) in names for w in wanted)
