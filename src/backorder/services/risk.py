"""Backorder risk: train and store models, score files and our own SKUs, keep the
`risk_high` alert.

A new install has no model: none is shipped (the public training data may not be), none
is fetched. It gets one from `backorder risk train FILE --format kaggle` (a file in the
public product-backorders format, e.g. that data set), and, once its own history holds
enough outcomes (`BACKORDER_RISK_RETRAIN_MIN_OUTCOMES` weekly snapshots that went on
backorder within 8 weeks and as many that did not), from `backorder risk train --own` or
the worker's nightly pass, which then retrains at most every `BACKORDER_RISK_RETRAIN_DAYS`.
Until a model exists, scoring says so and the worker's pass notes it and does nothing.

Training and scoring run outside any transaction; what they produce is written in one."""

from __future__ import annotations

import csv
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from backorder.domain.alerts import Raise, alert_key
from backorder.domain.errors import BackorderError, InvalidRequest, UnknownSku
from backorder.foresight import require
from backorder.services import risk_features
from backorder.services.alerts import raise_alert, resolve_alert
from backorder.services.context import Backorder
from backorder.store.db import batches
from backorder.store.tables import alerts, products, risk_models, risk_runs, risk_scores

log = logging.getLogger(__name__)

FORMATS = ("kaggle",)
BATCH = 1000
OWN_WEEKS = 52  # weekly snapshots of our history looked at when retraining
TOP_REASONS = 3


class NoRiskModel(BackorderError):
    def __init__(self) -> None:
        super().__init__(
            "no backorder-risk model yet: run `backorder risk train FILE.csv --format kaggle`"
            " (or `backorder risk train --own` once our history has enough outcomes)"
        )


def _format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def _store(app: Backorder, model: Any, metrics: dict[str, Any], source: str, by: str) -> int:
    """The new version, active; the others not."""
    with app.db.write() as uow:
        conn = uow.connection
        conn.execute(update(risk_models).where(risk_models.c.active).values(active=False))
        version = conn.execute(
            insert(risk_models).returning(risk_models.c.id),
            {
                "created_at": app.now(),
                "source": source,
                "algorithm": model.algorithm,
                "features": list(model.features),
                "metrics": metrics,
                "model": model.to_bytes(),
                "active": True,
                "created_by": by[:200],
            },
        ).scalar_one()
        uow.commit()
    return int(version)


def train_file(
    app: Backorder, path: Path, fmt: str, out: Path | None = None, by: str = "cli"
) -> dict[str, Any]:
    """Train on a labelled file, measured by 5-fold cross-validation, stored as the new
    active version (and written to `out` when given). A bad file stores nothing."""
    require("the backorder-risk model")
    from backorder.foresight import risk

    _format(fmt)
    data = risk.read_kaggle(path, labelled=True)
    assert data.y is not None
    metrics = risk.cross_validate(data.x, data.y).metrics(data.y)
    model = risk.fit(data.x, data.y)
    if out is not None:
        out.write_bytes(model.to_bytes())
    version = _store(app, model, metrics | {"file": path.name}, "kaggle", by)
    return {"version": version, "source": "kaggle", "metrics": metrics}


def train_own(app: Backorder, by: str = "cli", out: Path | None = None) -> dict[str, Any]:
    """Train on our own history (weekly snapshots, labelled by what followed within 8
    weeks) once it holds enough outcomes of both kinds; refused, storing nothing, before."""
    require("the backorder-risk model")
    import numpy as np

    from backorder.foresight import risk

    with app.db.read() as uow:
        rows, labels = risk_features.snapshots(uow.connection, app.now(), OWN_WEEKS)
    y = np.array(labels, dtype=np.float64)
    positives, needed = int(y.sum()), app.settings.risk_retrain_min_outcomes
    if min(positives, len(y) - positives) < needed:
        raise InvalidRequest(
            f"our history has {positives} weekly SKU snapshot(s) that went on backorder within "
            f"8 weeks and {len(y) - positives} that did not; {needed} of each are needed "
            "(BACKORDER_RISK_RETRAIN_MIN_OUTCOMES)"
        )
    x = _matrix(rows)
    metrics = risk.cross_validate(x, y).metrics(y)
    model = risk.fit(x, y)
    if out is not None:
        out.write_bytes(model.to_bytes())
    version = _store(app, model, metrics | {"weeks": OWN_WEEKS}, "own", by)
    return {"version": version, "source": "own", "metrics": metrics}


def _matrix(rows: list[dict[str, float | None]]) -> Any:
    import numpy as np

    from backorder.foresight.risk import FEATURES

    return np.array(
        [[np.nan if row.get(name) is None else row[name] for name in FEATURES] for row in rows],
        dtype=np.float64,
    ).reshape(len(rows), len(FEATURES))


def _load(app: Backorder, version: int | None = None) -> tuple[int, Any]:
    from backorder.foresight.risk import RiskModel

    query = select(risk_models.c.id, risk_models.c.model)
    query = query.where(
        risk_models.c.active if version is None else risk_models.c.id == version
    ).order_by(risk_models.c.id.desc())
    with app.db.read() as uow:
        row = uow.connection.execute(query.limit(1)).first()
    if row is None:
        if version is not None:
            raise InvalidRequest(f"no risk model version {version}: backorder risk models")
        raise NoRiskModel()
    return int(row[0]), RiskModel.from_bytes(bytes(row[1]))


def score_file(
    app: Backorder, path: Path, fmt: str, out: Path, source: Path | int | None = None
) -> int:
    """`sku,probability` per input row, by the active model, a stored version (an int) or
    a model file this product wrote; the number of rows written."""
    require("the backorder-risk model")
    from backorder.foresight.risk import RiskModel, read_kaggle

    _format(fmt)
    if isinstance(source, Path):
        try:
            model = RiskModel.from_bytes(source.read_bytes())
        except FileNotFoundError as error:
            raise InvalidRequest(f"no such model file: {source}") from error
    else:
        model = _load(app, source)[1]
    data = read_kaggle(path, labelled=False)
    probability = model.probability(data.x)
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "probability"])
        writer.writerows((sku, f"{p:.6f}") for sku, p in zip(data.skus, probability, strict=True))
    return len(data.skus)


def models(app: Backorder) -> list[dict[str, Any]]:
    """Every stored version, newest first, with its metrics."""
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(
                risk_models.c.id,
                risk_models.c.created_at,
                risk_models.c.source,
                risk_models.c.algorithm,
                risk_models.c.metrics,
                risk_models.c.active,
                risk_models.c.created_by,
            ).order_by(risk_models.c.id.desc())
        ).mappings()
        return [
            {
                "version": r["id"],
                "created_at": r["created_at"].isoformat(),
                "source": r["source"],
                "algorithm": r["algorithm"],
                "active": bool(r["active"]),
                "created_by": r["created_by"],
                "metrics": r["metrics"],
            }
            for r in rows
        ]


def score_all(app: Backorder) -> dict[str, int]:
    """Score every SKU with the active model and keep `risk_high`, in one transaction:
    `scored`, `raised`, `resolved`. No model: NoRiskModel."""
    require("the backorder-risk model")
    version, model = _load(app)
    now = app.now()
    with app.db.read() as uow:
        features = risk_features.current(uow.connection, now)
    skus = list(features)
    x = _matrix([features[sku] for sku in skus])
    probability = model.probability(x)
    reasons = model.reasons(x, TOP_REASONS)
    threshold = app.settings.risk_alert_threshold
    with app.db.write() as uow:
        conn = uow.connection
        ids = dict(conn.execute(select(products.c.sku, products.c.id)).all())
        conn.execute(delete(risk_scores))
        for chunk in batches(range(len(skus)), BATCH):
            rows = [
                {
                    "product_id": ids[skus[i]],
                    "model_id": version,
                    "scored_at": now,
                    "probability": float(probability[i]),
                    "features": features[skus[i]],
                    "reasons": reasons[i],
                }
                for i in chunk
                if skus[i] in ids  # a SKU removed meanwhile
            ]
            if rows:
                conn.execute(insert(risk_scores), rows)
        scores = {sku: float(p) for sku, p in zip(skus, probability, strict=True)}
        raised, resolved = _alerts(conn, scores, reasons, (threshold, now))
        uow.commit()
    return {"scored": len(skus), "raised": raised, "resolved": resolved}


def _alerts(
    conn: Connection,
    scores: dict[str, float],
    reasons: list[list[str]],
    limit: tuple[float, datetime],
) -> tuple[int, int]:
    """`risk_high` raised once for a SKU whose score is above the threshold, resolved when
    it falls back to it or below."""
    threshold, now = limit
    open_keys = set(
        conn.execute(
            select(alerts.c.key).where(alerts.c.kind == "risk_high", alerts.c.state == "open")
        ).scalars()
    )
    why = dict(zip(scores, reasons, strict=True))
    raised = resolved = 0
    for sku, p in sorted(scores.items()):  # bounded: one pass over the SKUs
        key = alert_key("risk_high", sku, None)
        if p > threshold and key not in open_keys:
            summary = f"{sku} may go on backorder within 8 weeks: risk {p:.0%}"
            facts = {"probability": round(p, 4), "threshold": threshold, "reasons": why[sku]}
            raise_alert(conn, Raise("risk_high", summary, facts, sku=sku), now)
            raised += 1
        elif p <= threshold and key in open_keys:
            resolved += resolve_alert(conn, key, f"risk back to {p:.0%}", now)
    return raised, resolved


def _view(row: Any) -> dict[str, Any]:
    return {
        "sku": row["sku"],
        "name": row["name"],
        "probability": round(float(row["probability"]), 4),
        "reasons": list(row["reasons"]),
        "features": row["features"],
        "model_version": row["model_id"],
        "scored_at": row["scored_at"].isoformat(),
    }


def _scores_query() -> Any:
    return select(
        products.c.sku,
        products.c.name,
        risk_scores.c.probability,
        risk_scores.c.reasons,
        risk_scores.c.features,
        risk_scores.c.model_id,
        risk_scores.c.scored_at,
    ).join(products, products.c.id == risk_scores.c.product_id)


def risk_list(app: Backorder, top: int = 20) -> list[dict[str, Any]]:
    """Our SKUs, highest risk first, from the latest scores."""
    if not 1 <= top <= 10_000:
        raise InvalidRequest(f"top must be 1 to 10000, got {top}")
    with app.db.read() as uow:
        conn = uow.connection
        rows = conn.execute(
            _scores_query().order_by(risk_scores.c.probability.desc(), products.c.sku).limit(top)
        ).mappings()
        found = [_view(r) for r in rows]
        if not found and conn.execute(select(func.count()).select_from(risk_models)).scalar() == 0:
            raise NoRiskModel()
    return found


def risk_of(app: Backorder, sku: str) -> dict[str, Any]:
    """One SKU's latest score; a SKU not scored yet says so."""
    with app.db.read() as uow:
        conn = uow.connection
        row = conn.execute(_scores_query().where(products.c.sku == sku)).mappings().first()
        if row is None:
            known = conn.execute(select(products.c.id).where(products.c.sku == sku)).first()
            if known is None:
                raise UnknownSku(sku)
            raise InvalidRequest(f"{sku} has no risk score yet: backorder risk refresh")
        return _view(row)


def nightly(app: Backorder) -> dict[str, int]:
    """The worker's pass, once a day: retrain on our history when that is due and possible,
    then score every SKU. Counts only of what it did."""
    now = app.now()
    with app.db.read() as uow:
        ran = uow.connection.execute(
            select(risk_runs.c.day).where(risk_runs.c.day == now.date())
        ).first()
    if ran is not None:
        return {}
    try:
        with app.db.write() as uow:
            uow.connection.execute(insert(risk_runs), {"day": now.date(), "started_at": now})
            uow.commit()
    except IntegrityError:
        return {}  # another worker took the day
    trained, note = _retrain_if_due(app, now)
    scored = 0
    try:
        scored = score_all(app)["scored"]
    except NoRiskModel as error:
        note = note or str(error)
    with app.db.write() as uow:
        uow.connection.execute(
            update(risk_runs)
            .where(risk_runs.c.day == now.date())
            .values(scored=scored, trained_model_id=trained, note=note[:500] if note else None)
        )
        uow.commit()
    if note:
        log.info("risk pass: %s", note)
    return ({"risk_scored": scored} if scored else {}) | ({"risk_trained": 1} if trained else {})


def _retrain_if_due(app: Backorder, now: datetime) -> tuple[int | None, str | None]:
    since = now - timedelta(days=app.settings.risk_retrain_days)
    with app.db.read() as uow:
        recent = uow.connection.execute(
            select(risk_models.c.id).where(
                risk_models.c.source == "own", risk_models.c.created_at > since
            )
        ).first()
    if recent is not None:
        return None, None
    try:
        return int(train_own(app, by="worker")["version"]), None
    except InvalidRequest as error:
        return None, f"not retrained: {error}"
