"""Product variants as a customer names them ("size L", "Black / M"), for list_variants and
modify_order_items."""

from __future__ import annotations

import json
import re
from typing import Any

from tools.backend.records import Variant
from tools.context import ToolContext
from tools.values import money


def option_values(options: str | None) -> list[str]:
    """The option values of a variant. `options` is stored as JSON ({"color": "Black", "size": "M"})
    or as plain text ("Black / M")."""
    if not options:
        return []
    try:
        parsed = json.loads(options)
    except (ValueError, TypeError):
        parsed = None
    if isinstance(parsed, dict):
        return [str(v) for v in parsed.values()]
    if isinstance(parsed, list):
        return [str(v) for v in parsed]
    return [p.strip() for p in re.split(r"[/,|]", options) if p.strip()]


def variant_label(options: str | None) -> str:
    return " / ".join(option_values(options)) or "standard"


def product_variants(ctx: ToolContext, product_id: str) -> list[Variant]:
    return ctx.store.product_variants(product_id)


def variant_view(variant: Variant) -> dict[str, Any]:
    return {"variant_id": variant.id, "options": variant_label(variant.options),
            "price": money(variant.price_cents), "in_stock": variant.stock > 0}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


_FILLER = {"size", "colour", "color", "in", "the", "a", "one", "variant"}
_SEPARATORS = r"[\s/,|]+"


def _compact(text: str) -> str:
    """A value as compared: lower case, no spaces or separators ("1 L" and "1l" are the same)."""
    return re.sub(_SEPARATORS, "", text.lower())


def _names_values(words: list[str], values: set[str]) -> bool:
    """Whether the customer's words name some of these (compacted) option values, each as a whole: a
    value may span several words ("1 L"), and filler words ("the", "size") may sit between them."""
    # reach[i]: words[:i] are read; None = not possible, False = only filler so far, True = a value too
    reach: list[bool | None] = [None] * (len(words) + 1)
    reach[0] = False
    for i in range(len(words)):
        if reach[i] is None:
            continue
        if words[i] in _FILLER and reach[i + 1] is None:
            reach[i + 1] = reach[i]
        for j in range(i + 1, len(words) + 1):
            if "".join(words[i:j]) in values:
                reach[j] = True
    return reach[-1] is True


def match_variant(variants: list[Variant], wanted: str,
                  current: Variant | None) -> tuple[Variant | None, list[Variant]]:
    """Find the variant the customer means: by id or SKU, by its full label, or by some of its option
    values ("L", "the 1 L one"), each matched as a whole value, preferring the one that keeps the
    current variant's other options (a Black M asked for "L" becomes the Black L). Returns (the match,
    the candidates when it is ambiguous)."""
    target = _norm(wanted)
    for v in variants:
        if target in (_norm(v.id), _norm(v.sku or ""), _norm(variant_label(v.options))):
            return v, []
    words = [w for w in re.split(_SEPARATORS, target) if w]
    if not words:
        return None, []
    candidates = [v for v in variants
                  if _names_values(words, {_compact(x) for x in option_values(v.options)})]
    if len(candidates) > 1 and current is not None:
        keep = {_compact(x) for x in option_values(current.options)}
        best = max(len(keep & {_compact(x) for x in option_values(v.options)}) for v in candidates)
        candidates = [v for v in candidates
                      if len(keep & {_compact(x) for x in option_values(v.options)}) == best]
    if len(candidates) == 1:
        return candidates[0], []
    return None, candidates


def _spans(text: str, longest: int = 3) -> set[str]:
    """Every run of up to `longest` consecutive words of a text, compacted: the values it could name.
    Words split at any non-alphanumeric character and where the script changes ("L码" -> "L", "码")."""
    words = re.findall(r"[A-Za-z]+|\d+(?:[.,]\d+)?|[^\W\dA-Za-z_]+", text.lower())
    return {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, min(i + longest, len(words)) + 1)}


def variants_named(items: list[dict[str, Any]], text: str) -> list[tuple[int, str]]:
    """The (line_id, variant_id) pairs a customer's message names, from list_variants' items, best
    first: a variant is named when every option value that sets it apart from the line's current
    variant is in the text as whole words ("size L instead of M" names Black / L of a Black / M line,
    not Black / XL); the more of the text it accounts for, the better ("1 L" over "L")."""
    spans = _spans(text)
    named = []
    for item in items:
        current = {_compact(x) for x in item["current_variant"].split(" / ")}
        for variant in item["variants"]:
            new = {_compact(x) for x in variant["options"].split(" / ")} - current
            if new and new <= spans and variant["variant_id"] != item["current_variant_id"]:
                named.append((sum(map(len, new)), item["line_id"], variant["variant_id"]))
    best = max((n[0] for n in named), default=0)
    return [(line, variant) for score, line, variant in named if score == best]
