"""search_help_center and load_help_center (SQLite FTS5, PostgreSQL tsvector), in English and in the
translated help centers."""

import re

import pytest

from tools.help_center import help_articles, load_help_center, split_sections
from tools.help_index import query_terms, searched_language, terms, translations
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


def test_for_a_customer_only_the_help_centers_articles_come_back(store, ctx_for, call):
    """The policy's sections are written for the agent ("escalate instead of refunding"): a search whose
    answer is quoted to the customer skips them, and still finds the help center's article on them."""
    everything = call(ctx_for(None), "search_help_center", {"query": "return policy"})
    assert {a["source"] for a in everything.data["articles"]} == {"policy"}
    quoted = call(ctx_for(None), "search_help_center", {"query": "return policy", "for_customer": True})
    assert [a["source"] for a in quoted.data["articles"]] == ["help_center"] * 3
    assert quoted.data["articles"][0]["title"] == "Returns and refunds FAQ"


@pytest.mark.parametrize("query", ['"unbalanced', "NEAR(a b", "card* AND -", "col:value ^x", "((( shipping", "OR AND NOT",
                                   "a & b | !c", "it's my order's", "back\\slash", "card:* <-> (x", "退货'|&"])
def test_fts_syntax_in_user_text_does_not_crash(store, ctx_for, call, query):
    r = call(ctx_for(None), "search_help_center", {"query": query})
    assert r.status == "ok"


def test_query_without_words_is_an_error(store, ctx_for, call):
    r = call(ctx_for(None), "search_help_center", {"query": "?!*"})
    assert r.status == "error"
    assert query_terms("?!", "en") == [] and query_terms("？！。", "zh") == []


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


# ---- the help center in Chinese and Spanish ------------------------------------------------------

def test_the_shipped_translations_are_chinese_and_spanish():
    assert set(translations(HELP_CENTER)) == {"zh", "es"}
    assert searched_language("zh_CN", HELP_CENTER) == "zh" and searched_language("es-MX", HELP_CENTER) == "es"
    assert searched_language("fr", HELP_CENTER) == "en" and searched_language(None, HELP_CENTER) == "en"


@pytest.mark.parametrize("lang", ["zh", "es"])
def test_a_translation_keeps_every_fact_of_its_article(policy, lang):
    """Same articles in the same order; every number, amount, hour, address and menu path survives."""
    _, rows = help_articles(policy)
    english = {r["id"]: r for r in rows if r["lang"] == "en" and r["source"] == "help_center"}
    translated = {r["id"]: r for r in rows if r["lang"] == lang}
    assert translated.keys() == english.keys()
    for id, article in english.items():
        body = translated[id]["body"]
        for fact in re.findall(r"\d[\d.,:%-]*\d%?|\d%?|\S+@\S+\w|\w+ > \w+", article["body"]):
            assert fact in body, (lang, id, fact)


CHINESE = [
    ("忘记登录密码了怎么办？", "重置密码"),
    ("请问怎么注销账号？我想把我的账户彻底删除。", "隐私和您的数据"),
    ("快递要几天才能到？运费多少钱？", "配送时间和运费"),
    ("能用支付宝或者PayPal付款吗？", "支持的付款方式"),
    ("你们发货到日本吗？关税谁付？", "国际配送"),
    ("礼品卡会过期吗？", "礼品卡和商店余额"),
    ("人工客服几点上班？", "联系我们和客服时间"),
    ("买了以后降价了能退差价吗", "价格保护和降价"),
    ("输错密码账号被锁了", "登录问题和账户被锁定"),
]
SPANISH = [
    ("¿Cómo cambio mi contraseña si la olvidé?", "Restablecer la contraseña"),
    ("¿Cuánto tarda el envío urgente y cuánto cuesta?", "Plazos y gastos de envío"),
    ("Quiero borrar mi cuenta y mis datos", "Privacidad y tus datos"),
    ("¿Hacen envíos a Japón? ¿Quién paga los impuestos de aduana?", "Envíos internacionales"),
    ("¿Caducan las tarjetas regalo?", "Tarjetas regalo y crédito de la tienda"),
    ("¿Puedo usar dos cupones de descuento en una compra?", "Códigos promocionales y descuentos"),
    ("La aplicación se cierra en mi Android", "La aplicación móvil"),
    ("¿Cuántos días tengo para devolver algo?", "Preguntas frecuentes sobre devoluciones y reembolsos"),
]


@pytest.mark.parametrize("lang, question, title", [("zh", q, t) for q, t in CHINESE] + [("es", q, t) for q, t in SPANISH])
def test_a_question_finds_its_article_in_the_customers_language(store, ctx_for, call, lang, question, title):
    """Worded unlike the article; the best match comes back translated."""
    r = call(ctx_for(None), "search_help_center", {"query": question, "lang": lang})
    assert r.status == "ok" and r.data["articles"][0]["title"] == title


@pytest.mark.parametrize("lang, title", [("zh", "隐私和您的数据"), ("es", "Privacidad y tus datos"),
                                         ("fr", "Privacy and your data")])
def test_an_english_topic_finds_the_article_in_the_customers_language(store, ctx_for, call, lang, title):
    """The model may write the topic in English; a language with no translation is answered in English."""
    r = call(ctx_for(None), "search_help_center", {"query": "delete account", "lang": lang})
    assert r.data["articles"][0]["title"] == title


def test_chinese_is_indexed_by_words_and_spanish_by_stems():
    assert {"注销", "账户"} <= set(terms("我想注销账户", "zh"))
    assert terms("devolución", "es") == terms("devolucion", "es") == terms("devoluciones", "es")
