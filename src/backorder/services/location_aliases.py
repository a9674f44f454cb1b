"""A sender's own names for our locations: Shopify's `location_id` 655441491, a 3PL's
warehouse code "SB-EAST". A feed names its location its own way; the intake finds ours by an
alias made for the feed's channel, then by one made for the channel's family (`shopify`
serves `shopify-inventory`), then by our location's code itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from backorder.domain.errors import InvalidRequest, UnknownLocation
from backorder.intake import family, sender_known
from backorder.services.context import Backorder
from backorder.store.tables import location_aliases, locations


def _checked(channel: str, external_id: str) -> tuple[str, str]:
    sender_known(channel)
    external_id = external_id.strip()
    if not external_id or len(external_id) > 128 or "\x00" in external_id:
        raise InvalidRequest("the sender's location id must be 1 to 128 characters")
    return channel, external_id


def _location_id(conn: Connection, code: str) -> int:
    found = conn.execute(select(locations.c.id).where(locations.c.code == code)).scalar()
    if found is None:
        raise UnknownLocation(code)
    return int(found)


def add_alias(app: Backorder, code: str, channel: str, external_id: str) -> dict[str, Any]:
    """Let `channel` name location `code` as `external_id` (replacing what it named)."""
    channel, external_id = _checked(channel, external_id)
    with app.db.write() as uow:
        conn = uow.connection
        location = _location_id(conn, code)
        key = (location_aliases.c.channel == channel) & (
            location_aliases.c.external_id == external_id
        )
        if conn.execute(select(func.count()).where(key)).scalar_one():
            conn.execute(update(location_aliases).where(key).values(location_id=location))
        else:
            conn.execute(
                insert(location_aliases).values(
                    channel=channel,
                    external_id=external_id,
                    location_id=location,
                    created_at=app.now(),
                )
            )
        uow.commit()
    return {"location": code, "channel": channel, "id": external_id}


def remove_alias(app: Backorder, code: str, channel: str, external_id: str) -> None:
    channel, external_id = _checked(channel, external_id)
    with app.db.write() as uow:
        location = _location_id(uow.connection, code)
        gone = uow.connection.execute(
            delete(location_aliases).where(
                location_aliases.c.channel == channel,
                location_aliases.c.external_id == external_id,
                location_aliases.c.location_id == location,
            )
        ).rowcount
        if gone != 1:
            raise InvalidRequest(f"{channel} names no location {external_id!r} as {code}")
        uow.commit()


def aliases(app: Backorder, code: str | None = None) -> list[dict[str, Any]]:
    """The aliases of one location (or of all), by channel then id."""
    a = location_aliases.c
    query = select(locations.c.code, a.channel, a.external_id).join(
        locations, locations.c.id == a.location_id
    )
    with app.db.read() as uow:
        if code is not None:
            _location_id(uow.connection, code)
            query = query.where(locations.c.code == code)
        rows = uow.connection.execute(query.order_by(locations.c.code, a.channel, a.external_id))
        return [{"location": r.code, "channel": r.channel, "id": r.external_id} for r in rows]


def resolve(conn: Connection, channel: str, name: str) -> int:
    """Our location's id for the name a feed gives it; InvalidRequest saying how to add an
    alias when there is none."""
    a = location_aliases.c
    found = dict(
        conn.execute(
            select(a.channel, a.location_id).where(
                a.channel.in_({channel, family(channel)}), a.external_id == name
            )
        ).all()
    )
    for sender in (channel, family(channel)):  # the feed's own alias wins
        if sender in found:
            return int(found[sender])
    by_code = conn.execute(
        select(locations.c.id).where(locations.c.code.in_({name, name.lower()}))
    ).scalar()
    if by_code is not None:
        return int(by_code)
    raise InvalidRequest(
        f"unknown location {name!r} from {channel}: no alias and no location with that code "
        f"(add one: backorder location alias CODE --channel {family(channel)} --id {name})"
    )
