"""Commands for API keys and the HTTP server."""

from __future__ import annotations

from typing import Annotated

import typer

from backorder.cli.common import JsonFlag, emit, moment, out, state_of
from backorder.domain.access import Role
from backorder.services.apikeys import create_key, list_keys, revoke_key

apikey_app = typer.Typer(no_args_is_help=True, help="API keys for the HTTP API.")


@apikey_app.command("create")
def apikey_create(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(help="admin, ops, channel or viewer.")],
    name: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Mint a key. It is printed once; only its hash is stored."""
    new = create_key(state_of(ctx).app(), role, name)
    if as_json:
        emit({"key": new.key, "role": new.role.value, "name": new.name, "id": new.id})
    else:
        out.print(
            f"{new.key}\n(id {new.id}, role {new.role.value}: keep it now, it is not shown again)",
            markup=False,
        )


@apikey_app.command("list")
def apikey_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Keys by id, role and prefix (never the key itself)."""
    keys = list_keys(state_of(ctx).app())
    if as_json:
        emit(keys)
        return
    for key in keys:
        state = f"revoked {moment(key['revoked_at'])}" if key["revoked_at"] else "active"
        out.print(
            f"{key['id']:>4} {key['prefix']}… {key['role']:<8} {state:<24} {key['name']}",
            markup=False,
        )


@apikey_app.command("revoke")
def apikey_revoke(ctx: typer.Context, key_id: int) -> None:
    """Revoke a key by id; requests with it are refused from now on."""
    revoke_key(state_of(ctx).app(), key_id)
    out.print(f"revoked key {key_id}")


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (uvicorn's process manager restarts one that dies); "
            "1: this process serves.",
        ),
    ] = 1,
) -> None:
    """Run the HTTP API on the configured database."""
    # Imported here: the web stack costs every other command half a second of start-up.
    from backorder.api.app import create_app
    from backorder.api.app import serve as serve_api
    from backorder.api.workers import FACTORY, environment_for_workers

    state = state_of(ctx)
    backorder = state.app(wait=True)  # waited for and migrated once, before any process
    if workers == 1:
        serve_api(create_app(backorder), host, port)
        return
    backorder.close()  # the processes open their own
    with environment_for_workers(state.url):
        serve_api(FACTORY, host, port, workers)
