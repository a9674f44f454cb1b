"""`backorder risk …`: the backorder-risk model: train it (on a Kaggle-format file or our
own history), score a file, list the stored versions, and our SKUs highest risk first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from backorder.cli.common import (
    BackorderGroup,
    JsonFlag,
    emit,
    figure,
    ident,
    moment,
    out,
    state_of,
    table,
)
from backorder.domain.errors import InvalidRequest
from backorder.services import risk

risk_app = typer.Typer(
    cls=BackorderGroup,
    no_args_is_help=True,
    help="Backorder risk: the probability a SKU goes on backorder within 8 weeks, and why.",
)

Format = Annotated[str, typer.Option("--format", help="The file's format: kaggle.")]


def _metrics(metrics: dict[str, Any]) -> str:
    def pm(name: str) -> str:
        sd = metrics.get(f"{name}_sd")
        return f"{metrics.get(name)}" + (f" ± {sd}" if sd is not None else "")

    return (
        f"ROC-AUC {pm('roc_auc')}, PR-AUC {pm('pr_auc')} "
        f"({metrics.get('folds', '?')}-fold cross-validation over {metrics.get('rows', 0):,} "
        f"rows, {metrics.get('positives', 0):,} went on backorder)"
    )


@risk_app.command("train")
def train(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="A labelled CSV file (with went_on_backorder).")
    ] = None,
    fmt: Format = "kaggle",
    own: Annotated[
        bool, typer.Option("--own", help="Train on our own history instead of a file.")
    ] = False,
    model_out: Annotated[
        Path | None, typer.Option("--out", help="Also write the model to this file.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Train a model, measure it on rows it did not see, store it as the active version.

    Measured by stratified 5-fold cross-validation, then fitted on every row."""
    if (file is None) == (not own):
        raise InvalidRequest("give a FILE to train on, or --own for our history (not both)")
    app = state_of(ctx).app()
    with out.status("training (cross-validating, then fitting on every row)…"):
        if own:
            done = risk.train_own(app, out=model_out)
        else:
            assert file is not None
            done = risk.train_file(app, file, fmt, model_out)
    if as_json:
        emit(done)
        return
    out.print(
        f"risk model version {done['version']} ({done['source']}) is active: "
        + _metrics(done["metrics"]),
        markup=False,
    )
    if model_out is not None:
        out.print(f"written to {model_out}", markup=False)


@risk_app.command("score")
def score(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV file of SKUs and their features.")],
    scores: Annotated[Path, typer.Option("--out", help="Where to write sku,probability.")],
    fmt: Format = "kaggle",
    model: Annotated[
        Path | None, typer.Option("--model", help="A model file written by `risk train --out`.")
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="A stored version (default: the active).")
    ] = None,
) -> None:
    """Score every row of a file: one `sku,probability` row each."""
    if model is not None and version is not None:
        raise InvalidRequest("give --model or --version, not both")
    app = state_of(ctx).app()
    rows = risk.score_file(app, file, fmt, scores, model if model is not None else version)
    out.print(f"{rows:,} rows scored into {scores}", markup=False)


@risk_app.command("models")
def list_models(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The stored model versions, newest first, with their metrics."""
    found = risk.models(state_of(ctx).app())
    if as_json:
        emit(found)
        return
    if not found:
        out.print("no risk models yet: backorder risk train FILE.csv --format kaggle")
        return
    grid = table(
        figure("version"),
        "source",
        figure("ROC-AUC"),
        figure("PR-AUC"),
        figure("rows"),
        figure("positives"),
        "created",
    )
    for m in found:
        metrics = m["metrics"]
        grid.add_row(
            f"{m['version']}{' *' if m['active'] else ''}",
            m["source"],
            str(metrics.get("roc_auc", "")),
            str(metrics.get("pr_auc", "")),
            f"{metrics.get('rows', 0):,}",
            f"{metrics.get('positives', 0):,}",
            moment(m["created_at"]),
        )
    out.print(grid)
    out.print("* active; metrics from cross-validation on rows each fold did not train on")


@risk_app.command("list")
def list_risk(
    ctx: typer.Context,
    top: Annotated[int, typer.Option(min=1, max=10_000, help="How many SKUs.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Our SKUs, highest risk first, with the reasons (from the latest scoring)."""
    found = risk.risk_list(state_of(ctx).app(), top)
    if as_json:
        emit(found)
        return
    if not found:
        out.print("no SKUs scored yet: backorder risk refresh")
        return
    grid = table(ident("SKU", [r["sku"] for r in found]), figure("risk"), "top reasons")
    for r in found:
        shown = f"{r['probability']:.0%}" if r["probability"] >= 0.005 else "<1%"
        grid.add_row(r["sku"], shown, "; ".join(r["reasons"]) or "-")
    out.print(grid)


@risk_app.command("refresh")
def refresh(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Score every SKU now with the active model (the worker does it nightly)."""
    done = risk.score_all(state_of(ctx).app())
    if as_json:
        emit(done)
        return
    out.print(
        f"{done['scored']:,} SKUs scored; risk_high alerts raised {done['raised']}, "
        f"resolved {done['resolved']}",
        markup=False,
    )
