"""The HTTP API and the chat widget: a FastAPI app that embeds one SupportAgent.

    app = create_app(SupportAgent("support_agent.db", model="local"),
                     allowed_origins=["https://shop.example.com"])
    uvicorn.run(app)            # or: support-agent serve

Endpoints (JSON unless noted; errors are always `{"error": {"code", "message"}}` with a proper status):

    POST /api/sessions                                      -> 201 {session_id, token}
    POST /api/sessions/{id}/messages   {"text": "..."}      -> SSE: the turn's events
    POST /api/sessions/{id}/actions/{action_id}/confirm     -> SSE: the resolution's events
    POST /api/sessions/{id}/actions/{action_id}/decline     -> SSE: the resolution's events
    GET  /api/sessions/{id}/transcript                      -> {session_id, messages, pending_action, busy}
    GET  /health                                            -> {status, model, model_state, worker, store}

Every response carries `X-Worker: <pid>`, the worker process that answered (`worker` in /health).
    GET  /  /widget.js  /widget.css                         -> the demo shop page and the widget

Every /api/sessions/{id}/... call carries `Authorization: Bearer <token>` (the token returned at
creation, for that session only). SSE events are named after the runtime's event types
(`text_delta`, `text_reset`, `tool_call`, `tool_result`, `confirmation_requested`,
`action_resolved`, `turn_done`, `error`) with the event's data as JSON.

Errors (code, status): missing_token 401, bad_token 404 (a wrong token is answered like an unknown
session, so it never tells whether the session exists), unknown_session 404, unknown_action 404,
empty_message 422, invalid_request 422 (malformed body), message_too_long 413, body_too_large 413,
turn_in_progress 409, action_not_pending 409, rate_limited 429 (with Retry-After), store_busy 503 (the
database stayed locked; with Retry-After), internal_error 500.
A failure inside a turn is not an HTTP error: the stream carries an `error` event (a crash of the
runtime becomes {"code": "turn_failed"} with a calm message; the details go to the log only).

The turn runs in a worker thread (the runtime's `astream`), so a slow model never blocks the event
loop. The server allows one turn at a time per session (409 otherwise, only once the token is
checked) and keeps that claim until the turn has really finished, even if the client went away
mid-stream. The claim and the rate limits are rows in the agent's records (atomic conditional
upserts), so any number of worker processes share them; a claim expires `claim_seconds` after its
last renewal, so a worker killed mid-turn does not block the session. The client address is the
connection's, or X-Forwarded-For's when the connection comes from one of `trusted_proxies`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from agent.labels import WIDGET, labels
from agent.language import has_catalog, locale_name
from agent.events import Event
from agent.server_limits import BodySizeLimit, RateLimit, WorkerHeader
from agent.session import Session
from agent.support_agent import SupportAgent
from tools.i18n import ENGLISH
from tools.errors import StoreError

log = logging.getLogger("agent.server")

WEB_DIR = Path(__file__).parent / "web"
_SESSION_ID = re.compile(r"^s_[A-Za-z0-9_-]{8,64}$")
_ACTION_ID = re.compile(r"^act_[A-Za-z0-9_-]{4,64}$")
TURN_FAILED = ("Sorry, something went wrong on our side while answering. Nothing you already did is "
               "lost; please try again in a moment.")
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "body_too_large",
                 415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited"}


def _sse(event: Event) -> bytes:
    return ServerSentEvent(data=json.dumps(event.data, ensure_ascii=False, default=str), event=event.type,
                           sep="\n").encode()


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class MessageIn(BaseModel):
    text: str


class SessionOut(BaseModel):
    session_id: str
    token: str
    lang: str


def create_app(agent: SupportAgent, *, allowed_origins: Sequence[str] = (), max_message_chars: int = 2000,
               rate_limit: str | None = "20/minute", session_rate_limit: str | None = "30/minute",
               max_body_bytes: int = 32 * 1024, turn_threads: int = 64, sse_ping_seconds: float = 15,
               web_dir: Path | None = None, trusted_proxies: Sequence[str] = (),
               claim_seconds: float = 120) -> FastAPI:
    """The app for one agent (one store, one loaded model, shared by all sessions).

    allowed_origins: origins (e.g. "https://shop.example.com") whose pages may call the API (CORS);
        the server's own pages (the demo at /) need none. "*" allows any.
    max_message_chars: a longer customer message is refused with 413.
    rate_limit: turns (messages, confirms, declines) per session, `limits` notation ("20/minute",
        "5/5seconds;20/minute"); None disables it. 429 with Retry-After when exceeded.
    session_rate_limit: session creations per client address; None disables it.
    max_body_bytes: request bodies larger than this are refused with 413.
    turn_threads: worker threads for turns (the loop's default executor; a turn holds one while
        the model works, so this bounds the turns in flight with a remote model).
    trusted_proxies: addresses or CIDRs (e.g. "10.0.0.0/8") of reverse proxies whose X-Forwarded-For
        is believed; from anyone else it is ignored. Empty (default): the connection's address.
    claim_seconds: how long a turn's claim on its session lasts without renewal (renewed while the
        turn runs); after a crash the session is free again this long after the last renewal.
    """
    web = web_dir or WEB_DIR
    records = agent.records
    turns = RateLimit(rate_limit, records, "turns") if rate_limit else None
    creations = RateLimit(session_rate_limit, records, "sessions") if session_rate_limit else None
    worker = f"{os.getpid()}-{secrets.token_hex(4)}"  # owner of this process's claims
    pumps: set[asyncio.Task] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(max_workers=turn_threads, thread_name_prefix="turn")
        asyncio.get_running_loop().set_default_executor(executor)
        try:
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="Support agent", version="0.1.0", lifespan=lifespan,
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.agent = agent
    app.state.model_state = "ready"  # `serve` sets "warming" / "ready" / "failed" while it warms
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    if trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))
    app.add_middleware(  # errors from the limits above carry CORS headers too
        CORSMiddleware, allow_origins=list(allowed_origins), allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After", "X-Worker"], max_age=600)
    app.add_middleware(WorkerHeader)  # outermost: every answer names its worker process

    # ---- errors: one JSON shape for everything ---------------------------------------------------

    def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "The request was refused."
        if exc.status_code == 413:
            message = f"The request body is larger than {max_body_bytes} bytes."
        elif exc.status_code == 404:
            message = "There is nothing at this address."
        return error_response(exc.status_code, _STATUS_CODES.get(exc.status_code, "http_error"), message,
                              getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return error_response(422, "invalid_request", "The request is not valid: " + "; ".join(problems))

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError):
        log.error("store unavailable on %s %s: %s", request.method, request.url.path, exc)
        return error_response(503, "store_busy", "We're busy right now; please try again in a moment.",
                              {"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "Something went wrong on our side.")

    # ---- helpers ---------------------------------------------------------------------------------

    def bearer(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "missing_token", "Send the session token as 'Authorization: Bearer <token>'.",
                           {"WWW-Authenticate": "Bearer"})
        return token.strip()

    async def open_session(request: Request, session_id: str) -> Session:
        """The session, if the bearer token is its own (else 401/403/404)."""
        token = bearer(request)
        if not _SESSION_ID.match(session_id):
            raise ApiError(404, "unknown_session", "There is no such session.")
        try:
            return await run_in_threadpool(agent.resume, session_id, token)
        except (KeyError, PermissionError):  # the same answer: a wrong token learns nothing
            raise ApiError(404, "unknown_session", "There is no such session.") from None

    async def start_turn(request: Request, session_id: str, what: str, prepare=None) -> tuple[Session, str]:
        """Authenticate, then claim the session for one turn (409 if a turn is running), then load it
        again (its state as of now, after any previous turn), check the rate limit and `prepare`.
        The claim is released here on any refusal, else when the turn's stream ends."""
        await open_session(request, session_id)
        owner = await claim(session_id)
        try:
            session = await run_in_threadpool(agent.resume, session_id)
            await run_in_threadpool(check_rate, turns, session_id, what)
            if prepare is not None:
                await prepare(session)
            return session, owner
        except BaseException:
            await release(session_id, owner)
            raise

    def check_rate(limit: RateLimit | None, key: str, what: str) -> None:
        if limit is None:
            return
        wait = limit.hit(key)
        if wait is not None:
            seconds = int(wait + 0.999)
            raise ApiError(429, "rate_limited", f"Too many {what}; try again in {seconds} s.",
                           {"Retry-After": str(seconds)})

    async def claim(session_id: str) -> str:
        owner = f"{worker}-{secrets.token_hex(4)}"
        if not await run_in_threadpool(records.claim, session_id, owner, claim_seconds):
            raise ApiError(409, "turn_in_progress",
                           "The previous message in this conversation is still being answered.")
        return owner

    async def release(session_id: str, owner: str) -> None:
        try:
            await run_in_threadpool(records.release, session_id, owner)
        except Exception:  # the claim expires by itself
            log.exception("could not release the claim on %s", session_id)

    async def hold(session_id: str, owner: str) -> None:
        """Renew the turn's claim while it runs (cancelled when the turn ends)."""
        while True:
            await asyncio.sleep(claim_seconds / 3)
            await run_in_threadpool(records.renew, session_id, owner, claim_seconds)

    def stream(session_id: str, owner: str, events: AsyncIterator[Event]) -> EventSourceResponse:
        """Relay a turn's events as SSE. A separate task drains the turn so the session stays
        claimed until the turn is over, whether or not the client is still listening."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()

        async def pump() -> None:
            held: Event | None = None  # an `error` not followed by anything = the turn crashed
            renewing = asyncio.create_task(hold(session_id, owner))
            try:
                async for event in events:
                    if held is not None:
                        queue.put_nowait(held)
                        held = None
                    if event.type == "error":
                        held = event
                    else:
                        queue.put_nowait(event)
            except Exception as exc:  # the runtime already turns its failures into events
                log.exception("turn stream failed in %s", session_id)
                held = Event(type="error", data={"message": str(exc)})
            finally:
                renewing.cancel()
                await release(session_id, owner)
                if held is not None:
                    log.error("turn failed in %s: %s", session_id, held.data.get("message"))
                    queue.put_nowait(Event(type="error", data={"message": TURN_FAILED, "code": "turn_failed"}))
                queue.put_nowait(None)

        task = asyncio.create_task(pump())
        pumps.add(task)
        task.add_done_callback(pumps.discard)

        async def relay() -> AsyncIterator[bytes]:
            # What has arrived since the last send goes out as one chunk (fewer writes, same latency).
            finished = False
            while not finished:
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                finished = batch[-1] is None
                chunk = b"".join(_sse(event) for event in batch if event is not None)
                if chunk:
                    yield chunk

        return EventSourceResponse(relay(), ping=sse_ping_seconds, sep="\n",
                                   headers={"Cache-Control": "no-store"})

    async def resolve(request: Request, session_id: str, action_id: str, confirm: bool) -> EventSourceResponse:
        async def must_be_pending(session: Session) -> None:
            row = None
            if _ACTION_ID.match(action_id):
                row = await run_in_threadpool(records.action, session_id, action_id)
            if row is None:
                raise ApiError(404, "unknown_action", "There is no such action in this conversation.")
            if row["status"] != "pending":
                raise ApiError(409, "action_not_pending",
                               f"That action is no longer waiting for an answer (it was {row['status']}).")

        session, owner = await start_turn(request, session_id, "requests in this conversation", must_be_pending)
        return stream(session_id, owner, session.astream_resolve(action_id, confirm))

    # ---- API -------------------------------------------------------------------------------------

    @app.post("/api/sessions", status_code=201, response_model=SessionOut)
    async def create_session(request: Request, lang: str | None = None):
        """`?lang=zh`: the conversation's language (the widget's data-lang or its page's lang)."""
        client = request.client.host if request.client else "unknown"
        await run_in_threadpool(check_rate, creations, client, "new conversations from this address")
        try:
            session = await run_in_threadpool(lambda: agent.session(lang) if lang else agent.session())
        except ValueError as exc:
            raise ApiError(422, "bad_language", str(exc)) from exc
        return {"session_id": session.id, "token": session.token, "lang": session.lang}

    @app.get("/api/labels")
    async def widget_labels(lang: str = ENGLISH):
        """The widget's labels in a language (English where none ships)."""
        try:
            locale = locale_name(lang)
        except ValueError:
            locale = ENGLISH
        locale = locale if has_catalog(locale) else ENGLISH
        return {"lang": locale, "labels": labels(WIDGET, locale)}

    @app.post("/api/sessions/{session_id}/messages")
    async def post_message(session_id: str, body: MessageIn, request: Request):
        if not body.text.strip():
            raise ApiError(422, "empty_message", "The message is empty.")
        if len(body.text) > max_message_chars:
            raise ApiError(413, "message_too_long",
                           f"The message is longer than {max_message_chars} characters.")
        session, owner = await start_turn(request, session_id, "messages in this conversation")
        return stream(session_id, owner, session.astream(body.text))

    @app.post("/api/sessions/{session_id}/actions/{action_id}/confirm")
    async def confirm_action(session_id: str, action_id: str, request: Request):
        return await resolve(request, session_id, action_id, True)

    @app.post("/api/sessions/{session_id}/actions/{action_id}/decline")
    async def decline_action(session_id: str, action_id: str, request: Request):
        return await resolve(request, session_id, action_id, False)

    @app.get("/api/sessions/{session_id}/transcript")
    async def transcript(session_id: str, request: Request):
        session = await open_session(request, session_id)

        def read() -> dict[str, Any]:
            pending = session.pending_action
            return {"session_id": session.id, "lang": session.reply_locale, "messages": session.transcript(),
                    "pending_action": pending.model_dump() if pending else None}

        return {**await run_in_threadpool(read), "busy": await run_in_threadpool(records.claimed, session_id)}

    @app.get("/health")
    async def health():
        body: dict[str, Any] = {"status": "ok", "model": agent.describe()["model"],
                                "model_state": app.state.model_state, "worker": os.getpid()}
        try:
            await run_in_threadpool(agent.store.help_center_version)  # any read: the store answers
            await run_in_threadpool(records.db.one, "SELECT 1 AS ok")
            body["store"] = "ok"
        except Exception as exc:
            log.error("health: store check failed: %s", exc)
            body.update(status="degraded", store="unavailable")
            return JSONResponse(body, status_code=503)
        return body

    # ---- the widget and the demo page ----------------------------------------------------------------

    def web_file(name: str, media_type: str) -> FileResponse:
        return FileResponse(web / name, media_type=media_type, headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    async def demo_page():
        return web_file("demo.html", "text/html; charset=utf-8")

    @app.get("/widget.js", include_in_schema=False)
    async def widget_js():
        return web_file("widget.js", "text/javascript; charset=utf-8")

    @app.get("/widget.css", include_in_schema=False)
    async def widget_css():
        return web_file("widget.css", "text/css; charset=utf-8")

    return app
