"""Stock across locations: the locations, each SKU's stock at each, and what each line
holds where. The product row keeps the network's sums, written in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import StockLevel
from backorder.domain.sourcing import Site
from backorder.store.tables import line_holdings, locations, stock_levels


def site_from_row(row: RowMapping, prefix: str = "") -> Site:
    """A location's row (its columns named with `prefix` when read beside others)."""
    ships = row[f"{prefix}ships_to"]
    return Site(
        id=int(row[f"{prefix}id"]),
        code=row[f"{prefix}code"],
        priority=int(row[f"{prefix}priority"]),
        transit_days=int(row[f"{prefix}transit_days"]),
        ships_to=tuple(ships) if ships else None,
        accepts_backorders=bool(row[f"{prefix}accepts_backorders"]),
        active=bool(row[f"{prefix}active"]),
    )


# Statements built once: building one per call costs more than SQLite takes to run it.
_ALL_SITES = select(locations).order_by(locations.c.code)
_HOLDINGS = select(line_holdings).where(
    line_holdings.c.line_id.in_(bindparam("ids", expanding=True)), line_holdings.c.allocated > 0
)
_HOLD_FEWER = (
    update(line_holdings)
    .where(
        line_holdings.c.line_id == bindparam("lid"),
        line_holdings.c.location_id == bindparam("loc"),
    )
    .values(allocated=line_holdings.c.allocated + bindparam("units"))
)
_DROP_EMPTY = delete(line_holdings).where(
    line_holdings.c.line_id.in_(bindparam("ids", expanding=True)),
    line_holdings.c.allocated == 0,
)


def _upserts() -> dict[tuple[str, str], Any]:
    built: dict[tuple[str, str], Any] = {}
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite)):
        levels = dialect.insert(stock_levels)
        built[name, "levels"] = levels.on_conflict_do_update(
            index_elements=["product_id", "location_id"],
            set_={"on_hand": levels.excluded.on_hand, "allocated": levels.excluded.allocated},
        )
        held = dialect.insert(line_holdings)
        built[name, "holdings"] = held.on_conflict_do_update(
            index_elements=["line_id", "location_id"],
            set_={"allocated": line_holdings.c.allocated + held.excluded.allocated},
        )
    return built


_UPSERT = _upserts()


def _dialect(conn: Connection) -> str:
    return "postgresql" if conn.dialect.name == "postgresql" else "sqlite"


def all_sites(conn: Connection) -> list[Site]:
    return [site_from_row(row) for row in conn.execute(_ALL_SITES).mappings()]


def site_named(sites: Iterable[Site], code: str) -> Site:
    for site in sites:
        if site.code == code:
            return site
    raise InvalidRequest(f"no location {code!r}: backorder location list shows them")


def save_levels(conn: Connection, levels: list[tuple[int, int, StockLevel]]) -> None:
    """Rows of (product id, location id, level)."""
    if not levels:
        return
    conn.execute(
        _UPSERT[_dialect(conn), "levels"],
        [
            {"product_id": p, "location_id": loc, "on_hand": s.on_hand, "allocated": s.allocated}
            for p, loc, s in levels
        ],
    )


def change_holdings(conn: Connection, deltas: Iterable[tuple[int, int, int]]) -> None:
    """Rows of (line id, location id, units more (or fewer) held there)."""
    merged: dict[tuple[int, int], int] = {}
    for line, loc, units in deltas:
        merged[(line, loc)] = merged.get((line, loc), 0) + units
    rows = [
        {"line_id": line, "location_id": loc, "allocated": units}
        for (line, loc), units in sorted(merged.items())
        if units
    ]
    if not rows:
        return
    # the check (allocated >= 0) holds on the row an upsert would insert, so units given
    # back are an update of the row that holds them
    more = [r for r in rows if r["allocated"] > 0]
    fewer = [r for r in rows if r["allocated"] < 0]
    if more:
        conn.execute(_UPSERT[_dialect(conn), "holdings"], more)
    if fewer:
        conn.execute(
            _HOLD_FEWER,
            [
                {"lid": r["line_id"], "loc": r["location_id"], "units": r["allocated"]}
                for r in fewer
            ],
        )
        # a line that holds nothing at a location has no row there
        conn.execute(_DROP_EMPTY, {"ids": sorted({r["line_id"] for r in fewer})})


def holdings_of(conn: Connection, line_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """What each line holds at each location: line id -> location id -> units."""
    found: dict[int, dict[int, int]] = {line: {} for line in line_ids}
    if not line_ids:
        return found
    for row in conn.execute(_HOLDINGS, {"ids": list(line_ids)}).mappings():
        found[row["line_id"]][row["location_id"]] = row["allocated"]
    return found


def add_location(conn: Connection, values: dict[str, Any], now: datetime) -> None:
    conn.execute(locations.insert().values(**values, created_at=now, updated_at=now))
