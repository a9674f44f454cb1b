"""Stock across locations: the locations, each SKU's stock at each, and what each line
holds where. The product row keeps the network's sums, written in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import StockLevel
from backorder.domain.sourcing import Site
from backorder.store.tables import line_holdings, locations, stock_levels


def site_from_row(row: RowMapping) -> Site:
    ships = row["ships_to"]
    return Site(
        id=int(row["id"]),
        code=row["code"],
        priority=int(row["priority"]),
        transit_days=int(row["transit_days"]),
        ships_to=tuple(ships) if ships else None,
        accepts_backorders=bool(row["accepts_backorders"]),
        active=bool(row["active"]),
    )


def all_sites(conn: Connection) -> list[Site]:
    rows = conn.execute(select(locations).order_by(locations.c.code)).mappings()
    return [site_from_row(row) for row in rows]


def site_named(sites: Iterable[Site], code: str) -> Site:
    for site in sites:
        if site.code == code:
            return site
    raise InvalidRequest(f"no location {code!r}: backorder location list shows them")


def load_levels(conn: Connection, product_ids: Sequence[int]) -> dict[int, dict[int, StockLevel]]:
    """Stock per location of these products: product id -> location id -> level."""
    found: dict[int, dict[int, StockLevel]] = {pid: {} for pid in product_ids}
    if not product_ids:
        return found
    query = select(stock_levels).where(
        stock_levels.c.product_id.in_(bindparam("ids", expanding=True))
    )
    for row in conn.execute(query, {"ids": list(product_ids)}).mappings():
        found[row["product_id"]][row["location_id"]] = StockLevel(row["on_hand"], row["allocated"])
    return found


def _upsert(conn: Connection, table: Any, keys: list[str], add: bool) -> Any:
    return _upsert_in(conn.dialect.name, table, tuple(keys), add)


@cache
def _upsert_in(dialect_name: str, table: Any, keys: tuple[str, ...], add: bool) -> Any:
    """The statement, built once per dialect (every order and receipt runs it)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    if add:
        sets = {"allocated": table.c.allocated + stmt.excluded.allocated}
    else:
        sets = {"on_hand": stmt.excluded.on_hand, "allocated": stmt.excluded.allocated}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=sets)


def save_levels(conn: Connection, levels: list[tuple[int, int, StockLevel]]) -> None:
    """Rows of (product id, location id, level)."""
    if not levels:
        return
    conn.execute(
        _upsert(conn, stock_levels, ["product_id", "location_id"], add=False),
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
        conn.execute(_upsert(conn, line_holdings, ["line_id", "location_id"], add=True), more)
    if fewer:
        held = line_holdings.c
        conn.execute(
            update(line_holdings)
            .where(held.line_id == bindparam("lid"), held.location_id == bindparam("loc"))
            .values(allocated=held.allocated + bindparam("units")),
            [
                {"lid": r["line_id"], "loc": r["location_id"], "units": r["allocated"]}
                for r in fewer
            ],
        )
        # a line that holds nothing at a location has no row there
        conn.execute(
            delete(line_holdings).where(
                line_holdings.c.line_id.in_(sorted({r["line_id"] for r in fewer})),
                line_holdings.c.allocated == 0,
            )
        )


def holdings_of(conn: Connection, line_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """What each line holds at each location: line id -> location id -> units."""
    found: dict[int, dict[int, int]] = {line: {} for line in line_ids}
    if not line_ids:
        return found
    query = select(line_holdings).where(
        line_holdings.c.line_id.in_(list(line_ids)), line_holdings.c.allocated > 0
    )
    for row in conn.execute(query).mappings():
        found[row["line_id"]][row["location_id"]] = row["allocated"]
    return found


def add_location(conn: Connection, values: dict[str, Any], now: datetime) -> None:
    conn.execute(locations.insert().values(**values, created_at=now, updated_at=now))
