"""search_help_center: full-text search (the backend's: SQLite FTS5, PostgreSQL tsvector) over the
help-center articles (in every language they are translated to, see tools/help_index.py) and the
policy's prose sections (English).

`load_help_center(backend)` (re)loads both documents idempotently; a search loads them lazily when
none are loaded or the documents changed (e.g. a new policy number).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from policies import HELP_CENTER
from tools.backend.interface import CommerceBackend
from tools.backend.records import HelpArticle
from tools.backend.sqlite import SqliteBackend
from tools.context import ToolContext
from tools.errors import PolicyError
from tools.help_index import query_terms, searched_language, terms, translations
from tools.i18n import ENGLISH
from tools.policy import Policy, load_policy, render_prose
from tools.registry import read_tool
from tools.results import N_, NP_, ToolResult, error, msg, ok
from tools.store import Store
from tools.values import FreeText

MAX_RESULTS = 3


def split_sections(text: str) -> list[tuple[str, str]]:
    """(title, body) for every `## Title` section of a Markdown document."""
    sections = []
    for chunk in re.split(r"^##\s+", text, flags=re.MULTILINE)[1:]:
        title, _, body = chunk.partition("\n")
        body = re.sub(r"\s+", " ", body).strip()
        if title.strip() and body:
            sections.append((title.strip(), body))
    return sections


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


@lru_cache(maxsize=8)
def _articles(path: str, stamps: tuple[float, ...], policy_json: str) -> tuple[str, tuple[dict, ...]]:
    policy = Policy.model_validate_json(policy_json)
    english = _sections(Path(path), policy)
    rows = [_row(f"help:{_slug(t)}", ENGLISH, t, b, "help_center") for t, b in english]
    rows += [_row(f"policy:{_slug(t)}", ENGLISH, f"Policy: {t}", b, "policy", section=t)
             for t, b in split_sections(policy.prose)]
    for lang, document in translations(Path(path)).items():
        translated = _sections(document, policy)
        if len(translated) != len(english):
            raise PolicyError(f"{document}: {len(translated)} articles, {Path(path).name} has {len(english)}")
        rows += [_row(f"help:{_slug(t)}", lang, tt, tb, "help_center", original=(t, b))
                 for (t, b), (tt, tb) in zip(english, translated)]
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    return digest, tuple(rows)


def _sections(path: Path, policy: Policy) -> list[tuple[str, str]]:
    return split_sections(render_prose(path.read_text(encoding="utf-8"), policy))


def _row(id: str, lang: str, title: str, body: str, source: str, *, section: str | None = None,
         original: tuple[str, str] | None = None) -> dict:
    """An index row; a translated article is found by its English original's terms as well."""
    def indexed(text: str, english: str | None) -> str:
        return " ".join(terms(text, lang) + (terms(english, ENGLISH) if english else []))

    return {"id": id, "lang": lang, "title": title, "section": section or title, "body": body, "source": source,
            "title_terms": indexed(title, original and original[0]),
            "body_terms": indexed(body, original and original[1])}


def help_articles(policy: Policy, path: str | Path | None = None) -> tuple[str, tuple[dict, ...]]:
    path = Path(path) if path else HELP_CENTER
    stamps = tuple(p.stat().st_mtime for p in (path, *translations(path).values()))
    return _articles(str(path), stamps, policy.model_dump_json())


def load_help_center(store: CommerceBackend | Store, path: str | Path | None = None, *,
                     policy: Policy | None = None) -> int:
    """Replace the help-center index with the help document at `path` (default: the shipped one), its
    translations and the policy's prose sections. Idempotent: loading twice leaves the same rows.
    Returns the count."""
    backend = SqliteBackend(store) if isinstance(store, Store) else store
    digest, rows = help_articles(policy or load_policy(), path)
    with backend.transaction() as tx:
        tx.replace_help_articles([HelpArticle(**r) for r in rows], digest)
    return len(rows)


class SearchHelpCenterArgs(BaseModel):
    query: FreeText(500, min_length=1) = Field(description="The customer's question or its keywords, e.g. 'reset password' or 'what is your return policy'.")
    lang: FreeText(16) = Field(ENGLISH, description="The customer's language, e.g. 'zh' or 'es': articles come back in it where the help center is translated (else in English).")
    for_customer: bool = Field(False, description="Only the help center's articles, written for customers, to quote as they are (the policy's sections are written for the agent).")


@read_tool(requires_identity=False)
def search_help_center(ctx: ToolContext, args: SearchHelpCenterArgs) -> ToolResult:
    """Search the help center and the store policy for general questions (accounts, passwords, payment methods, shipping, returns policy, the app, browsers, privacy, contact hours). Returns the 3 best articles. No verification needed."""
    lang = searched_language(args.lang, HELP_CENTER)
    words = query_terms(args.query, lang)
    if not words:
        return error("The query has no words to search for; ask what the customer wants to know.")
    digest, _ = help_articles(ctx.policy)
    if ctx.store.help_center_version() != digest:
        load_help_center(ctx.store, policy=ctx.policy)
    rows = ctx.store.search_help(words, lang, MAX_RESULTS * (4 if args.for_customer else 1))
    if args.for_customer:
        rows = [r for r in rows if r.source == "help_center"][:MAX_RESULTS]
    if not rows:
        return ok(msg(N_("No help article matches that question.")), articles=[],
                  suggestion="rephrase the question, or escalate to a human")
    return ok(msg(NP_("{count} article found; the first is the best match.",
                      "{count} articles found; the first is the best match."), count=len(rows)),
              articles=[{"title": r.title, "body": r.body, "source": r.source} for r in rows])
