"""search_help_center and load_help_center (SQLite FTS5)."""

import pytest

from tools.help_center import load_help_center, search_words, split_sections
from policies import HELP_CENTER


def test_help_center_document_has_the_expected_articles():
    titles = [t for t, _ in split_sections(HELP_CENTER.read_text())]
    assert 15 <= len(titles) <= 25
    for needle in ("account", "password", "payment", "browser", "app", "promo", "privacy", "contact"):
        assert any(needle in t.lower() for t in titles), needle


def test_search_loads_lazily_and_finds_the_answer(store, ctx_for, call):
    assert store.one("SELECT count(*) AS n FROM help_articles")["n"] == 0
    r = call(ctx_for(None), "search_help_center", {"query": "How do I reset my password?"})
    assert r.status == "ok" and r.data["articles"][0]["title"] == "Resetting your password"
    assert len(r.data["articles"]) == 3


def test_policy_sections_are_searchable(store, ctx_for, call):
    r = call(ctx_for(None), "search_help_center", {"query": "what is your return policy"})
    sources = {a["source"] for a in r.data["articles"]}
    assert "policy" in sources
    assert any("30 days" in a["body"] for a in r.data["articles"])


@pytest.mark.parametrize("query", ['"unbalanced', "NEAR(a b", "card* AND -", "col:value ^x", "((( shipping", "OR AND NOT"])
def test_fts_syntax_in_user_text_does_not_crash(store, ctx_for, call, query):
    r = call(ctx_for(None), "search_help_center", {"query": query})
    assert r.status == "ok"


def test_query_without_words_is_an_error(store, ctx_for, call):
    r = call(ctx_for(None), "search_help_center", {"query": "?!*"})
    assert r.status == "error"
    assert search_words("?!") == []


def test_no_match_is_an_empty_answer(store, ctx_for, call):
    r = call(ctx_for(None), "search_help_center", {"query": "zyzzyva quux"})
    assert r.status == "ok" and r.data["articles"] == []


def test_load_is_idempotent(store):
    n = load_help_center(store)
    first = store.content_hash()
    assert load_help_center(store) == n
    assert store.content_hash() == first
    assert store.one("SELECT count(*) AS n FROM help_articles")["n"] == n


def test_load_from_another_document(store, tmp_path, ctx_for, call):
    doc = tmp_path / "help.md"
    doc.write_text("# Help\n\n## Pet policy\nDogs are welcome in every {{ store.name }} shop.\n")
    load_help_center(store, doc)
    rows = store.all("SELECT title, body FROM help_articles WHERE source = 'help_center'")
    assert rows == [{"title": "Pet policy", "body": "Dogs are welcome in every Northwind Outfitters shop."}]
