"""Card numbers are masked in any text before it is stored (tools/masking.py): next to CJK or accented
letters, in groups joined by any separator, with a dash at either end; numbers that are not cards
(order ids, zip codes, phones, amounts, dates) stay as they are."""

from __future__ import annotations

import pytest

from tools.masking import mask_card_numbers
from tools.values import FreeText
from pydantic import TypeAdapter

CARDS = [
    ("4242424242424242", "[card ending 4242]"),
    ("卡号4242424242424242", "卡号[card ending 4242]"),
    ("我的卡是4111 1111 1111 1111请退款", "我的卡是[card ending 1111]请退款"),
    ("信用卡：５５５５５５５５５５５５４４４４", "信用卡：[card ending 4444]"),
    ("tarjeta número4111111111111111", "tarjeta número[card ending 1111]"),
    ("pagué con la tarjetá4242 4242 4242 4242.", "pagué con la tarjetá[card ending 4242]."),
    ("4242.4242.4242.4242", "[card ending 4242]"),
    ("4242  4242  4242  4242", "[card ending 4242]"),
    ("4242\u00a04242\u00a04242\u00a04242", "[card ending 4242]"),
    ("4242\u202f4242\u202f4242\u202f4242", "[card ending 4242]"),
    ("4242\t4242\t4242\t4242", "[card ending 4242]"),
    ("4242/4242/4242/4242", "[card ending 4242]"),
    ("4242_4242_4242_4242", "[card ending 4242]"),
    ("4242-4242-4242-4242", "[card ending 4242]"),
    ("-4242424242424242", "-[card ending 4242]"),
    ("4242424242424242-", "[card ending 4242]-"),
    ("--4242-4242-4242-4242--", "--[card ending 4242]--"),
    ("4242 - 4242 - 4242 - 4242", "[card ending 4242]"),
    ("4242\u30004242\u30004242\u30004242", "[card ending 4242]"),
    ("３７８２８２２４６３１０００５", "[card ending 0005]"),
    ("amex 3782 822463 10005", "amex [card ending 0005]"),
    ("6011-1111-1111-1117 exp 12/27", "[card ending 1117] exp 12/27"),
    ("card 4242 4242 4242 4242 12/27 cvc 123", "card [card ending 4242] 12/27 cvc 123"),
    ("número 5555 5555 5555 4444, gracias", "número [card ending 4444], gracias"),
    ("cards 4242424242424242 and 5555555555554444", "cards [card ending 4242] and [card ending 4444]"),
    ("4242424242424242,5555555555554444", "[card ending 4242],[card ending 4444]"),
    ("x4000056655665556y", "x[card ending 5556]y"),
    ("é4000 0566 5566 5556ñ", "é[card ending 5556]ñ"),
]

NOT_CARDS = [
    "order W1003 and #W1004, Ｗ１００３",
    "zip 94107-1234, 邮编10001",
    "call me at +1 (415) 555-0199 or 415.555.0100",
    "电话 415 555 0199 / 415 555 0100",
    "refund $1,234.56 or 1.234,56 € or ¥12,345",
    "delivered 2026-11-23, 23/11/2026, 2026年11月23日",
    "1234567812345678",  # 16 digits that fail the Luhn check
    "tracking 9400111899223344556677",  # longer than any card
    "4242 4242 4242",  # too short
]


@pytest.mark.parametrize(("text", "masked"), CARDS)
def test_a_card_number_is_masked_in_any_format(text, masked):
    assert mask_card_numbers(text) == masked


def test_at_least_25_card_formats_are_covered():
    assert len(CARDS) >= 25


@pytest.mark.parametrize("text", NOT_CARDS)
def test_numbers_that_are_not_cards_stay(text):
    assert mask_card_numbers(text) == text


def test_free_text_arguments_are_stored_masked():
    reason = TypeAdapter(FreeText(200)).validate_python("wrong size, refund to 4242 4242 4242 4242 please")
    assert reason == "wrong size, refund to [card ending 4242] please"


def test_a_ticket_from_a_real_tool_call_stores_no_card(shop, ctx_for, call, store):
    r = call(ctx_for("C-JANE"), "escalate_to_human",
             {"reason": "customer_request", "summary": "charge my other card 5555\u00a05555\u00a05555\u00a04444"})
    assert r.status == "ok"
    summaries = str(store.all("SELECT summary FROM tickets"))
    assert "5555" not in summaries.replace("[card ending 4444]", "") and "[card ending 4444]" in summaries
