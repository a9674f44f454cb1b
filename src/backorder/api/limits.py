"""A limit on the size of request bodies (`BACKORDER_MAX_BODY_BYTES`), answered with 413 as a
problem document: a body that says it is larger (Content-Length, which the server holds the
client to) is refused before it is read; a chunked one, which says nothing, is read here up
to the limit and refused as soon as it passes it, else handed on whole."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backorder.api.problems import PROBLEM, problem


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        problem(
            413,
            "body-too-large",
            "Request body too large",
            f"the request body is larger than {limit:,} bytes",
        ),
        status_code=413,
        media_type=PROBLEM,
    )


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "chunked" not in headers.get("transfer-encoding", ""):
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        body = bytearray()
        for _ in range(self.limit + 2):  # each part but the last brings a byte at least
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replaying(message, receive), send)
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                break
            if not message.get("more_body", False):
                whole: Message = {"type": "http.request", "body": bytes(body), "more_body": False}
                await self.app(scope, _replaying(whole, receive), send)
                return
        await _too_large(self.limit)(scope, receive, send)


def _replaying(first: Message, receive: Receive) -> Receive:
    """A receive that gives `first`, then what the client sends next (its disconnect)."""
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def install(app: FastAPI, limit: int) -> None:
    """Limit the bodies of every request: outside every middleware that reads one."""
    app.add_middleware(BodyLimit, limit=limit)
