"""The HTTP API (agent/server.py) with the scripted model: the whole flow through SSE, and a clear JSON
error with the right status for every bad request."""

from __future__ import annotations

import asyncio
import json
import os
import threading

import httpx
import pytest
from agent_harness import JANE_HELLO, LOGIN, make_agent, understood
from fastapi.testclient import TestClient

from agent.models.base import ModelError
from agent.server import TURN_FAILED, create_app
from agent.turn import texts

CANCEL_W1001 = understood("cancel_order", "W1001", reason="ordered by mistake")
ASK_CANCEL = "Please cancel W1001, I ordered by mistake"
HELLO = understood("smalltalk")


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        kind, data = "message", []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)
        if data:
            events.append((kind, json.loads("\n".join(data))))
    return events


@pytest.fixture
def setup(tmp_path):
    agent, model = make_agent(tmp_path)
    return agent, model


@pytest.fixture
def client(setup):
    agent, _ = setup
    with TestClient(create_app(agent, allowed_origins=["https://shop.example.com"])) as c:
        yield c


def new_session(client) -> tuple[str, dict[str, str]]:
    r = client.post("/api/sessions")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["session_id"].startswith("s_") and len(body["token"]) >= 24
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


def say(client, sid, headers, text) -> list[tuple[str, dict]]:
    r = client.post(f"/api/sessions/{sid}/messages", json={"text": text}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return parse_sse(r.text)


def resolve(client, sid, headers, action_id, verb="confirm") -> httpx.Response:
    return client.post(f"/api/sessions/{sid}/actions/{action_id}/{verb}", headers=headers)


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


def order_status(agent, order_id="W1001") -> str:
    return agent.store.one("SELECT status FROM orders WHERE id = ?", (order_id,))["status"]


def verified(client, model) -> tuple[str, dict[str, str]]:
    sid, h = new_session(client)
    model.add(LOGIN)
    say(client, sid, h, JANE_HELLO)
    return sid, h


def pending_cancel(client, model) -> tuple[str, dict[str, str], str]:
    sid, h = verified(client, model)
    model.add(CANCEL_W1001)
    events = say(client, sid, h, ASK_CANCEL)
    requested = [d for k, d in events if k == "confirmation_requested"]
    assert len(requested) == 1
    return sid, h, requested[0]["action_id"]


# ---- the whole flow -------------------------------------------------------------------------------

def test_whole_flow_verify_cancel_confirm(setup, client):
    agent, model = setup
    sid, h = new_session(client)

    model.add(LOGIN)
    events = say(client, sid, h, JANE_HELLO)
    kinds = [k for k, _ in events]
    assert kinds[0] == "tool_call" and events[0][1]["label"] == "Checking your details..."
    assert ("tool_result", {"tool": "verify_customer", "status": "ok", "rule": None,
                            "message": "Verified: Jane Doe."}) in events
    assert "".join(d["text"] for k, d in events if k == "text_delta") == "Thanks Jane, you're verified. How can I help?"
    assert kinds[-1] == "turn_done"

    model.add(CANCEL_W1001)
    events = say(client, sid, h, ASK_CANCEL)
    labels = [d["label"] for k, d in events if k == "tool_call"]
    assert labels == ["Preparing the cancellation of W1001..."]
    requested = [d for k, d in events if k == "confirmation_requested"]
    assert len(requested) == 1 and "W1001" in requested[0]["summary"]
    action_id = requested[0]["action_id"]
    done = events[-1]
    assert done[0] == "turn_done" and done[1]["pending_action"]["id"] == action_id
    assert order_status(agent) == "pending"  # nothing written before the customer confirms

    transcript = client.get(f"/api/sessions/{sid}/transcript", headers=h).json()
    assert transcript["pending_action"]["id"] == action_id and transcript["busy"] is False
    assert [m["role"] for m in transcript["messages"]] == ["user", "assistant"] * 2

    r = resolve(client, sid, h, action_id)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    resolved = [d for k, d in events if k == "action_resolved"]
    assert resolved == [{"action_id": action_id, "status": "executed", "message": resolved[0]["message"]}]
    assert events[-1][0] == "turn_done" and events[-1][1]["pending_action"] is None
    assert order_status(agent) == "cancelled"
    assert agent.store.one("SELECT count(*) AS n FROM audit_log WHERE action_id = ? AND phase = 'execute'",
                           (action_id,))["n"] == 1

    transcript = client.get(f"/api/sessions/{sid}/transcript", headers=h).json()
    assert transcript["pending_action"] is None
    assert transcript["messages"][-2]["content"] == "(confirmed)"


def test_decline_leaves_the_order_alone(setup, client):
    agent, model = setup
    sid, h, action_id = pending_cancel(client, model)
    events = parse_sse(resolve(client, sid, h, action_id, "decline").text)
    assert [d["status"] for k, d in events if k == "action_resolved"] == ["declined"]
    assert order_status(agent) == "pending"


def test_health_and_static_files(client):
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "model": "scripted", "model_state": "ready", "store": "ok",
                             "worker": os.getpid()}
    assert health.headers["x-worker"] == str(os.getpid())
    page = client.get("/")
    assert page.status_code == 200 and page.headers["x-worker"] == str(os.getpid()) and "Northwind Outfitters" in page.text and "/widget.js" in page.text
    js = client.get("/widget.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "SupportAgentWidget" in js.text
    css = client.get("/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_health_reports_a_broken_store(setup, client, monkeypatch):
    agent, _ = setup

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(agent.store, "help_center_version", broken)  # any read of the backend
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["store"] == "unavailable"


# ---- authentication --------------------------------------------------------------------------------

def test_unknown_session_is_404(client):
    _, h = new_session(client)
    assert_error(client.get("/api/sessions/s_doesnotexist123/transcript", headers=h), 404, "unknown_session")
    assert_error(client.post("/api/sessions/s_doesnotexist123/messages", json={"text": "hi"}, headers=h),
                 404, "unknown_session")
    assert_error(client.get("/api/sessions/not-an-id/transcript", headers=h), 404, "unknown_session")


def test_missing_or_malformed_token_is_401(client):
    sid, _ = new_session(client)
    r = client.get(f"/api/sessions/{sid}/transcript")
    assert_error(r, 401, "missing_token")
    assert r.headers["www-authenticate"] == "Bearer"
    assert_error(client.get(f"/api/sessions/{sid}/transcript", headers={"Authorization": "Basic abc"}),
                 401, "missing_token")
    assert_error(client.post(f"/api/sessions/{sid}/messages", json={"text": "hi"},
                             headers={"Authorization": "Bearer "}), 401, "missing_token")


def test_wrong_token_is_answered_like_an_unknown_session(client):
    sid, _ = new_session(client)
    wrong = client.get(f"/api/sessions/{sid}/transcript", headers={"Authorization": "Bearer nope"})
    unknown = client.get("/api/sessions/s_doesnotexist123/transcript", headers={"Authorization": "Bearer nope"})
    assert_error(wrong, 404, "unknown_session")
    assert wrong.json() == unknown.json()


def test_one_sessions_token_never_reads_or_drives_another(setup, client):
    agent, model = setup
    victim, victim_h, action_id = pending_cancel(client, model)
    _, attacker_h = new_session(client)
    before = model.position
    assert_error(client.get(f"/api/sessions/{victim}/transcript", headers=attacker_h), 404, "unknown_session")
    assert_error(client.post(f"/api/sessions/{victim}/messages", json={"text": "yes"}, headers=attacker_h),
                 404, "unknown_session")
    assert_error(resolve(client, victim, attacker_h, action_id), 404, "unknown_session")
    assert_error(resolve(client, victim, attacker_h, action_id, "decline"), 404, "unknown_session")
    assert model.position == before and order_status(agent) == "pending"
    # the attacker's own session does not know the victim's action either
    attacker = client.post("/api/sessions").json()
    h2 = {"Authorization": f"Bearer {attacker['token']}"}
    assert_error(resolve(client, attacker["session_id"], h2, action_id), 404, "unknown_action")
    assert order_status(agent) == "pending"
    # the owner still can
    assert parse_sse(resolve(client, victim, victim_h, action_id).text)[-1][0] == "turn_done"
    assert order_status(agent) == "cancelled"


# ---- bad messages -------------------------------------------------------------------------------------

def test_empty_message_is_422(client):
    sid, h = new_session(client)
    assert_error(client.post(f"/api/sessions/{sid}/messages", json={"text": ""}, headers=h), 422, "empty_message")
    assert_error(client.post(f"/api/sessions/{sid}/messages", json={"text": "  \n "}, headers=h), 422,
                 "empty_message")


def test_malformed_body_is_422(client):
    sid, h = new_session(client)
    err = assert_error(client.post(f"/api/sessions/{sid}/messages", json={"txt": "hi"}, headers=h), 422,
                       "invalid_request")
    assert "text" in err["message"]
    assert_error(client.post(f"/api/sessions/{sid}/messages", json={"text": ["hi"]}, headers=h), 422,
                 "invalid_request")
    assert_error(client.post(f"/api/sessions/{sid}/messages", content=b"{not json",
                             headers={**h, "Content-Type": "application/json"}), 422, "invalid_request")


def test_oversized_message_is_413(setup):
    agent, model = setup
    with TestClient(create_app(agent, max_message_chars=50)) as client:
        sid, h = new_session(client)
        err = assert_error(client.post(f"/api/sessions/{sid}/messages", json={"text": "x" * 51}, headers=h),
                           413, "message_too_long")
        assert "50" in err["message"]
        model.add(HELLO)
        assert say(client, sid, h, "x" * 50)[-1][0] == "turn_done"


def test_oversized_body_is_413_with_or_without_a_length(setup):
    agent, model = setup
    with TestClient(create_app(agent, max_body_bytes=1000)) as client:
        sid, h = new_session(client)
        big = json.dumps({"text": "y" * 2000}).encode()
        assert_error(client.post(f"/api/sessions/{sid}/messages", content=big,
                                 headers={**h, "Content-Type": "application/json"}), 413, "body_too_large")

        def chunks():  # no Content-Length: the body is counted as it arrives
            for i in range(0, len(big), 100):
                yield big[i:i + 100]

        assert_error(client.post(f"/api/sessions/{sid}/messages", content=chunks(),
                                 headers={**h, "Content-Type": "application/json"}), 413, "body_too_large")
        assert model.position == 0


def test_unknown_route_and_method_are_json_errors(client):
    assert_error(client.get("/api/nothing"), 404, "not_found")
    assert_error(client.delete("/api/sessions"), 405, "method_not_allowed")


# ---- actions ---------------------------------------------------------------------------------------------

def test_confirming_an_action_that_is_not_pending_is_409(setup, client):
    agent, model = setup
    sid, h, action_id = pending_cancel(client, model)
    assert resolve(client, sid, h, action_id).status_code == 200
    err = assert_error(resolve(client, sid, h, action_id), 409, "action_not_pending")
    assert "executed" in err["message"]
    assert_error(resolve(client, sid, h, action_id, "decline"), 409, "action_not_pending")
    assert agent.store.one("SELECT count(*) AS n FROM audit_log WHERE phase = 'execute'")["n"] == 1


def test_an_action_declined_by_a_message_is_not_pending_any_more(setup, client):
    agent, model = setup
    sid, h, action_id = pending_cancel(client, model)
    model.add({"answer": "no"})
    events = say(client, sid, h, "no")
    assert [d["status"] for k, d in events if k == "action_resolved"] == ["declined"]
    assert_error(resolve(client, sid, h, action_id), 409, "action_not_pending")
    assert order_status(agent) == "pending"


def test_unknown_action_is_404(client):
    sid, h = new_session(client)
    assert_error(resolve(client, sid, h, "act_0123456789abcdef"), 404, "unknown_action")
    assert_error(resolve(client, sid, h, "bogus"), 404, "unknown_action")


# ---- limits ---------------------------------------------------------------------------------------------

def test_rate_limit_per_session_is_429_with_retry_after(setup):
    agent, model = setup
    model.add(HELLO, HELLO, HELLO)
    with TestClient(create_app(agent, rate_limit="2/minute")) as client:
        sid, h = new_session(client)
        say(client, sid, h, "I need some help")
        say(client, sid, h, "one more thing")
        r = client.post(f"/api/sessions/{sid}/messages", json={"text": "and again"}, headers=h)
        assert_error(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert model.position == 2
        # another session has its own budget
        other, h2 = new_session(client)
        assert say(client, other, h2, "I need some help")[-1][0] == "turn_done"


def test_session_creation_is_rate_limited_per_client(setup):
    agent, _ = setup
    with TestClient(create_app(agent, session_rate_limit="3/minute")) as client:
        for _ in range(3):
            assert client.post("/api/sessions").status_code == 201
        assert_error(client.post("/api/sessions"), 429, "rate_limited")


async def test_a_second_turn_while_one_is_running_is_409(setup):
    agent, model = setup
    entered, release = threading.Event(), threading.Event()

    def slow(messages, schema):  # the turn's understanding step, held until the test lets it go
        entered.set()
        release.wait(10)
        return HELLO

    model.add(slow)
    app = create_app(agent)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.post("/api/sessions")
        sid, h = r.json()["session_id"], {"Authorization": f"Bearer {r.json()['token']}"}
        first = asyncio.create_task(client.post(f"/api/sessions/{sid}/messages", json={"text": "I need some help"}, headers=h))
        for _ in range(200):
            if entered.is_set():
                break
            await asyncio.sleep(0.01)
        assert entered.is_set()
        second = await client.post(f"/api/sessions/{sid}/messages", json={"text": "hello?"}, headers=h)
        assert_error(second, 409, "turn_in_progress")
        # a wrong token learns nothing from a busy session: the same answer as for no session at all
        guess = await client.post(f"/api/sessions/{sid}/messages", json={"text": "hello?"},
                                  headers={"Authorization": "Bearer garbage"})
        assert_error(guess, 404, "unknown_session")
        transcript = (await client.get(f"/api/sessions/{sid}/transcript", headers=h)).json()
        assert transcript["busy"] is True
        release.set()
        done = await first
        assert parse_sse(done.text)[-1] == ("turn_done", {"text": texts.GREETING, "pending_action": None, "lang": "en"})
        transcript = (await client.get(f"/api/sessions/{sid}/transcript", headers=h)).json()
        assert transcript["busy"] is False


# ---- failures inside a turn ------------------------------------------------------------------------------

def test_model_failure_gets_a_question_and_the_session_goes_on(setup, client):
    """The understanding step never raises: a failed model is a message not understood (the customer is
    asked again, nothing runs), recorded in the audit log; the next turn works as usual."""
    agent, model = setup
    sid, h = new_session(client)
    model.add(ModelError("backend down"))
    events = say(client, sid, h, "I need some help")
    assert events[-1] == ("turn_done", {"text": texts.CLARIFY, "pending_action": None, "lang": "en"})
    assert not [k for k, _ in events if k in ("error", "tool_call")]
    row = agent.store.one("SELECT status, message FROM audit_log WHERE phase = 'understand'")
    assert row["status"] == "error" and "backend down" in row["message"]
    model.add(understood("smalltalk"))
    assert say(client, sid, h, "thanks")[-1][1]["text"] == texts.ANYTHING_ELSE


def test_a_crash_inside_a_turn_becomes_a_calm_error_event(setup, client, monkeypatch):
    _, model = setup
    sid, h = new_session(client)

    def boom(session, text, emit):
        raise RuntimeError("/var/secret/path exploded")

    monkeypatch.setattr("agent.session.understood_turn", boom)
    events = say(client, sid, h, "I need some help")
    assert events == [("error", {"message": TURN_FAILED, "code": "turn_failed"})]
    monkeypatch.undo()
    model.add(HELLO)
    assert say(client, sid, h, "one more thing")[-1][1]["text"] == texts.ANYTHING_ELSE  # not stuck as busy


# ---- CORS -------------------------------------------------------------------------------------------------

def test_cors_allows_only_the_configured_origins(client):
    ok = client.options("/api/sessions", headers={"Origin": "https://shop.example.com",
                                                  "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "authorization,content-type"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    bad = client.options("/api/sessions", headers={"Origin": "https://evil.example.net",
                                                   "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in bad.headers
    created = client.post("/api/sessions", headers={"Origin": "https://shop.example.com"})
    assert created.headers["access-control-allow-origin"] == "https://shop.example.com"
    # errors carry the header too, so the widget can read them
    err = client.get("/api/sessions/s_unknown12345/transcript", headers={"Origin": "https://shop.example.com"})
    assert err.status_code == 401 and err.headers["access-control-allow-origin"] == "https://shop.example.com"


# ---- `support-agent serve` --------------------------------------------------------------------------------

def test_serve_creates_the_demo_store_and_runs_uvicorn(tmp_path, monkeypatch):
    import uvicorn

    from agent.cli import main

    seen = {}

    def fake_run(app, **kwargs):
        seen["app"], seen["kwargs"] = app, kwargs

    monkeypatch.setattr(uvicorn, "run", fake_run)
    db = tmp_path / "new.db"
    code = main(["serve", "--db", str(db), "--model", "scripted", "--port", "8765",
                 "--allow-origin", "https://shop.example.com", "--rate-limit", "5/minute"])
    assert code == 0 and db.exists()
    assert seen["kwargs"]["port"] == 8765 and seen["kwargs"]["host"] == "127.0.0.1"
    with TestClient(seen["app"]) as client:
        assert client.get("/health").json()["store"] == "ok"
        assert client.post("/api/sessions", headers={"Origin": "https://shop.example.com"}).headers[
            "access-control-allow-origin"] == "https://shop.example.com"


def test_serve_rejects_a_bad_rate_limit(tmp_path, monkeypatch):
    import uvicorn

    from agent.cli import main

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: pytest.fail("should not start"))
    assert main(["serve", "--db", str(tmp_path / "x.db"), "--model", "scripted", "--rate-limit", "lots"]) == 2


def test_a_locked_store_is_a_503_the_client_can_retry(setup, client, monkeypatch):
    from tools.errors import StoreError

    agent, _ = setup

    def locked():
        raise StoreError("the store is busy or locked, try again: database is locked")

    monkeypatch.setattr(agent, "session", locked)
    r = client.post("/api/sessions")
    assert_error(r, 503, "store_busy")
    assert r.headers["retry-after"] == "2"


def test_bad_tokens_never_reserve_the_session(setup, client):
    """Requests with garbage tokens are refused before the session is claimed: the customer's own
    messages, sent in between, all go through (none is refused as 'turn in progress')."""
    _, model = setup
    sid, h = new_session(client)
    for i in range(5):
        guess = client.post(f"/api/sessions/{sid}/messages", json={"text": "hi"},
                            headers={"Authorization": f"Bearer garbage{i}"})
        assert_error(guess, 404, "unknown_session")
        model.add(HELLO)
        assert say(client, sid, h, "I need some help")[-1][0] == "turn_done"
    assert client.get(f"/api/sessions/{sid}/transcript", headers=h).json()["busy"] is False


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(setup):
    """Without a trusted proxy, X-Forwarded-For is ignored: a spoofed address gets no budget of its own.
    From a trusted proxy (the test client's address), each forwarded client has its own budget."""
    agent, _ = setup
    spoofed = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(3)]
    with TestClient(create_app(agent, session_rate_limit="2/minute")) as client:
        statuses = [client.post("/api/sessions", headers=h).status_code for h in spoofed]
        assert statuses == [201, 201, 429]
    agent.records.db.run("DELETE FROM rate_hits")
    with TestClient(create_app(agent, session_rate_limit="2/minute", trusted_proxies=["testclient"])) as client:
        statuses = [client.post("/api/sessions", headers=h).status_code for h in spoofed + spoofed]
        assert statuses == [201] * 6
        assert client.post("/api/sessions", headers=spoofed[0]).status_code == 429


def test_rate_limits_are_shared_by_apps_on_one_database(setup):
    """Two apps (as two worker processes would) on the same records count against one budget."""
    agent, _ = setup
    with TestClient(create_app(agent, session_rate_limit="3/minute")) as one, \
            TestClient(create_app(agent, session_rate_limit="3/minute")) as two:
        assert [c.post("/api/sessions").status_code for c in (one, two, one)] == [201, 201, 201]
        assert_error(two.post("/api/sessions"), 429, "rate_limited")


def test_serve_with_an_unreachable_agent_db_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import uvicorn

    from agent.cli import main

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: pytest.fail("should not start"))
    code = main(["serve", "--db", str(tmp_path / "x.db"), "--model", "scripted",
                 "--agent-db", "postgresql://shop:secret@127.0.0.1:9/agent"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach the agent's records database" in err and "secret" not in err


def test_model_server_command_takes_its_address(monkeypatch):
    """The command's wiring only: the model itself is loaded by the real command (not in unit tests)."""
    from agent.cli import build_parser
    from agent.commands import model_server

    args = build_parser().parse_args(["model-server", "--port", "9001", "--parallel", "2"])
    assert (args.host, args.port, args.parallel, args.n_ctx, args._run) == ("127.0.0.1", 9001, 2, 4096,
                                                                             model_server.run)
