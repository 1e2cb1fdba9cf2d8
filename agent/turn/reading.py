"""Reading the customer's own words: what they said (a slot counts only in their words), the reason
they gave, and what their words mean for a choice (a condition, a remedy, a refund method, a quantity,
a complaint's category, the part of the account to change): by meaning in any language, with the
phrases per value in understanding/meanings.yaml, never just the label the model put on them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from agent.understanding.ids import clauses, contains_words, number_written, resembles_words
from agent.understanding.kinds import MEANINGS
from agent.understanding.narrow import meaning_of, nearest_clause, without_login
from agent.understanding.understand import Request

MAX_TEXT = 500
MARGIN = 0.03  # how much closer in meaning one choice must be than every other to count


@dataclass(frozen=True)
class Reading:
    text: str  # this message
    history: str  # everything the customer wrote in this conversation
    prepaid: frozenset[str]  # conditions the store pays a return label for (policy)

    @cached_property
    def history_clauses(self) -> list[str]:
        """The clauses of everything the customer wrote, split once per turn."""
        return clauses(self.history)

    def said(self, words: str) -> bool:
        return contains_words(self.history, words)

    def said_slot(self, request: Request, slot: str) -> str | None:
        """A slot of words (an item, an option) only when the customer said them."""
        value = str(request.slots.get(slot) or "")
        return value if value and self.said(value) else None

    def own_words(self, request: Request, slot: str) -> str | None:
        """A reason only in the customer's own words: as the model gave it when they wrote it, else their
        clause of this message that says the same (the model translated it), else (the model gave none)
        this message; in each, only the clauses that give a reason, by meaning in any language: not the
        ones that make the request ("Cancel W1001"), greet or log in."""
        value = str(request.slots.get(slot) or "")[:MAX_TEXT]
        if value and not self.said(value):
            value = nearest_clause([c for c in clauses(without_login(self.text)) if len(c) > 1], value) or ""
        reasons = self.reasons(value) if value else []
        if reasons and len(reasons) == len(clauses(value)):
            return value
        return ", ".join(reasons or self.reasons(self.text[:MAX_TEXT])) or None

    @staticmethod
    def reasons(text: str) -> list[str]:
        """The clauses of a text that give a reason (by meaning: not a request, a greeting or a login)."""
        return [c for c in clauses(without_login(text, "")) if meaning_of(c, MEANINGS["reason"], groups=True) == "stated"]

    def choice(self, request: Request, slot: str) -> Any:
        """A customer's choice, only from their words, read by meaning (any language), never just the
        label the model put on them:
        - the words the model cited, when they are the customer's and clearly mean one value;
        - else the model's value when the words it cited are the customer's and nearest to it in meaning;
        - else the model's value when a clause the customer wrote clearly means it, or the one value
          their clauses clearly mean (also when the model gave none);
        - else, with their own words cited, the model's value (a condition the store pays a label for only
          when those words are nearer to it than to any other value).
        Otherwise None: the customer is asked."""
        value = request.slots.get(slot)
        words = str(request.slots.get(f"{slot}_words") or "")
        theirs = bool(words) and resembles_words(self.history, words)
        if isinstance(value, bool) or value is None and slot not in MEANINGS:
            return None
        if isinstance(value, int):
            return value if theirs or number_written(self.text, value) else None
        meanings = MEANINGS.get(slot, {})
        theirs = theirs and not self.in_a_stated_reason(words, meanings)
        clear = meaning_of(words, meanings, margin=MARGIN) if theirs else None
        if clear is not None or not meanings:
            return clear or (value if theirs else None)
        if theirs and value is not None and meaning_of(words, meanings) == value:
            return value  # the model's value is what the customer's own cited words are nearest to
        meant = self.meant_values(meanings, MARGIN)
        if value in meant or len(meant) == 1:
            return value if value in meant else meant.pop()
        if not theirs:
            return None
        if value in self.prepaid:
            # the store pays for this one: their words must at least be nearer to it than to anything else
            return value if meaning_of(words, meanings) == value else None
        return value

    def in_a_stated_reason(self, words: str, meanings: dict[str, list[str]]) -> bool:
        """The cited words are part of a clause of the customer's that states no value ("colour" of "I
        don't like the colour": a reason, not a wrong item), read by meaning."""
        around = [c for c in self.history_clauses if contains_words(c, words)]
        return bool(around) and (meaning_of(min(around, key=len), meanings, margin=MARGIN, groups=True)
                                 or "").startswith("_")

    def meant_values(self, meanings: dict[str, list[str]], margin: float) -> set[str]:
        """The values the customer's recent clauses mean (each nearer than any other by `margin`)."""
        return {v for c in self.history_clauses[-12:] if (v := meaning_of(c, meanings, margin=margin)) is not None}

    def account_parts(self) -> set[str]:
        """The parts of the account the customer's clauses name, by meaning in any language: email, phone,
        address, or `_not_updatable` (their name, date of birth: nothing this chat can change)."""
        return {meaning_of(c, MEANINGS["field"], margin=0.02, groups=True) for c in clauses(without_login(self.text))}

    def category(self, summary: str) -> str | None:
        """What a complaint is about: the one value its clauses clearly mean, else the one the whole
        message is nearest to; None when it says nothing clear."""
        meanings = MEANINGS["category"]
        meant = {v for c in clauses(summary) if (v := meaning_of(c, meanings, margin=MARGIN)) is not None}
        return meant.pop() if len(meant) == 1 else meaning_of(summary, meanings, margin=0.005)
