"""Shared helpers for runtime tests: a demo store at a fixed time and an agent on a scripted model."""

from __future__ import annotations

import shutil
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
    kwargs.setdefault("turn", "loop")
    agent = SupportAgent(kwargs.pop("db", None) or demo_db(tmp_path), model=model, clock=lambda: NOW, **kwargs)
    return agent, model


VERIFY_JANE = {"tool": "verify_customer", "arguments": {"email": "jane.doe@example.com", "zip_code": "94107"}}
JANE_HELLO = "Hi, I'm jane.doe@example.com, zip 94107."


def verified_session(agent: SupportAgent, model: ScriptedModel):
    """A session verified as Jane through the real verify_customer tool (the runtime reads the email
    and zip code from the message itself: no model step)."""
    session = agent.session()
    session.send(JANE_HELLO)
    assert session.customer_id == "C0001"
    assert not model.requests
    return session


def tool_events(reply, kind="tool_result"):
    return [e.data for e in reply.events if e.type == kind]
