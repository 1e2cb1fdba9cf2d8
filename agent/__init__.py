"""The dialogue runtime: sessions, the turn loop, model backends, prompt, CLI, REPL, web server."""

from agent.events import Event, PendingAction, Reply
from agent.support_agent import SupportAgent

__all__ = ["SupportAgent", "Event", "PendingAction", "Reply"]
