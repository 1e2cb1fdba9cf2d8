"""Words the runtime says itself (not the model): confirmations, declines, apologies, safe answers."""

from __future__ import annotations

import re

_YES = re.compile(
    r"^(y|yes|yeah|yep|yup|sure|ok|okay|confirm|confirmed|i confirm|go ahead|please do|do it|"
    r"yes please|please|correct|that's right|that is right|sounds good|proceed|absolutely|definitely)"
    r"(,? (please|go ahead|do it|thanks|thank you|confirm))*[.! ]*$", re.I)
_NO = re.compile(
    r"^(n|no|nope|nah|don't|do not|stop|cancel that|never mind|nevermind|no thanks|no thank you|"
    r"not now|abort|decline)[.! ]*$", re.I)


def is_yes(text: str) -> bool:
    return bool(_YES.match(text.strip()))


def is_no(text: str) -> bool:
    return bool(_NO.match(text.strip()))


def confirmation_question(summary: str) -> str:
    return f"{summary}\nShall I go ahead? (yes / no)"


def declined(summary: str) -> str:
    return "Okay, I have not made that change. Is there anything else I can help with?"


def verified(name: str) -> str:
    first = name.split()[0] if name else ""
    return f"Thanks{' ' + first if first else ''}, you're verified. How can I help?"


MODEL_FAILURE = ("I'm sorry, I'm having a technical problem and can't answer properly right now. "
                 "Nothing you already did is lost. I can hand you over to a human agent, or you can "
                 "try again in a moment.")

REPEATED_FAILURE = ("I'm sorry, I couldn't complete that request: the same step failed twice. "
                    "I can hand you over to a human agent if you like.")

EMPTY_MESSAGE = "Please type a message."
GREETING = "Hello! How can I help you today?"
ASK_LOGIN = ("I can help with that. First I need to verify who you are: what is the email address on your "
             "account, and its zip code (or one of your order numbers)?")
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening))( there| again)?[\s!.,]*$", re.I)


def is_greeting(text: str) -> bool:
    """A message that is only a greeting: it needs an answer, not a model step."""
    return bool(_GREETING.match(text))

NO_ANSWER = ("I'm sorry, I don't have that information. If you give me an order number I can look it "
             "up, or I can hand you over to a human agent.")


def safe_answer(tool_messages: list[str]) -> str:
    """An honest reply built only from what the tools said this turn."""
    said = [m for m in tool_messages if m]
    if not said:
        return NO_ANSWER
    return "Here is what I found: " + " ".join(said)


def relay(denials: list[str], reads: list[str]) -> str:
    """The tools' own words when the model's reply left out a denial: the denials (each names its
    rule) first, then what the reads found."""
    return " ".join([*denials, *reads]) or NO_ANSWER
