"""The conversation's language: which one a customer message is evidence of, and which languages have a
shipped catalog (the others are answered through the model's translation, fact-checked).

A message counts as evidence only when lingua (restricted to the languages below) is confident and the
message has enough letters once its identifiers are taken out: "ok", "W1003", an email or a zip code
never switch the conversation. The understanding step's `lang` counts when the detector agrees with
it, or, for a language the detector does not know, when the message is long enough to mean it.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from agent.messages import SHIPPED
from agent.understanding.ids import without_identifiers
from tools.i18n import ENGLISH

# the shipped languages, the languages measured through translation, and their close neighbours (so a
# Portuguese message is not taken for Spanish)
DETECTED = (Language.ENGLISH, Language.CHINESE, Language.SPANISH, Language.FRENCH, Language.GERMAN,
            Language.ITALIAN, Language.PORTUGUESE, Language.DUTCH, Language.JAPANESE, Language.KOREAN,
            Language.RUSSIAN)
MIN_CONFIDENCE = 0.5  # lingua's relative confidence in its best language
AGREEING = 0.3  # ... enough when the understanding step names the same language
MIN_LETTERS = 4  # letters of an alphabet (a Han character counts as a word)
MIN_LETTERS_MODEL_ONLY = 12  # a language lingua does not know: only the model's word, on a longer message


@lru_cache(maxsize=1)
def _detector():
    return LanguageDetectorBuilder.from_languages(*DETECTED).with_preloaded_language_models().build()


def warm() -> None:
    """Load the detector's language models now (lazily, the first detection takes a second)."""
    _detector()


def shipped_languages() -> set[str]:
    return {ENGLISH, *SHIPPED.locales()}


def has_catalog(lang: str) -> bool:
    return _base(lang.replace("-", "_")) in shipped_languages()


def letters(text: str) -> int:
    """Letters of the text; a CJK ideograph or kana counts as a whole word (three letters)."""
    return sum(3 if unicodedata.east_asian_width(c) == "W" else 1 for c in text if c.isalpha())


def detect(text: str) -> str | None:
    """The language a message is evidence of (two letters), or None when it is too short or unclear."""
    words = without_identifiers(text)
    if letters(words) < MIN_LETTERS:
        return None
    best = _detector().compute_language_confidence_values(words)[0]
    return _code(best.language) if best.value >= MIN_CONFIDENCE else None


def _code(language: Language) -> str:
    return language.iso_code_639_1.name.lower()


def locale_name(lang: str) -> str:
    """A language tag as a Babel locale name ("zh-CN" -> "zh_CN", "ES" -> "es"); ValueError if unknown."""
    try:
        return str(Locale.parse(lang.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a language: {lang!r}") from exc


def _base(lang: str) -> str:
    return lang.split("_")[0]


def conversation_language(current: str, text: str, model_lang: str | None) -> str:
    """The conversation's language after this customer message (its locale kept while the language
    stays: "es_MX" stays "es_MX" when a message is in Spanish)."""
    lang = _language(_base(current), text, model_lang)
    return current if lang == _base(current) else lang


def _language(current: str, text: str, model_lang: str | None) -> str:
    found = detect(text)
    if found:
        return found
    if not model_lang or model_lang == current or not model_lang.isalpha():
        return current
    words = without_identifiers(text)
    known = {_code(lang) for lang in DETECTED}
    if model_lang in known:
        values = _detector().compute_language_confidence_values(words) if letters(words) >= MIN_LETTERS else []
        agrees = bool(values) and _code(values[0].language) == model_lang and values[0].value >= AGREEING
        return model_lang if agrees else current
    return model_lang if letters(words) >= MIN_LETTERS_MODEL_ONLY and _known_iso(model_lang) else current


def _known_iso(code: str) -> bool:
    return any(iso.name.lower() == code for iso in IsoCode639_1)
