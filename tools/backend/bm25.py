"""Okapi BM25 as SQLite's FTS5 computes it (`bm25()` in fts5_aux.c), for a backend whose own full-text
ranking has no inverse document frequency (PostgreSQL's ts_rank): the same articles come first on
every backend.

Tokens are FTS5 unicode61's: runs of letters and digits. The statistics (rows, tokens, documents per
token) are over every indexed article, as FTS5 keeps them."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

K1 = 1.2
B = 0.75
MIN_IDF = 1e-6


def tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


@dataclass(frozen=True)
class Corpus:
    """What BM25 needs of the whole index: row count, mean row length and rows holding each token."""
    rows: int
    mean_length: float
    rows_with: Counter

    @classmethod
    def of(cls, documents: list[list[str]]) -> "Corpus":
        """documents: each row's indexed columns' texts."""
        rows_with: Counter = Counter()
        total = 0
        for columns in documents:
            found = [t for text in columns for t in tokens(text)]
            total += len(found)
            rows_with.update(set(found))
        return cls(len(documents), total / len(documents) if documents else 0.0, rows_with)

    def idf(self, token: str) -> float:
        n = self.rows_with[token]
        return max(math.log((self.rows - n + 0.5) / (n + 0.5)), MIN_IDF)


def bm25(corpus: Corpus, query: list[str], columns: list[str], weights: list[float]) -> float:
    """The score of one row (its columns' texts, each column's weight): higher is better."""
    counted = [Counter(tokens(text)) for text in columns]
    length = sum(sum(c.values()) for c in counted)
    norm = K1 * (1 - B + B * length / corpus.mean_length) if corpus.mean_length else K1
    score = 0.0
    for token in dict.fromkeys(t for term in query for t in tokens(term)):
        frequency = sum(w * c[token] for w, c in zip(weights, counted))
        score += corpus.idf(token) * frequency * (K1 + 1) / (frequency + norm)
    return score
