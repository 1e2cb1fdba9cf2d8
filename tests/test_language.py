"""The conversation's language (agent/language.py, Session.lang): detected from the customer's messages
(short ones, ids and emails do not switch it), stored and resumed, set by the library; replies composed
in it; a language with no catalog translated by the model and fact-checked (scripted model here)."""

from __future__ import annotations

import pytest

from agent.language import conversation_language, detect, has_catalog, locale_name
from agent.messages import render
from agent.models.base import ModelReply
from agent.turn import texts
from tests.agent_harness import YES, make_agent, understood


@pytest.mark.parametrize("text", ["ok", "W1003", "#W1003", "jane.doe@example.com", "94107", "no", "jane.doe@example.com 94107",
                                  "+1 415 555 0199", "OK!", "?", "W1003 W1004"])
def test_short_messages_and_ids_are_no_evidence(text):
    assert detect(text) is None
    assert conversation_language("zh", text, "en") == "zh"


@pytest.mark.parametrize(("text", "lang"), [
    ("是的", "zh"), ("好的，谢谢", "zh"), ("不用了", "zh"), ("我的订单W1003在哪里？", "zh"),
    ("Hola, quiero cancelar mi pedido W1001", "es"), ("gracias por todo", "es"), ("¿Dónde está mi pedido?", "es"),
    ("Where is my order W1003?", "en"), ("Bitte stornieren Sie meine Bestellung", "de"),
])
def test_a_message_in_a_language_is_evidence_of_it(text, lang):
    assert conversation_language("en" if lang != "en" else "zh", text, None) == lang


def test_the_models_lang_counts_when_the_detector_agrees_or_for_a_long_message():
    assert conversation_language("en", "Sí, por favor.", "es") == "es"
    assert conversation_language("en", "ok", "es") == "en"  # too short, whatever the model says
    assert conversation_language("es_MX", "quiero devolver mi pedido W1002 por favor", "es") == "es_MX"


def test_locale_names():
    assert locale_name("zh-CN") == "zh_Hans_CN" and locale_name("ES") == "es" and has_catalog(locale_name("zh-CN"))
    assert has_catalog("zh_Hans") and has_catalog("es_MX") and not has_catalog("fr")
    with pytest.raises(ValueError):
        locale_name("klingon!")


def test_a_chinese_conversation_is_answered_in_chinese_and_resumed_in_it(tmp_path):
    agent, model = make_agent(tmp_path, [
        {"lang": "zh", "requests": [{"kind": "cancel_order", "order": "W1001", "reason": "买错了"}]}, YES])
    session = agent.session()
    reply = session.send("你好，我是jane.doe@example.com，邮编94107。请取消订单W1001，买错了。")
    assert session.lang == "zh" and "W1001" in reply.text and "要我继续吗" in reply.text
    assert "取消订单W1001" in reply.pending_action.summary  # the card shows what is confirmed, in Chinese
    again = agent.resume(session.id)
    assert again.lang == "zh"
    done = again.send("是的")
    assert done.text.startswith("订单W1001已取消") and "US$" in done.text


def test_a_yes_or_an_id_does_not_switch_a_spanish_conversation_to_english(tmp_path):
    agent, model = make_agent(tmp_path, [understood("get_order", "W1003"), understood("get_order", "W1003")])
    session = agent.session(lang="es")
    session.bind_customer("jane.doe@example.com")
    reply = session.send("W1003")  # the model's lang is "en": no evidence
    assert session.lang == "es" and reply.text.startswith("El pedido W1003")
    reply = session.send("Where is W1003?")  # the customer now writes in English
    assert session.lang == "en" and reply.text.startswith("Order W1003")


def _translating(prefix: str):
    """The model's translation step: the composed reply behind a French prefix (every fact kept)."""
    def step(messages, allowed, reply_only):
        assert reply_only and "'fr'" in messages[0]["content"]
        return ModelReply(text=prefix + messages[1]["content"])
    return step


def test_a_language_without_a_catalog_is_translated_by_the_model_when_the_facts_survive(tmp_path):
    agent, model = make_agent(tmp_path, [understood("get_order", "W1003"), _translating("Voici : ")])
    session = agent.session(lang="fr")
    session.bind_customer("jane.doe@example.com")
    reply = session.send("Bonjour, où en est ma commande W1003 ?")
    assert session.lang == "fr" and reply.text.startswith("Voici : Order W1003")
    assert model.remaining == 0
    rewrite = agent.store.one("SELECT status FROM audit_log WHERE tool = 'reply_rewrite'")
    assert rewrite["status"] == "ok"


def test_a_translation_that_loses_a_fact_is_replaced_by_english_with_a_note(tmp_path):
    def loses_the_date(messages, allowed, reply_only):
        return ModelReply(text="Votre commande W1003 est en route.")
    agent, model = make_agent(tmp_path, [understood("get_order", "W1003"), loses_the_date])
    session = agent.session(lang="fr")
    session.bind_customer("jane.doe@example.com")
    reply = session.send("Bonjour, où en est ma commande W1003 ?")
    assert reply.text.startswith("Order W1003") and reply.text.endswith(render(texts.IN_ENGLISH))
    assert session.lang == "fr"
