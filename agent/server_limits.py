"""Rate limits for the web server, in the `limits` notation and counted in the agent's records (shared
by every worker), a request-body size cap answered with the API's JSON error, and the `X-Worker`
header (which worker process answered)."""

from __future__ import annotations

import json
import os

from limits import parse_many
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.records import Records


class RateLimit:
    """`spec` in the `limits` notation: "20/minute", or several joined by ";" ("5/5seconds;20/minute").
    Counted in the agent's records (fixed windows, one row per key and window), so every worker
    process shares the same budget. A request is counted only if every window has room, so a refused
    request costs nothing."""

    def __init__(self, spec: str, records: Records, name: str):
        self.spec = spec
        self.windows = [(item.amount, item.get_expiry()) for item in parse_many(spec)]
        self.records = records
        self.name = name

    def hit(self, key: str) -> float | None:
        """Count one request for `key`; None if allowed, else the seconds to wait before retrying."""
        return self.records.hit(f"{self.name}:{key}", self.windows)


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is too large.")


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413 and the API's JSON error: at once when the
    declared Content-Length is over, else when the streamed body passes the limit (raised from
    `receive` as an HTTPException, so the app's handler answers it). FastAPI's own `max_body_size`
    answers the first case in plain text, hence this."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            body = json.dumps({"error": {"code": "body_too_large",
                                         "message": f"The request body is larger than {self.max_bytes} bytes."}})
            await Response(body, status_code=413, media_type="application/json",
                           headers={"Connection": "close"})(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited_receive, send)


class WorkerHeader:
    """Every HTTP response says which worker process answered it (`X-Worker: <pid>`), as /health does:
    with `serve --workers N`, a user or a test can see a session move between workers."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.header = (b"x-worker", str(os.getpid()).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_worker)
