"""search_help_center: SQLite FTS5 over the help-center articles (in every language they are translated
to, see tools/help_index.py) and the policy's prose sections (English).

`load_help_center(store)` (re)loads both documents into `help_articles` idempotently; a search loads
them lazily when the table is empty or the documents changed (e.g. a new policy number).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from policies import HELP_CENTER
from tools.context import ToolContext
from tools.help_index import query_terms, searched_language, terms, translations
from tools.i18n import ENGLISH
from tools.errors import PolicyError
from tools.policy import Policy, load_policy, render_prose
from tools.registry import read_tool
from tools.results import N_, NP_, ToolResult, error, msg, ok
from tools.store import Store
from tools.values import FreeText

VERSION_KEY = "help_center_version"
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


def load_help_center(store: Store, path: str | Path | None = None, *, policy: Policy | None = None) -> int:
    """Replace the help-center index with the help document at `path` (default: the shipped one) and
    the policy's prose sections. Idempotent: loading twice leaves the same rows. Returns the count."""
    digest, rows = help_articles(policy or load_policy(), path)
    with store.write() as db:
        db.execute("DELETE FROM help_articles")
        db.conn.executemany("INSERT INTO help_articles (id, lang, title, section, body, source, title_terms, "
                            "body_terms) VALUES (:id, :lang, :title, :section, :body, :source, :title_terms, "
                            ":body_terms)", rows)
        db.execute("INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)", (VERSION_KEY, digest))
    return len(rows)


def fts_query(words: list[str]) -> str | None:
    """Index terms as a safe FTS5 query: each quoted (so FTS syntax such as quotes, `*`, `-`, NEAR or AND
    in the customer's text is just words), ORed together and ranked by bm25."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    return " OR ".join(quoted) if quoted else None


class SearchHelpCenterArgs(BaseModel):
    query: FreeText(500, min_length=1) = Field(description="The customer's question or its keywords, e.g. 'reset password' or 'what is your return policy'.")
    lang: FreeText(16) = Field(ENGLISH, description="The customer's language, e.g. 'zh' or 'es': articles come back in it where the help center is translated (else in English).")


@read_tool(requires_identity=False)
def search_help_center(ctx: ToolContext, args: SearchHelpCenterArgs) -> ToolResult:
    """Search the help center and the store policy for general questions (accounts, passwords, payment methods, shipping, returns policy, the app, browsers, privacy, contact hours). Returns the 3 best articles. No verification needed."""
    lang = searched_language(args.lang, HELP_CENTER)
    match = fts_query(query_terms(args.query, lang))
    if match is None:
        return error("The query has no words to search for; ask what the customer wants to know.")
    digest, _ = help_articles(ctx.policy)
    loaded = ctx.store.one("SELECT value FROM store_meta WHERE key = ?", (VERSION_KEY,))
    if loaded is None or loaded["value"] != digest:
        load_help_center(ctx.store, policy=ctx.policy)
    rows = ctx.store.all(
        "SELECT a.id, a.title, a.body, a.source FROM help_articles_fts f JOIN help_articles a ON a.rowid = f.rowid "
        "WHERE help_articles_fts MATCH ? AND a.lang = ? ORDER BY bm25(help_articles_fts, 4.0, 1.0) LIMIT ?",
        (match, lang, MAX_RESULTS))
    if not rows:
        return ok(msg(N_("No help article matches that question.")), articles=[],
                  suggestion="rephrase the question, or escalate to a human")
    return ok(msg(NP_("{count} article found; the first is the best match.",
                      "{count} articles found; the first is the best match."), count=len(rows)),
              articles=[{"title": r["title"], "body": r["body"], "source": r["source"]} for r in rows])
