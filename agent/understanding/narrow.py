"""Making the kind decision robust to phrasing with the labelled bank (bank.py), two ways:

- `KindClassifier`: character n-gram TF-IDF + one-vs-rest logistic regression (scikit-learn); it
  narrows the kinds the schema allows to the likely ones, and the model decides among them in context.
  Character n-grams work for any script (Chinese has no spaces).
- `ExampleRetriever`: the nearest labelled bank messages, shown to the model before the customer's
  message (dynamic few-shot).
Which one the agent uses is measured on the held-out part (bench/bench_understanding.py).
"""

from __future__ import annotations

from typing import Any

from agent.understanding.bank import bank, render
from agent.understanding.ids import normalize

ALWAYS = ("clarify",)  # never narrowed away: the safe answer when nothing fits


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1,
                           preprocessor=lambda s: normalize(s).casefold())


def _text(message: dict[str, Any]) -> str:
    return f"{message.get('agent', '')[-80:]} || {message['text']}" if message.get("agent") else message["text"]


class KindClassifier:
    """Narrows the kinds: every kind whose probability reaches `floor`, at most `top`, plus clarify."""

    def __init__(self, messages: list[dict[str, Any]] | None = None, *, floor: float = 0.03, top: int = 6):
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        messages = [m for m in (messages if messages is not None else bank()) if m.get("requests")]
        self.floor, self.top = floor, top
        self.vectorizer = _vectorizer()
        self.labels = MultiLabelBinarizer()
        y = self.labels.fit_transform([{r["kind"] for r in m["requests"]} for m in messages])
        x = self.vectorizer.fit_transform([_text(m) for m in messages])
        self.model = OneVsRestClassifier(LogisticRegression(C=10.0, solver="liblinear")).fit(x, y)

    def ranked(self, text: str) -> list[tuple[str, float]]:
        probs = self.model.predict_proba(self.vectorizer.transform([text]))[0]
        return sorted(zip(self.labels.classes_, probs), key=lambda p: -p[1])

    def kinds(self, text: str) -> list[str]:
        ranked = self.ranked(text)
        keep = [k for k, p in ranked[: self.top] if p >= self.floor] or [ranked[0][0]]
        return keep + [k for k in ALWAYS if k not in keep]


class ExampleRetriever:
    """The `k` bank messages nearest to the customer's, rendered as input -> output pairs."""

    def __init__(self, messages: list[dict[str, Any]] | None = None, *, k: int = 3):
        self.messages = list(messages if messages is not None else bank())
        self.k = k
        self.vectorizer = _vectorizer()
        self.matrix = self.vectorizer.fit_transform([m["text"] for m in self.messages])

    def examples(self, text: str) -> str:
        scores = (self.matrix @ self.vectorizer.transform([text]).T).toarray().ravel()
        nearest = scores.argsort()[::-1][: self.k]
        lines = ["Examples:"]
        for i in reversed(nearest):  # the nearest last, right before the customer's message
            m = self.messages[i]
            lines.append(f"Customer: {m['text']}\n{render(m)}")
        return "\n".join(lines)
