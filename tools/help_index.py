"""The help center's word index in every language it is written in: its translated documents, and how a
text becomes index terms — jieba's words for Chinese, Snowball stems for Spanish and English — so that a
question finds its article in the customer's language.

A translation is a sibling document (`help_center.zh.md` next to `help_center.md`) with the same `##`
articles in the same order. A translated article is indexed with its own terms and those of its English
original, so a question in the customer's words and a topic the model wrote in English both find it.
A language with no translation is searched in English.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import jieba
import snowballstemmer

from tools.i18n import ENGLISH

STEMMERS = {"en": "english", "es": "spanish"}
# English words that match almost every article and only add noise to the ranking.
STOPWORDS = frozenset(
    "a an and are as at be but by can could do does for from have how i if in is it me my of on or our "
    "please should so that the there this to was we what when where which who why will with would you "
    "your yours".split())
MAX_TERMS = 24

jieba.setLogLevel(logging.WARNING)


def base_language(lang: str | None) -> str:
    """"zh_CN", "zh-Hans" or "ZH" -> "zh"; nothing -> English."""
    return re.split(r"[_-]", (lang or ENGLISH).strip().lower())[0] or ENGLISH


def translations(document: Path) -> dict[str, Path]:
    """The translations of a help document found next to it, by language: {"zh": .../help_center.zh.md}."""
    pattern = f"{document.stem}.*{document.suffix}"
    found = {p.name[len(document.stem) + 1:-len(document.suffix)]: p for p in document.parent.glob(pattern)}
    return {lang: path for lang, path in sorted(found.items()) if re.fullmatch(r"[a-z]{2,3}", lang)}


def searched_language(lang: str | None, document: Path) -> str:
    """The language the index is searched in: the customer's when the help center is translated to it."""
    lang = base_language(lang)
    return lang if lang in translations(document) else ENGLISH


def terms(text: str, lang: str) -> list[str]:
    """The index terms of a text in a language: its words (jieba's for Chinese) lowercased, English
    stopwords left out, stemmed where Snowball has the language, accents folded."""
    words = jieba.lcut_for_search(text) if lang == "zh" else re.findall(r"\w+", text)
    words = [w.lower() for w in words if re.search(r"\w", w)]
    if lang == ENGLISH:
        words = [w for w in words if w not in STOPWORDS] or words
    if lang in STEMMERS:
        words = _stemmer(STEMMERS[lang]).stemWords(words)
    return [_folded(w) for w in words]


def query_terms(text: str, lang: str) -> list[str]:
    """A question's terms for the index of `lang`: in that language and, for a translation, in English
    too (the index holds both), each once."""
    found = terms(text, lang) + (terms(text, ENGLISH) if lang != ENGLISH else [])
    return list(dict.fromkeys(t for t in found if t))[:MAX_TERMS]


@lru_cache(maxsize=4)
def _stemmer(name: str):
    return snowballstemmer.stemmer(name)


def _folded(word: str) -> str:
    """Without accents or width ("devolución" and "devolucion" are one term); CJK unchanged."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
