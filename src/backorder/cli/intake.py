"""Commands of the governed intake flow: ingest a channel's payloads, look after the dead
letters, map channel SKUs."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer

from backorder.cli.common import JsonFlag, emit, out, state_of, stopped_by_signals
from backorder.domain.errors import InvalidRequest
from backorder.intake import DEFAULT_ACCOUNT
from backorder.intake.rules import RULES
from backorder.services.ingest import (
    Outcome,
    acknowledge,
    add_alias,
    dead_letters,
    discard,
    drain,
    envelope_notes,
    health,
    ingest,
    replay,
    summary,
)
from backorder.services.intake_rules import reset_rule, rules_view, set_rule
from backorder.services.parked import parked
from backorder.services.payloads import FEED_KINDS
from backorder.words import money

DEAD_LETTERED = 2
Account = Annotated[str, typer.Option(help="The channel account (store) it came from.")]


PRINTED = "(stdout)"  # where an acknowledgement went that no folder could take
# A channel's acknowledgement file beside FILE: its suffix and encoding (X12 is ASCII; an
# EDIFACT interchange may be UNOC, Latin-1, so its CONTRL is kept as the file came, UTF-8).
ACK_FILES = {
    "x12": (".997", "ascii"),
    "x12-3pl": (".997", "ascii"),
    "edifact": (".contrl", "utf-8"),
}


def _report(outcomes: list[Outcome], as_json: bool, acks: list[Ack] | None = None) -> None:
    report = summary(outcomes)
    if acks:
        report["acknowledgements"] = [ack.to for ack in acks]
        report["envelope"] = [f"{ack.file}: {note}" for ack in acks for note in ack.notes]
        printed = [ack.text for ack in acks if ack.to == PRINTED]
        if printed:
            report["acknowledgements_printed"] = printed
    if as_json:
        emit(report)
    else:
        for o in outcomes:
            detail = o.outcome or "; ".join(o.reasons or o.warnings)
            state = ("applied" if o.ref else "ignored") if o.outcome else o.state  # as --json
            if o.topic in FEED_KINDS:  # a feed's document: applied, or a duplicate
                state = "applied" if o.state == "accepted" else o.state
            out.print(
                f"{state:<10} {o.ref or f'payload {o.id}'}" + (f"  ({detail})" if detail else ""),
                markup=False,
            )
        for ack in acks or []:
            if ack.to == PRINTED:
                sys.stdout.write(ack.text)
                out.print(
                    f"acknowledgement of {ack.file} printed above: {ack.file.parent} is not "
                    "writable (--ack-dir names a folder for it)",
                    markup=False,
                    soft_wrap=True,  # a path is never cut
                )
            else:
                out.print(f"acknowledgement written to {ack.to}", markup=False, soft_wrap=True)
            for note in ack.notes:
                out.print(f"envelope   {ack.file}: {note}", markup=False)
    if report["dead_lettered"] or report["pending"]:
        raise typer.Exit(DEAD_LETTERED)


@dataclass(frozen=True)
class Ack:
    """An acknowledgement (an X12 997, an EDIFACT CONTRL) written for a file: where it went
    (a path, or PRINTED) and its text."""

    file: Path
    to: str
    text: str
    notes: tuple[str, ...] = ()  # what is wrong with the file's envelopes, in words


def _writable_folder(folder: Path) -> Path:
    """The folder --ack-dir names, made if need be; InvalidRequest when it cannot hold
    files."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidRequest(f"--ack-dir {folder}: {error.strerror or error}") from None
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InvalidRequest(f"--ack-dir {folder}: not a folder this user can write to")
    return folder


def _file_ack(file: Path, text: str, folder: Path | None, channel: str) -> Ack:
    """Write a file's 997 (CONTRL) into the folder named, else beside the file when that
    folder is writable, else leave it to be printed."""
    suffix, encoding = ACK_FILES.get(channel, (".ack", "utf-8"))
    path = (folder or file.parent) / (file.name + suffix)
    if folder is not None:
        try:
            path.write_text(text, encoding=encoding, errors="replace")
        except OSError as error:
            raise InvalidRequest(f"{path}: {error.strerror or error}") from None
        return Ack(file, str(path), text)
    if os.access(file.parent, os.W_OK):
        try:
            path.write_text(text, encoding=encoding, errors="replace")
            return Ack(file, str(path), text)
        except OSError:
            pass  # writable in name only (a read-only mount, a folder in the way): print it
    return Ack(file, PRINTED, text)


def ingest_command(
    ctx: typer.Context,
    channel: Annotated[
        str,
        typer.Argument(
            help="shopify, woocommerce, amazon, bigcommerce, magento, walmart, x12, edifact, csv "
            "or canonical; a feed: x12-3pl, stock-csv, stock-json or shopify-inventory."
        ),
    ],
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Files: one payload, a JSON array of them, a CSV, an X12 or EDIFACT interchange."
        ),
    ],
    account: Account = DEFAULT_ACCOUNT,
    topic: Annotated[
        str | None,
        typer.Option(
            help="shopify, woocommerce: the webhook topic the payloads came under "
            "(orders/create, orders/updated, orders/cancelled; order.created, order.updated); "
            "none places the orders."
        ),
    ] = None,
    ack_dir: Annotated[
        Path | None,
        typer.Option(
            "--ack-dir",
            help="x12, edifact: the folder for each file's 997 or CONTRL, FILE.997 or "
            "FILE.contrl (default: beside the file when "
            "that folder is writable, else printed).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Take in a channel's orders, or a feed's stock documents (snapshots, receipts: each
    applied, or a dead letter with its reason). Every payload is stored first; each becomes
    an order, a duplicate, or a dead letter with its reasons; under a --topic, a cancellation
    or update applied to an order held, or an event kept and ignored. Exit 2 when any was
    dead-lettered. For X12, the 997 acknowledging each file is written as FILE.997, for
    EDIFACT the CONTRL as FILE.contrl (an inbound 997 or CONTRL is recorded, never
    acknowledged)."""
    folder = _writable_folder(ack_dir) if ack_dir is not None else None
    app = state_of(ctx).app()
    texts = []
    for file in files:
        try:
            texts.append(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise InvalidRequest(f"{file}: not UTF-8 text") from None
        except OSError as error:
            raise InvalidRequest(f"{file}: {error.strerror or error}") from None
    outcomes, acks = [], []
    for file, text in zip(files, texts, strict=True):
        taken = ingest(app, channel, text, account, topic)
        outcomes += taken
        ack = acknowledge(app, channel, text, [o.id for o in taken])
        if ack is not None:
            acks.append(
                replace(
                    _file_ack(file, ack, folder, channel),
                    notes=tuple(envelope_notes(channel, text)),
                )
            )
    _report(outcomes, as_json, acks)


intake_app = typer.Typer(no_args_is_help=True, help="The intake's dead letters and backlog.")


@intake_app.command("dead-letters")
def dead_letters_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Payloads that could not become orders, highest impact first."""
    letters = dead_letters(state_of(ctx).app())
    if as_json:
        emit(letters)
        return
    if not letters:
        out.print("no dead letters", markup=False)
    for d in letters:
        value = (
            (money(d["value"], d["currency"]) if d["currency"] else str(d["value"]))
            if d["value"]
            else "?"
        )
        out.print(
            f"{d['id']:>6} {d['channel']}/{d['account']} {d['external_id'] or '-'} "
            f"value {value}, {d['tier']}, {d['age_hours']} h: {'; '.join(d['reasons'])}",
            markup=False,
        )


@intake_app.command("parked")
def parked_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Parts of orders waiting for the whole order (a BigCommerce webhook), oldest first."""
    parts = parked(state_of(ctx).app())
    if as_json:
        emit(parts)
        return
    if not parts:
        out.print("nothing parked", markup=False)
    for d in parts:
        out.print(
            f"{d['id']:>6} {d['channel']}/{d['account']} order {d['external_id']} "
            f"{d['topic'] or '-'}, {d['age_hours']} h: {'; '.join(d['waiting_for'])}",
            markup=False,
        )


@intake_app.command("replay")
def replay_command(
    ctx: typer.Context,
    payload: Annotated[int | None, typer.Argument(help="A dead letter's id.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Try dead letters again after a fix (a new alias, a new product)."""
    if (payload is None) == (not every):
        raise InvalidRequest("give one dead letter's ID, or --all")
    _report(replay(state_of(ctx).app(), None if every else payload), as_json)


@intake_app.command("discard")
def discard_command(
    ctx: typer.Context,
    payload: Annotated[int, typer.Argument(help="A dead letter's (or parked payload's) id.")],
    reason: Annotated[str, typer.Option(help="Why; kept with the payload.")],
) -> None:
    """Give up on a dead letter, or a parked part of an order whose order will not come,
    saying why. It stays in the store."""
    discard(state_of(ctx).app(), payload, reason)
    out.print(f"discarded {payload}", markup=False)


@intake_app.command("drain")
def drain_command(
    ctx: typer.Context,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep draining until stopped (Ctrl-C or SIGTERM).")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, max=3600, help="With --follow: seconds between looks.")
    ] = 1.0,
    seconds: Annotated[
        float | None, typer.Option("--for", min=0, help="With --follow: stop after this long.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Process payloads left pending (after a crash, a busy database, or a spike answered
    202), oldest first. With --follow it keeps watching (the intake worker), and --json
    prints one line per payload as it is done."""
    app = state_of(ctx).app(wait=follow)
    if not follow:
        _report(drain(app), as_json)
        return
    with stopped_by_signals() as stop:
        deadline = None if seconds is None else time.monotonic() + seconds
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            done = drain(app, limit=500)
            for o in done:
                line = {"id": o.id, "state": o.state, "ref": o.ref, "reasons": o.reasons}
                if as_json:  # one JSON document per line, as each payload is done
                    sys.stdout.write(json.dumps(line) + "\n")
                    sys.stdout.flush()
                else:
                    out.print(f"{o.state:<10} {o.ref or f'payload {o.id}'}", markup=False)
            if not done:
                wait = interval if deadline is None else min(interval, deadline - time.monotonic())
                stop.wait(max(wait, 0))


rules_app = typer.Typer(
    no_args_is_help=True,
    help="Validation rules per channel and account: each an error, a warning, or off.",
)
Channel = Annotated[
    str | None, typer.Option(help="Only for this channel (default: every channel).")
]
ForAccount = Annotated[
    str | None, typer.Option("--account", help="Only for this account (default: every one).")
]


@rules_app.command("list")
def rules_list_command(
    ctx: typer.Context,
    channel: Channel = None,
    account: ForAccount = None,
    as_json: JsonFlag = False,
) -> None:
    """The rules in force for a channel's account, and every stored setting."""
    view = rules_view(state_of(ctx).app(), channel, account)
    if as_json:
        emit(view)
        return
    for rule in view["rules"]:
        extra = ""
        if rule.get("currencies"):
            extra = f" [{', '.join(rule['currencies'])}]"
        elif "max_deviation_percent" in rule:
            extra = f" [{rule['max_deviation_percent']}%]"
        out.print(
            f"{rule['rule']:<16} {rule['severity']:<8}{extra} (set for {rule['set_for']}): "
            f"{rule['meaning']}",
            markup=False,
        )


@rules_app.command("set")
def rules_set_command(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help=f"One of: {', '.join(RULES)}.")],
    severity: Annotated[str, typer.Argument(help="error, warning or off.")],
    channel: Channel = None,
    account: ForAccount = None,
    currencies: Annotated[
        str | None, typer.Option(help="currency rule: the codes sold, e.g. USD,EUR.")
    ] = None,
    max_deviation_percent: Annotated[
        str | None, typer.Option(help="price_deviation rule: how far from the catalogue, in %.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a rule an error (dead-letter), a warning (take and flag) or off; then
    `intake replay --all` tries the dead letters again under it."""
    setting = set_rule(
        state_of(ctx).app(),
        rule,
        severity,
        channel,
        account,
        currencies.split(",") if currencies is not None else None,
        max_deviation_percent,
    )
    if as_json:
        emit(setting)
    else:
        where = f"{channel or 'every channel'}" + (f", account {account}" if account else "")
        out.print(f"{rule} is {severity} for {where}", markup=False)


@rules_app.command("reset")
def rules_reset_command(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="The rule.")],
    channel: Channel = None,
    account: ForAccount = None,
) -> None:
    """Remove a setting; the more general one (or the default) applies again."""
    reset_rule(state_of(ctx).app(), rule, channel, account)
    out.print(f"{rule} reset", markup=False)


intake_app.add_typer(rules_app, name="rules")


sku_app = typer.Typer(no_args_is_help=True, help="How channels name our products.")


@sku_app.command("alias")
def alias_command(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="The channel.")],
    channel_sku: Annotated[str, typer.Argument(help="Its SKU, variant or product id.")],
    sku: Annotated[str, typer.Argument(help="Our SKU.")],
    account: Annotated[
        str | None, typer.Option(help="Only for this account (default: every account).")
    ] = None,
) -> None:
    """Map a channel's name for a product onto our SKU; then `intake replay --all`."""
    add_alias(state_of(ctx).app(), channel, channel_sku, sku, account)
    out.print(f"{channel} {channel_sku} -> {sku}", markup=False)


@intake_app.command("health")
def health_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Each source (channel and account): counts, error rate, backlog, last accepted."""
    sources = health(state_of(ctx).app())
    if as_json:
        emit(sources)
        return
    if not sources:
        out.print("nothing received yet", markup=False)
    for s in sources:
        c = s["counts"]
        out.print(
            f"{s['channel']}/{s['account']}: {c['accepted']} accepted, {c['duplicate']} "
            f"duplicate, {c['dead']} dead, {c['discarded']} discarded; error rate "
            f"{s['error_rate']:.1%}; backlog {s['backlog']} "
            f"(oldest {s['oldest_waiting_seconds']:.0f} s); "
            f"last accepted {s['last_accepted_at'] or 'never'}"
            + "".join(f"; ignored {topic}: {n}" for topic, n in sorted(s["ignored"].items()))
            + (
                f"; {c['parked']} parked, waiting for their orders "
                f"(oldest {s['oldest_parked_seconds']:.0f} s)"
                if c["parked"]
                else ""
            ),
            markup=False,
        )
