"""A real `backorder serve` process per test module and backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.live import Server, cli, make_keys, serving


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server on a fresh database of each backend, with one product and a key per role."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}"
    else:
        url = request.getfixturevalue("postgres_databases").create()
    cli(url, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    keys = make_keys(url)
    with serving(url) as base:
        yield Server(base, keys, url)
