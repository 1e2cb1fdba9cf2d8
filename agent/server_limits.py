"""Rate limits for the web server: per-key moving windows from the `limits` library, in memory.
and a request-body size cap answered with the API's JSON error."""

from __future__ import annotations

import json
import time

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RateLimit:
    """`spec` in the `limits` notation: "20/minute", or several joined by ";" ("5/5seconds;20/minute").
    A request is counted only if every window has room, so a refused request costs nothing.

    In memory, per process: with several worker processes each has its own counters (the limit is
    then per worker); put a shared storage (`limits` supports Redis, Memcached) behind it if needed."""

    def __init__(self, spec: str, storage: MemoryStorage | None = None):
        self.spec = spec
        self.items = parse_many(spec)
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    def hit(self, key: str) -> float | None:
        """Count one request for `key`; None if allowed, else the seconds to wait before retrying."""
        full = [item for item in self.items if not self._limiter.test(item, key)]
        if full:
            reset = max(self._limiter.get_window_stats(item, key).reset_time for item in full)
            return max(1.0, reset - time.time())
        for item in self.items:
            self._limiter.hit(item, key)
        return None

    def reset(self) -> None:
        self._limiter.storage.reset()


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
