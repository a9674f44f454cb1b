"""`backorder location …`: the places that hold stock."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from backorder.cli.common import BackorderGroup, JsonFlag, emit, out, state_of
from backorder.domain.errors import InvalidRequest
from backorder.services import location_aliases, locations
from backorder.words import count

location_app = typer.Typer(
    cls=BackorderGroup, no_args_is_help=True, help="Locations: warehouses, 3PLs, FBA, stores."
)

KindOpt = Annotated[str, typer.Option(help="own, 3pl, fba or store.")]
ShipsOpt = Annotated[
    str | None,
    typer.Option(
        "--ships-to", help="Countries it ships to, ISO codes separated by commas (US,CA)."
    ),
]
PriorityOpt = Annotated[int, typer.Option(help="Lower is sourced first.")]
TransitOpt = Annotated[int, typer.Option("--transit-days", help="Days to the customer.")]


def _countries(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    found = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    if not found:
        raise InvalidRequest("--ships-to names at least one country (leave it out: anywhere)")
    return found


def _line(view: dict[str, Any]) -> str:
    ships = f"to {', '.join(view['ships_to'])}" if view["ships_to"] else "anywhere"
    flags = [] if view["active"] else ["inactive"]
    if not view["accepts_backorders"]:
        flags.append("takes no backorders")
    if view["default"]:
        flags.append("default")
    extra = f" [{'; '.join(flags)}]" if flags else ""
    return (
        f"{view['code']} ({view['name']}, {view['kind']}): priority {view['priority']}, "
        f"{count(view['transit_days'], 'transit day')}, ships {ships}; "
        f"{count(view['skus'], 'SKU')}, {view['on_hand']} on hand, "
        f"{view['allocated']} allocated{extra}"
    )


def _print(view: dict[str, Any], done: str, as_json: bool) -> None:
    if as_json:
        emit(view)
    else:
        out.print(f"{done} {_line(view)}".strip(), markup=False)


@location_app.command("add")
def location_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE")],
    name: Annotated[str, typer.Option(help="The location's name.")],
    kind: KindOpt,
    ships_to: ShipsOpt = None,
    priority: PriorityOpt = 100,
    transit_days: TransitOpt = 0,
    no_backorders: Annotated[
        bool, typer.Option("--no-backorders", help="Its receipts do not serve waiting lines.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a location."""
    view = locations.add(
        state_of(ctx).app(),
        locations.LocationIn(
            code, name, kind, _countries(ships_to), priority, transit_days, not no_backorders
        ),
    )
    _print(view, "added", as_json)


@location_app.command("list")
def location_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Locations in sourcing order (priority, then transit days)."""
    views = locations.listing(state_of(ctx).app())
    if as_json:
        emit(views)
        return
    for view in views:
        out.print(_line(view), markup=False)


@location_app.command("show")
def location_show(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE")],
    as_json: JsonFlag = False,
) -> None:
    """A location and what it holds."""
    _print(locations.show(state_of(ctx).app(), code), "", as_json)


@location_app.command("update")
def location_update(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE")],
    name: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option(help="own, 3pl, fba or store.")] = None,
    ships_to: ShipsOpt = None,
    anywhere: Annotated[
        bool, typer.Option("--ships-anywhere", help="Ship to any country.")
    ] = False,
    priority: Annotated[int | None, typer.Option()] = None,
    transit_days: Annotated[int | None, typer.Option("--transit-days")] = None,
    backorders: Annotated[
        bool | None,
        typer.Option("--backorders/--no-backorders", help="Whether receipts serve the queue."),
    ] = None,
    orders_to: Annotated[
        str | None,
        typer.Option("--orders-to", help="3pl/fba: the URL its shipping orders are POSTed to."),
    ] = None,
    orders_format: Annotated[
        str | None, typer.Option("--orders-format", help="x12-940 (the default) or json.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a location."""
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "kind": kind,
            "ships_to": _countries(ships_to),
            "priority": priority,
            "transit_days": transit_days,
            "accepts_backorders": backorders,
            "orders_url": orders_to,
            "orders_format": orders_format,
        }.items()
        if v is not None
    }
    if anywhere:
        if ships_to is not None:
            raise InvalidRequest("--ships-to and --ships-anywhere contradict each other")
        changes["ships_to"] = None
    view = locations.update_location(state_of(ctx).app(), code, changes)
    _print(view, "updated", as_json)
    if view.get("orders_secret") and not as_json:
        out.print(
            f"shipping orders go to {view['orders_url']} as {view['orders_format']}, signed "
            f"with {view['orders_secret']} (shown this once)",
            markup=False,
        )


@location_app.command("deactivate")
def location_deactivate(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE")],
    as_json: JsonFlag = False,
) -> None:
    """Stop sourcing from a location (refused while it holds allocated units)."""
    view = locations.update_location(state_of(ctx).app(), code, {"active": False})
    _print(view, "deactivated", as_json)


ChannelOpt = Annotated[
    str,
    typer.Option(
        "--channel",
        help="The sender: a channel (x12-3pl, shopify-inventory) or its family (shopify, "
        "x12, stock), which serves all its channels.",
    ),
]
SenderIdOpt = Annotated[
    str, typer.Option("--id", help="The sender's own id for the location (655441491, SB-EAST).")
]


@location_app.command("alias")
def location_alias(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE")],
    channel: ChannelOpt,
    sender_id: SenderIdOpt,
) -> None:
    """Let a sender name this location by its own id; feeds naming it so are applied here
    (then `intake replay --all` for those kept as dead letters)."""
    alias = location_aliases.add_alias(state_of(ctx).app(), code, channel, sender_id)
    out.print(f"{alias['channel']} {alias['id']} -> {alias['location']}", markup=False)


@location_app.command("aliases")
def location_aliases_list(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Argument(metavar="[CODE]")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The names senders give a location (or every location)."""
    found = location_aliases.aliases(state_of(ctx).app(), code)
    if as_json:
        emit(found)
        return
    if not found:
        out.print("no aliases", markup=False)
    for alias in found:
        out.print(f"{alias['channel']} {alias['id']} -> {alias['location']}", markup=False)


@location_app.command("unalias")
def location_unalias(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE")],
    channel: ChannelOpt,
    sender_id: SenderIdOpt,
) -> None:
    """Remove a sender's name for a location."""
    location_aliases.remove_alias(state_of(ctx).app(), code, channel, sender_id)
    out.print(f"removed {channel} {sender_id} -> {code}", markup=False)
