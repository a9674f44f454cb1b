"""A real API server (uvicorn on a free port) per test module and backend."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.products import add_product
from tests.api.live import Server, make_keys, serving
from tests.factories import product


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server on a fresh database of each backend, with one product and a key per role.
    The database is set up in this process (a migrated copy, the product and the keys): as
    commands, that took seconds per module and backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("api") / "api.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_databases").create()
    app = Backorder.open(Settings(database_url=url))
    try:
        add_product(app, product("WIDGET-BLUE", name="Blue widget"))
    finally:
        app.close()
    keys = make_keys(url)
    with serving(url) as base:
        yield Server(base, keys, url)
