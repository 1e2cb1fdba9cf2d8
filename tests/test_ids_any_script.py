"""Identifiers are found by code next to any characters: CJK, accented letters, full-width forms, no
spaces (agent/understanding/ids.py); and what is left is what says the message's language."""

from __future__ import annotations

import pytest

from agent.understanding.ids import find_identifiers, without_identifiers

ORDERS = [
    ("订单W1003在哪", ("W1003",)),
    ("我的订单#W1003还没到", ("W1003",)),
    ("订单号：Ｗ１００３", ("W1003",)),
    ("w1003号订单", ("W1003",)),
    ("订单w1003和W1004都要取消", ("W1003", "W1004")),
    ("¿Dónde está mi pedido W1003?", ("W1003",)),
    ("pedidoW1003", ("W1003",)),
    ("númeroW1003", ("W1003",)),
    ("el pedido #W1003.", ("W1003",)),
    ("（Ｗ１００３）", ("W1003",)),
]


@pytest.mark.parametrize(("text", "orders"), ORDERS)
def test_order_ids_next_to_any_characters(text, orders):
    assert find_identifiers(text).orders == orders


LOGINS = [
    "邮箱jane.doe@example.com邮编94107",
    "我是jane.doe@example.com，邮编94107。",
    "jane.doe@example.com的邮编是94107",
    "correo:jane.doe@example.com,código postal:94107",
    "Soy jane.doe@example.com y mi código postal es 94107.",
    "ｊａｎｅ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ　９４１０７",
    "jane.doe@example.com zip94107",
]


@pytest.mark.parametrize("text", LOGINS)
def test_login_details_next_to_any_characters(text):
    assert find_identifiers(text).login == {"email": "jane.doe@example.com", "zip_code": "94107"}


PHONES = [
    ("电话+1 415 555 0199谢谢", "14155550199"),
    ("电话4155550199", "4155550199"),
    ("mi teléfono es 415-555-0199.", "4155550199"),
    ("teléfono+14155550199", "14155550199"),
    ("号码（415）555-0199", "4155550199"),
]


@pytest.mark.parametrize(("text", "phone"), PHONES)
def test_phone_numbers_next_to_any_characters(text, phone):
    assert find_identifiers(text).phones == (phone,)


def test_a_message_with_everything_and_no_spaces():
    ids = find_identifiers("订单W1003，邮编94107，电话(415) 555-0199，邮箱mei.chen@example.com")
    assert ids.orders == ("W1003",) and ids.zips == ("94107",)
    assert ids.phones == ("4155550199",) and ids.emails == ("mei.chen@example.com",)


def test_not_ids():
    ids = find_identifiers("SKU-W12345 costs $12,345.00 and 1.5 kg, 2026-11-23")
    assert ids.zips == () and ids.phones == ()


def test_without_identifiers_keeps_only_words():
    assert without_identifiers("W1003").strip() == ""
    assert without_identifiers("jane.doe@example.com 94107").strip() == ""
    assert without_identifiers("订单W1003在哪").replace(" ", "") == "订单在哪"


def test_every_unicode_space_separator_is_a_plain_space():
    import sys
    import unicodedata

    from agent.understanding.ids import normalize

    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Zs")
    assert normalize(f"a{spaces}b") == "a" + " " * len(spaces) + "b"
    assert normalize("订单\u3000W1003\u1680到了吗") == "订单 W1003 到了吗"
