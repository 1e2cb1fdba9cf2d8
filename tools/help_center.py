"""search_help_center: full-text search (the backend's: SQLite FTS5, PostgreSQL tsvector) over the
help-center articles and the policy's prose sections.

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
from tools.policy import Policy, load_policy, render_prose
from tools.registry import read_tool
from tools.results import N_, NP_, ToolResult, error, msg, ok
from tools.store import Store
from tools.values import FreeText

MAX_RESULTS = 3
# Words that match almost every article and only add noise to the ranking.
STOPWORDS = frozenset(
    "a an and are as at be but by can could do does for from have how i if in is it me my of on or our "
    "please should so that the there this to was we what when where which who why will with would you "
    "your yours".split())


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
def _articles(path: str, mtime: float, policy_json: str) -> tuple[str, tuple[dict, ...]]:
    policy = Policy.model_validate_json(policy_json)
    rows = [{"id": f"help:{_slug(t)}", "title": t, "section": t, "body": b, "source": "help_center"}
            for t, b in split_sections(render_prose(Path(path).read_text(encoding="utf-8"), policy))]
    rows += [{"id": f"policy:{_slug(t)}", "title": f"Policy: {t}", "section": t, "body": b, "source": "policy"}
             for t, b in split_sections(policy.prose)]
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    return digest, tuple(rows)


def help_articles(policy: Policy, path: str | Path | None = None) -> tuple[str, tuple[dict, ...]]:
    path = Path(path) if path else HELP_CENTER
    return _articles(str(path), path.stat().st_mtime, policy.model_dump_json())


def load_help_center(store: CommerceBackend | Store, path: str | Path | None = None, *,
                     policy: Policy | None = None) -> int:
    """Replace the help-center index with the help document at `path` (default: the shipped one) and
    the policy's prose sections. Idempotent: loading twice leaves the same rows. Returns the count."""
    backend = SqliteBackend(store) if isinstance(store, Store) else store
    digest, rows = help_articles(policy or load_policy(), path)
    with backend.transaction() as tx:
        tx.replace_help_articles([HelpArticle(**r) for r in rows], digest)
    return len(rows)


def search_words(text: str) -> list[str]:
    """The words of the customer's text worth searching for: no stopwords (unless that leaves none),
    each once, at most 24."""
    words = re.findall(r"\w+", text.lower())
    meaningful = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(meaningful))[:24]


class SearchHelpCenterArgs(BaseModel):
    query: FreeText(500, min_length=1) = Field(description="The customer's question or its keywords, e.g. 'reset password' or 'what is your return policy'.")


@read_tool(requires_identity=False)
def search_help_center(ctx: ToolContext, args: SearchHelpCenterArgs) -> ToolResult:
    """Search the help center and the store policy for general questions (accounts, passwords, payment methods, shipping, returns policy, the app, browsers, privacy, contact hours). Returns the 3 best articles. No verification needed."""
    words = search_words(args.query)
    if not words:
        return error("The query has no words to search for; ask what the customer wants to know.")
    digest, _ = help_articles(ctx.policy)
    if ctx.store.help_center_version() != digest:
        load_help_center(ctx.store, policy=ctx.policy)
    rows = ctx.store.search_help(words, MAX_RESULTS)
    if not rows:
        return ok(msg(N_("No help article matches that question.")), articles=[],
                  suggestion="rephrase the question, or escalate to a human")
    return ok(msg(NP_("{count} article found; the first is the best match.",
                      "{count} articles found; the first is the best match."), count=len(rows)),
              articles=[{"title": r.title, "body": r.body, "source": r.source} for r in rows])
