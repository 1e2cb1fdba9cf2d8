"""Payment card numbers masked in any text before it is stored (messages, tool-call arguments, the
audit log, tickets): "[card ending 4242]".

A card number is 13-19 digits that pass the Luhn check (python-stdnum), written as one run or as
groups joined by up to three separators (spaces, double spaces, no-break spaces, tabs, dots,
slashes, underscores, dashes, their full-width forms), next to any character: a CJK or accented
letter, a dash at either end. A run of groups longer than a card (a card followed by its expiry
date) is searched for the groups that form one. Digits in any script count (full-width ４２４２).
"""

from __future__ import annotations

import re
import unicodedata

from stdnum import luhn

_SEP = r"[\s._/\-\u00a0\u202f\u3000\uff0d\uff0e\uff0f\uff3f]"
_RUN = re.compile(rf"\d+(?:{_SEP}{{1,3}}\d+)*")
_GROUP = re.compile(r"\d+")
CARD_DIGITS = range(13, 20)


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in text)


def is_card_number(digits: str) -> bool:
    return len(digits) in CARD_DIGITS and luhn.is_valid(digits)


def _card_span(run: str) -> tuple[int, int, str] | None:
    """The longest (then leftmost) stretch of whole groups of a run that is a card number."""
    groups = [(m.start(), m.end(), _ascii_digits(m.group())) for m in _GROUP.finditer(run)]
    best = None
    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += groups[j][2]
            if len(digits) > max(CARD_DIGITS):
                break
            if is_card_number(digits) and (best is None or len(digits) > len(best[2])):
                best = (groups[i][0], groups[j][1], digits)
    return best


def _mask(match: re.Match) -> str:
    run = match.group()
    span = _card_span(run)
    if span is None:
        return run
    start, end, digits = span
    return f"{run[:start]}[card ending {digits[-4:]}]{_mask_rest(run[end:])}"


def _mask_rest(text: str) -> str:
    """What follows a masked card in the same run (a second card pasted after the first)."""
    return _RUN.sub(_mask, text) if text else text


def mask_card_numbers(text: str | None) -> str | None:
    """The text with every card number replaced by "[card ending NNNN]"."""
    if not text:
        return text
    return _RUN.sub(_mask, text)
