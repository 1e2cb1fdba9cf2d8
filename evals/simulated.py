"""A simulated customer: an LLM (any ChatModel, called with reply_only=True and no tools) plays the
scenario's persona towards a goal, and ends the chat by writing the stop signal.

Small models playing a customer drift: they copy the agent's message back or repeat themselves. The
conversation then ends (`stuck` says why) instead of running to max_turns, and the scenario's checks
judge what the agent achieved by then."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

from agent.models.base import ChatModel
from evals.scenario import SimulatedCustomer

OPENING = "(The support chat opens. Write your first message to the support agent.)"


def customer_prompt(spec: SimulatedCustomer) -> str:
    if isinstance(spec.knows, dict):
        knows = "\n".join(f"- {k}: {v}" for k, v in spec.knows.items())
    else:
        knows = "\n".join(f"- {k}" for k in spec.knows)
    unknown = "\n".join(f"- {k}" for k in spec.does_not_know)
    return (
        "You play a CUSTOMER of an online store who is chatting with the store's support agent. "
        "The other side of this chat is the agent. You are not the agent: never repeat or copy the "
        "agent's words, never offer help.\n\n"
        f"You are: {spec.persona}\n"
        f"Your goal: {spec.goal}\n\n"
        f"Facts you know (give them when the agent asks):\n{knows or '- none'}\n\n"
        f"Facts you do not know (say you don't know; never invent them):\n{unknown or '- none'}\n\n"
        "Rules:\n"
        "- Write only your next message as the customer: one or two short sentences.\n"
        "- If the agent asks you to confirm a change that matches your goal, answer exactly: yes\n"
        "- If it does not match your goal, answer: no, and say what you want.\n"
        f"- As soon as your goal is done, or the agent says it cannot be done, answer exactly: {spec.stop}\n"
        "\nExample: the agent says \"Order W1234 is cancelled and refunded.\" and your goal was to cancel "
        f"W1234: you answer {spec.stop}\n"
    )


def _same(a: str, b: str) -> bool:
    a, b = " ".join(a.lower().split()), " ".join(b.lower().split())
    return bool(a) and (a == b or SequenceMatcher(None, a, b).ratio() > 0.9)


class SimulatedUser:
    """The customer's side of one conversation. `next_message(agent_reply)` returns the customer's next
    message, or None when the customer is done (the stop signal, an empty answer) or stuck."""

    def __init__(self, model: ChatModel, spec: SimulatedCustomer):
        self.model = model
        self.spec = spec
        self.history: list[dict[str, Any]] = [{"role": "system", "content": customer_prompt(spec)},
                                              {"role": "user", "content": OPENING}]
        self.done = False
        self.stuck: str | None = None  # why the simulator gave up, when it did

    def next_message(self, agent_reply: str | None = None) -> str | None:
        if self.done:
            return None
        if agent_reply is not None:
            self.history.append({"role": "user", "content": agent_reply})
        reply = self.model.complete(self.history, [], reply_only=True)
        text = _unquote((reply.text or "").strip())
        if self.spec.stop in text or not text:
            self.done = True
            return None
        mine = [m["content"] for m in self.history if m["role"] == "assistant"]
        if agent_reply and _same(text, agent_reply):
            self.stuck = "the simulated customer copied the agent's reply"
        elif len(mine) >= 2 and _same(text, mine[-1]) and _same(text, mine[-2]):
            self.stuck = "the simulated customer repeated the same message three times"
        if self.stuck:
            self.done = True
            return None
        self.history.append({"role": "assistant", "content": text})
        return text


def _unquote(text: str) -> str:
    """Small models sometimes prefix a role or wrap the line in quotes."""
    text = re.sub(r"^(customer|me|user)\s*:\s*", "", text, flags=re.I).strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text
