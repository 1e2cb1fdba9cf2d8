"""`support-agent serve --workers 2` for real (two uvicorn worker processes, the scripted model, the
demo store in SQLite): a session started on one worker continues on the other, and the per-session
rate limit is one budget across both. Each keep-alive connection stays with the worker that accepted
it (the `X-Worker` header / `/health` name it), so the test drives each worker on purpose."""

from __future__ import annotations

import pytest
from agent_harness import JANE_HELLO, demo_db
from serve_harness import clients_on_two_workers, running_server
from test_server import parse_sse

@pytest.fixture
def server(tmp_path):
    db = demo_db(tmp_path)
    with running_server("--workers", "2", "--db", str(db), "--model", "scripted", "--rate-limit", "3/minute") as base:
        yield base, db


def test_a_session_continues_across_workers_and_shares_its_rate_limit(server):
    base, db = server
    (pid_a, a), (pid_b, b) = clients_on_two_workers(base).items()
    created = a.post("/api/sessions").json()
    sid, h = created["session_id"], {"Authorization": f"Bearer {created['token']}"}

    first = a.post(f"/api/sessions/{sid}/messages", json={"text": JANE_HELLO}, headers=h)
    assert first.headers["x-worker"] == str(pid_a)
    assert "verified" in parse_sse(first.text)[-1][1]["text"]
    # the other worker knows the session, its token and that Jane is verified
    second = b.post(f"/api/sessions/{sid}/messages", json={"text": "What is my order status?"}, headers=h)
    assert second.headers["x-worker"] == str(pid_b) and parse_sse(second.text)[-1][0] == "turn_done"
    third = a.post(f"/api/sessions/{sid}/messages", json={"text": "Are you there?"}, headers=h)
    assert parse_sse(third.text)[-1][0] == "turn_done"
    # 3/minute per session, counted once for both workers
    refused = b.post(f"/api/sessions/{sid}/messages", json={"text": "and again"}, headers=h)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"

    transcript = b.get(f"/api/sessions/{sid}/transcript", headers=h).json()
    said = [m["content"] for m in transcript["messages"] if m["role"] == "user"]
    assert said == [JANE_HELLO, "What is my order status?", "Are you there?"]
    assert transcript["busy"] is False

    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT customer_id FROM conversations WHERE id = ?", (sid,)).fetchone() == ("C0001",)
    a.close()
    b.close()
