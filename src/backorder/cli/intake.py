"""Commands of the governed intake flow: ingest a channel's payloads, look after the dead
letters, map channel SKUs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backorder.cli.common import JsonFlag, emit, out, state_of
from backorder.domain.errors import InvalidRequest
from backorder.services.ingest import (
    DEFAULT_ACCOUNT,
    Outcome,
    acknowledge,
    add_alias,
    dead_letters,
    discard,
    drain,
    health,
    ingest,
    replay,
    summary,
)

DEAD_LETTERED = 2
Account = Annotated[str, typer.Option(help="The channel account (store) it came from.")]


def _report(outcomes: list[Outcome], as_json: bool, acks: list[str] | None = None) -> None:
    report = summary(outcomes)
    if acks:
        report["acknowledgements"] = acks
    if as_json:
        emit(report)
    else:
        for o in outcomes:
            detail = "; ".join(o.reasons or o.warnings)
            out.print(
                f"{o.state:<10} {o.ref or f'payload {o.id}'}" + (f"  ({detail})" if detail else ""),
                markup=False,
            )
        for path in acks or []:
            out.print(f"acknowledgement written to {path}", markup=False)
    if report["dead_lettered"] or report["pending"]:
        raise typer.Exit(DEAD_LETTERED)


def ingest_command(
    ctx: typer.Context,
    channel: Annotated[
        str, typer.Argument(help="shopify, woocommerce, amazon, x12, csv or canonical.")
    ],
    files: Annotated[
        list[Path],
        typer.Argument(help="Files: one payload, a JSON array of them, a CSV, an X12 interchange."),
    ],
    account: Account = DEFAULT_ACCOUNT,
    as_json: JsonFlag = False,
) -> None:
    """Take in a channel's orders. Every payload is stored first; each becomes an order, a
    duplicate, or a dead letter with its reasons. Exit 2 when any was dead-lettered. For X12,
    the 997 acknowledging each file is written next to it, as FILE.997."""
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
        taken = ingest(app, channel, text, account)
        outcomes += taken
        ack = acknowledge(app, channel, text, [o.id for o in taken])
        if ack is not None:
            path = file.with_name(file.name + ".997")
            path.write_text(ack, encoding="ascii", errors="replace")
            acks.append(str(path))
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
        value = f"{d['value']} {d['currency'] or ''}".strip() if d["value"] else "?"
        out.print(
            f"{d['id']:>6} {d['channel']}/{d['account']} {d['external_id'] or '-'} "
            f"value {value}, {d['tier']}, {d['age_hours']} h: {'; '.join(d['reasons'])}",
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
    payload: Annotated[int, typer.Argument(help="A dead letter's id.")],
    reason: Annotated[str, typer.Option(help="Why; kept with the payload.")],
) -> None:
    """Give up on a dead letter, saying why. It stays in the store."""
    discard(state_of(ctx).app(), payload, reason)
    out.print(f"discarded {payload}", markup=False)


@intake_app.command("drain")
def drain_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Process payloads left pending (after a crash or a busy database), oldest first."""
    _report(drain(state_of(ctx).app()), as_json)


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
            f"last accepted {s['last_accepted_at'] or 'never'}",
            markup=False,
        )
