"""Shared helpers for runtime tests: a demo store at a fixed time and an agent on a scripted model, whose
steps are the understandings of the customer's messages (`understood(...)`, `YES`, `NO`, `LOGIN`)."""

from __future__ import annotations

import shutil
import socket
from datetime import datetime, timezone
from pathlib import Path

from agent.models.scripted import ScriptedModel
from agent.support_agent import SupportAgent

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in the store's timezone
_TEMPLATE: dict[str, Path] = {}


def demo_db(tmp_path: Path) -> Path:
    """A fresh copy of the demo store built once per test run (seed 7, reference time NOW)."""
    if "path" not in _TEMPLATE:
        from fixtures import build_demo_store
        import tempfile

        template = Path(tempfile.mkdtemp()) / "template.db"
        store = build_demo_store(template, seed=7, now=NOW)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.close()
        _TEMPLATE["path"] = template
    target = tmp_path / "store.db"
    shutil.copy(_TEMPLATE["path"], target)
    return target


def make_agent(tmp_path: Path, steps=(), **kwargs) -> tuple[SupportAgent, ScriptedModel]:
    model = ScriptedModel(steps)
    agent = SupportAgent(kwargs.pop("db", None) or demo_db(tmp_path), model=model, clock=lambda: NOW, **kwargs)
    return agent, model


JANE_HELLO = "Hi, I'm jane.doe@example.com, zip 94107."
LOGIN = {"lang": "en", "requests": [{"kind": "login"}]}  # the understanding of a message that only logs in


def understood(kind: str, order: str | None = None, **slots) -> dict:
    """One request's understanding, as the model's structured step gives it."""
    request = {"kind": kind, **({"order": order} if order else {}), **slots}
    return {"lang": "en", "requests": [request]}


YES = {"answer": "yes"}
NO = {"answer": "no"}


def verified_session(agent: SupportAgent, model: ScriptedModel):
    """A session verified as Jane through the real verify_customer tool: the runtime reads the email and
    zip code from the message itself (before the model's one understanding step of the turn)."""
    model.add(LOGIN)
    session = agent.session()
    reply = session.send(JANE_HELLO)
    assert session.customer_id == "C0001"
    assert reply.text == "Thanks Jane, you're verified. How can I help?"
    assert model.remaining == 0
    return session


def tool_events(reply, kind="tool_result"):
    return [e.data for e in reply.events if e.type == kind]


def free_port() -> int:
    """A loopback port nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
