"""Customer-facing text as catalog messages, by the gettext convention: the message id IS the English
source text, with named {placeholders}. A tool builds each such text with `msg(N_("..."), **params)`,
which gives the id, its typed params and the English rendering from one template;
`agent.messages.render(message_id, params, locale)` renders the same id and params in any locale.

Params: plain strings and ids stay `str`; counts are `int` (or `float` / `Decimal`); money is `Money`
(integer cents + currency); dates are `date` / `datetime` (`{day:EEEE}` takes a Babel date pattern);
a nested phrase (a status word, a refund timing) is a `Msg`, rendered in the same locale; a list of
values is a `Listing`. A plural message is `NP_(singular, plural)` and is chosen by its `count` param.

Text meant for the model only (argument errors, instructions) is never wrapped in `N_`.
"""

from __future__ import annotations

import string
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Callable, Literal, NamedTuple

from babel.dates import format_date, format_datetime
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

ENGLISH = "en"


def N_(text: str) -> str:
    """Marks a catalog message for Babel's extractor (keyword `N_`); returns it unchanged."""
    return text


class Plural(NamedTuple):
    singular: str  # the message id
    plural: str


def NP_(singular: str, plural: str) -> Plural:
    """Marks a message with a plural form (keyword `NP_:1,2`); `count` chooses the form."""
    return Plural(singular, plural)


# i18n: the Babel (CLDR) pattern of dates in messages, e.g. "dd.MM.yyyy" in German
DATE_FORMAT = N_("yyyy-MM-dd")
# i18n: the Babel (CLDR) pattern of a date with a time in messages
DATETIME_FORMAT = N_("yyyy-MM-dd HH:mm")


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)
    cents: int
    currency: str = "USD"


class Listing(BaseModel):
    """Values shown as one list: "a or b", "a and b", "a, b", "a; b", or sentences joined by spaces."""
    model_config = ConfigDict(frozen=True)
    items: list[Any]
    style: Literal["and", "or", "comma", "semicolon", "sentences"] = "comma"


def _encode(value: Any) -> Any:
    """A param as JSON, typed values tagged with "type" so they come back typed."""
    if isinstance(value, Msg):
        return {"type": "message", "message_id": value.message_id, "params": encode_params(value.params),
                "text": value.text}
    if isinstance(value, Money):
        return {"type": "money", "cents": value.cents, "currency": value.currency}
    if isinstance(value, Listing):
        return {"type": "list", "style": value.style, "items": [_encode(v) for v in value.items]}
    if isinstance(value, (date, datetime)):
        return {"type": type(value).__name__, "value": value.isoformat()}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    return value


def _decode(value: Any) -> Any:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "message":
        return Msg(message_id=value["message_id"], params=value.get("params") or {}, text=value["text"])
    if kind == "money":
        return Money(cents=value["cents"], currency=value.get("currency", "USD"))
    if kind == "list":
        return Listing(style=value["style"], items=[_decode(v) for v in value["items"]])
    if kind == "date":
        return date.fromisoformat(value["value"])
    if kind == "datetime":
        return datetime.fromisoformat(value["value"])
    if kind == "decimal":
        return Decimal(value["value"])
    return value


def encode_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: _encode(v) for k, v in params.items()}


def decode_params(params: dict[str, Any] | None) -> dict[str, Any]:
    return {k: _decode(v) for k, v in (params or {}).items()}


Params = Annotated[dict[str, Any], BeforeValidator(decode_params), PlainSerializer(encode_params)]


class Msg(BaseModel):
    """A catalog message: its id (the English template), the facts it quotes, and its English text."""
    model_config = ConfigDict(frozen=True)
    message_id: str
    params: Params = {}
    text: str

    def __str__(self) -> str:
        return self.text


_SEPARATORS = {"comma": ", ", "semicolon": "; ", "sentences": " "}
_LIST_STYLES = {"and": "standard", "or": "or"}


class _Filler(string.Formatter):
    """Fills a template's placeholders, each value formatted for the locale by Babel."""

    def __init__(self, locale: Any, nested: Callable[[Msg], str], date_pattern: str, datetime_pattern: str):
        super().__init__()
        self.locale, self.nested = locale, nested
        self.date_pattern, self.datetime_pattern = date_pattern, datetime_pattern

    def format_field(self, value: Any, format_spec: str) -> str:
        return self.text(value, format_spec)

    def text(self, value: Any, spec: str = "") -> str:
        if isinstance(value, Msg):
            return self.nested(value)
        if isinstance(value, Money):
            return format_currency(Decimal(value.cents) / 100, value.currency, locale=self.locale)
        if isinstance(value, datetime):
            return format_datetime(value, spec or self.datetime_pattern, locale=self.locale)
        if isinstance(value, date):
            return format_date(value, spec or self.date_pattern, locale=self.locale)
        if isinstance(value, Listing):
            return self.listing(value)
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return format_decimal(value, locale=self.locale)
        return format(value, spec)

    def listing(self, value: Listing) -> str:
        items = [self.text(v) for v in value.items]
        if value.style in _SEPARATORS:
            return _SEPARATORS[value.style].join(items)
        try:
            return format_list(items, style=_LIST_STYLES[value.style], locale=self.locale)
        except KeyError:  # Babel lacks that list pattern for this locale
            return ", ".join(items)


def fill(template: str, params: dict[str, Any], locale: Any, *, nested: Callable[[Msg], str],
         date_pattern: str = DATE_FORMAT, datetime_pattern: str = DATETIME_FORMAT) -> str:
    """The template with its placeholders filled for `locale`; surrounding spaces trimmed (a template
    may end in an optional `{notes}`)."""
    return _Filler(locale, nested, date_pattern, datetime_pattern).vformat(template, (), params).strip()


def msg(template: str | Plural, **params: Any) -> Msg:
    """The one way tools make customer-facing text: `msg(N_("Order {order_id} is {status}."), ...)`."""
    if isinstance(template, Plural):
        message_id = template.singular
        english = template.singular if params["count"] == 1 else template.plural
    else:
        message_id = english = template
    return Msg(message_id=message_id, params=params, text=fill(english, params, ENGLISH, nested=str))


def word(words: dict[str, str], key: str) -> Msg | str:
    """A catalog word for a code such as an order status; an unknown code as itself, "_" as spaces."""
    return msg(words[key]) if key in words else key.replace("_", " ")
