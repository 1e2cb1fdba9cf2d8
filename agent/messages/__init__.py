"""The message catalog: every customer-facing text (tool results, the runtime's own words) by its
gettext msgid, rendered in the customer's locale.

    render(message_id, params, locale="en") -> str

`message_id` is the English source text (a tool result's `message_id`, `summary_id`, or an
`agent.turn.texts` constant); `params` are the facts it quotes (typed, or as tagged JSON from
`ToolResult.model_dump`). Translations come from `locale/<lang>/LC_MESSAGES/messages.po`, compiled
to gettext .mo in memory when a locale is first used (no binary files in the repository, no build
step); a msgid with no translation is said in English. Money, dates, numbers and lists are formatted
for the locale by Babel. `messages.pot` is extracted from the code (`python -m agent.messages.extract`).
"""

from __future__ import annotations

import io
from functools import cached_property, lru_cache
from pathlib import Path
from string import Formatter
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from tools.i18n import DATE_FORMAT, DATETIME_FORMAT, ENGLISH, Msg, decode_params, fill

HERE = Path(__file__).parent
POT = "messages.pot"
DOMAIN = "messages"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def compile_po(path: Path) -> Translations:
    """A .po file as gettext translations, compiled to .mo in memory (fuzzy entries left out)."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(path))
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def candidates(locale: str) -> list[str]:
    """"de_CH" -> ["de_CH", "de"]: the catalogs to try, most specific first."""
    name = locale.replace("-", "_")
    base = name.split("_")[0]
    return [name] if name == base else [name, base]


class MessageCatalog:
    """The catalogs in one directory: `messages.pot` and `locale/<lang>/LC_MESSAGES/messages.po`."""

    def __init__(self, directory: Path = HERE):
        self.directory = Path(directory)
        self._translations: dict[str, NullTranslations] = {}

    def po_path(self, locale: str) -> Path:
        return self.directory / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"

    def locales(self) -> list[str]:
        return sorted(p.parent.parent.name for p in (self.directory / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po"))

    @cached_property
    def template(self) -> Catalog:
        return read_catalog(self.directory / POT)

    @cached_property
    def plurals(self) -> dict[str, str]:
        """msgid -> msgid_plural for the messages with a plural form."""
        return {m.id[0]: m.id[1] for m in self.template if m.id and m.pluralizable}

    def translations(self, locale: str) -> NullTranslations:
        """The locale's catalog (then its language's), compiled once; none: the msgids (English)."""
        if locale not in self._translations:
            found = [compile_po(self.po_path(c)) for c in candidates(locale) if self.po_path(c).exists()]
            for more in found[1:]:
                found[0].add_fallback(more)
            self._translations[locale] = found[0] if found else NullTranslations()
        return self._translations[locale]

    def render(self, message_id: str, params: dict[str, Any] | None = None, locale: str = ENGLISH) -> str:
        """The message in `locale`, its params formatted for that locale. A translation that does not
        fit its params (a placeholder check missed) falls back to the English template."""
        params = decode_params(params)
        t = self.translations(locale)
        plural = self.plurals.get(message_id)
        template = t.ngettext(message_id, plural, params["count"]) if plural else t.gettext(message_id)
        try:
            return self._fill(template, params, locale, t)
        except (KeyError, IndexError, ValueError):
            if template in (message_id, plural):
                raise
            return self._fill(plural if plural and params["count"] != 1 else message_id, params, locale, t)

    def _fill(self, template: str, params: dict[str, Any], locale: str, t: NullTranslations) -> str:
        return fill(template, params, babel_locale(locale), nested=lambda m: self.render_msg(m, locale),
                    date_pattern=t.gettext(DATE_FORMAT), datetime_pattern=t.gettext(DATETIME_FORMAT))

    def render_msg(self, message: Msg, locale: str = ENGLISH) -> str:
        return self.render(message.message_id, message.params, locale)


@lru_cache(maxsize=32)
def babel_locale(locale: str) -> Locale:
    """The Babel locale that formats numbers and dates; English for a name Babel does not know."""
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(ENGLISH)


def placeholders(text: str) -> set[str]:
    """The named placeholders of a message ("{day:EEEE}" -> "day"). Raises ValueError on bad braces."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in Formatter().parse(text) if name}


def check_catalogs(directory: Path = HERE) -> list[str]:
    """Problems of the shipped catalogs against `messages.pot`: a msgid missing from a locale, or a
    translation whose placeholders differ from its msgid's (a plural form may leave out {count})."""
    catalog = MessageCatalog(directory)
    problems = []
    for locale in catalog.locales():
        problems += check_locale(catalog.template, read_catalog(catalog.po_path(locale)), locale)
    return problems


def check_locale(template: Catalog, po: Catalog, locale: str) -> list[str]:
    """English's catalog may leave a msgid untranslated (the msgid is the English); another shipped
    language must translate every one, with every plural form of the language."""
    problems = []
    for message in template:
        if not message.id:
            continue
        key = message.id[0] if message.pluralizable else message.id
        found = po.get(message.id)
        if found is None or found.pluralizable != message.pluralizable:
            problems.append(f"{locale}: missing msgid {key!r}")
        elif locale != ENGLISH and (found.fuzzy or not _translated(found, po.num_plurals)):
            problems.append(f"{locale}: msgid {key!r} is not translated")
        elif found.string and not found.fuzzy:
            problems += check_translation(message, found, locale)
    return problems


def _translated(message: Any, forms: int) -> bool:
    strings = message.string if message.pluralizable else (message.string,)
    return len(strings) == (forms if message.pluralizable else 1) and all(strings)


def check_translation(message: Any, found: Any, locale: str) -> list[str]:
    ids = message.id if message.pluralizable else (message.id,)
    strings = found.string if message.pluralizable else (found.string,)
    expected = set().union(*(placeholders(i) for i in ids))
    problems = []
    for text in strings:
        try:
            names = placeholders(text)
        except ValueError as exc:
            problems.append(f"{locale}: {ids[0]!r}: translation {text!r} is not a valid template ({exc})")
            continue
        if text and names != expected and not (message.pluralizable and names == expected - {"count"}):
            problems.append(f"{locale}: {ids[0]!r}: translation {text!r} has placeholders {sorted(names)}, "
                            f"the msgid has {sorted(expected)}")
    return problems


SHIPPED = MessageCatalog()


def render(message_id: str, params: dict[str, Any] | None = None, locale: str = ENGLISH) -> str:
    """A catalog message in `locale`, from the shipped catalogs."""
    return SHIPPED.render(message_id, params, locale)
