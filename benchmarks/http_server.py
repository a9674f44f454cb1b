"""The API as `backorder serve` runs it, plus one route for the benchmark's floor:
POST /bench/bare parses the same canonical order JSON through the same app and middleware,
and does nothing else (no key check, no database, no worker thread: it answers on the event
loop, the least a request can cost in this app).

    python benchmarks/http_server.py DATABASE_URL PORT
"""

from __future__ import annotations

import sys

from backorder.api.app import create_app, serve
from backorder.canonical import OrderIn
from backorder.config import Settings
from backorder.services.context import Backorder


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    app = create_app(Backorder.open(Settings(), url))

    @app.post("/bench/bare", status_code=201)
    async def bare(body: OrderIn) -> dict[str, int]:
        return {"lines": len(body.lines)}

    serve(app, "127.0.0.1", port)


if __name__ == "__main__":
    main()
