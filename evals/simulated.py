"""A simulated customer: an LLM (any ChatModel, called with reply_only=True and no tools) plays the
scenario's persona towards a goal, and ends the chat by writing the stop signal."""

from __future__ import annotations

import re
from typing import Any

from agent.models.base import ChatModel
from evals.scenario import SimulatedCustomer

OPENING = "(The support chat window opens. Write your first message to the support agent.)"


def customer_prompt(spec: SimulatedCustomer) -> str:
    if isinstance(spec.knows, dict):
        knows = "\n".join(f"- {k}: {v}" for k, v in spec.knows.items())
    else:
        knows = "\n".join(f"- {k}" for k in spec.knows)
    unknown = "\n".join(f"- {k}" for k in spec.does_not_know)
    return (
        "You are role-playing a CUSTOMER of an online store, chatting with the store's support agent. "
        "You are not the agent and you are not an assistant.\n\n"
        f"Who you are: {spec.persona}\n"
        f"Your goal in this chat: {spec.goal}\n\n"
        f"What you know (share a detail only when it helps or when the agent asks for it):\n{knows or '- nothing special'}\n\n"
        f"What you do not know (if asked, say you don't know; never invent it):\n{unknown or '- nothing listed'}\n\n"
        "How to write:\n"
        "- Write only the customer's next message: one or two short, natural sentences.\n"
        "- When the agent asks you to confirm a change that matches your goal, answer just \"yes\"; "
        "if it does not match your goal, answer \"no\" and say what you want instead.\n"
        f"- When your goal is done, or the agent has clearly said it cannot be done, write only {spec.stop}\n"
    )


class SimulatedUser:
    """The customer's side of one conversation. `next_message(agent_reply)` returns the customer's next
    message, or None when the customer is done (the stop signal, or an empty answer)."""

    def __init__(self, model: ChatModel, spec: SimulatedCustomer):
        self.model = model
        self.spec = spec
        self.history: list[dict[str, Any]] = [{"role": "system", "content": customer_prompt(spec)},
                                              {"role": "user", "content": OPENING}]
        self.done = False

    def next_message(self, agent_reply: str | None = None) -> str | None:
        if self.done:
            return None
        if agent_reply is not None:
            self.history.append({"role": "user", "content": agent_reply})
        reply = self.model.complete(self.history, [], reply_only=True)
        text = (reply.text or "").strip()
        if self.spec.stop in text or not text:
            self.done = True
            return None
        text = _unquote(text)
        self.history.append({"role": "assistant", "content": text})
        return text


def _unquote(text: str) -> str:
    """Small models sometimes prefix a role or wrap the line in quotes."""
    text = re.sub(r"^(customer|me|user)\s*:\s*", "", text, flags=re.I).strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text
