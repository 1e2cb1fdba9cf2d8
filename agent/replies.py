"""Words the runtime says itself (not the model): confirmations, declines, apologies, safe answers."""

from __future__ import annotations

import re

from agent import texts
from tools.i18n import msg

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
    return msg(texts.CONFIRMATION_QUESTION, summary=summary).text


def declined(summary: str) -> str:
    return texts.DECLINED


def verified(name: str) -> str:
    first = name.split()[0] if name else ""
    return msg(texts.VERIFIED, name=first).text if first else texts.VERIFIED_NO_NAME


MODEL_FAILURE = texts.MODEL_FAILURE
REPEATED_FAILURE = texts.REPEATED_FAILURE
EMPTY_MESSAGE = texts.EMPTY_MESSAGE
GREETING = texts.GREETING
ASK_LOGIN = texts.ASK_LOGIN
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening))( there| again)?[\s!.,]*$", re.I)


def is_greeting(text: str) -> bool:
    """A message that is only a greeting: it needs an answer, not a model step."""
    return bool(_GREETING.match(text))

NO_ANSWER = texts.NO_ANSWER


def safe_answer(tool_messages: list[str]) -> str:
    """An honest reply built only from what the tools said this turn."""
    said = [m for m in tool_messages if m]
    if not said:
        return NO_ANSWER
    return msg(texts.FOUND, found=" ".join(said)).text


def relay(denials: list[str], reads: list[str]) -> str:
    """The tools' own words when the model's reply left out a denial: the denials (each names its
    rule) first, then what the reads found."""
    return " ".join([*denials, *reads]) or NO_ANSWER
