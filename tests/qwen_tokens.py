"""Qwen2.5 token counts without loading the model: the byte-level BPE of the embedded model's GGUF.

The merges are read from the GGUF header (its first few MB: SUPPORT_AGENT_MODEL_PATH, else the
assembled GGUF in the cache dir, else the weights' part packages read in order), then text is split with Qwen2's pre-tokenizer regex and
merged by rank — what llama.cpp's /tokenize does for plain text (no special tokens). Used by the
prompt-size benchmark (`bench/bench_runtime.py tokens`) and by the token-budget tests, so both count
the same way. `QwenTokenizer.load()` raises LookupError when no GGUF is available.
"""

from __future__ import annotations

import functools
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# Qwen2's pre-tokenizer (llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2) in `re` terms:
# \p{L} = [^\W\d_], \p{N} = \d; "neither letter nor number" = a non-word character or "_".
_PRE = re.compile(
    r"""'(?i:s|t|re|ve|m|ll|d)"""
    r"""|(?:[^\r\n\w]|_)?[^\W\d_]+"""
    r"""|\d"""
    r"""| ?(?:[^\s\w]|_)+[\r\n]*"""
    r"""|\s*[\r\n]+"""
    r"""|\s+(?!\S)"""
    r"""|\s+"""
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by byte-level BPE vocabularies."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


class _Parts:
    """The concatenation of several files, read forward only."""

    def __init__(self, paths: list[Path]):
        self._paths = iter(paths)
        self._f: BinaryIO | None = None

    def read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            if self._f is None:
                path = next(self._paths, None)
                if path is None:
                    raise EOFError("GGUF header ends early")
                self._f = open(path, "rb")
            chunk = self._f.read(n - len(out))
            if not chunk:
                self._f.close()
                self._f = None
            out += chunk
        return out

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def _gguf_metadata(stream: _Parts, wanted: set[str]) -> dict[str, object]:
    def unpack(fmt: str):
        return struct.unpack(fmt, stream.read(struct.calcsize(fmt)))[0]

    def string() -> str:
        return stream.read(unpack("<Q")).decode("utf-8", errors="replace")

    def value(kind: int):
        if kind == 8:
            return string()
        if kind == 9:
            item_kind, count = unpack("<I"), unpack("<Q")
            if item_kind == 8:
                return [string() for _ in range(count)]
            fmt = _SCALARS[item_kind]
            size = struct.calcsize(fmt)
            return list(struct.unpack(f"<{count}{fmt[1]}", stream.read(size * count)))
        return unpack(_SCALARS[kind])

    if stream.read(4) != b"GGUF":
        raise ValueError("not a GGUF file")
    unpack("<I")  # version
    unpack("<Q")  # tensor count
    found: dict[str, object] = {}
    for _ in range(unpack("<Q")):
        key = string()
        found[key] = value(unpack("<I"))
        if wanted <= found.keys():
            break
    return found


def _gguf_parts() -> list[Path]:
    override = os.environ.get("SUPPORT_AGENT_MODEL_PATH")
    if override:
        return [Path(override).expanduser()]
    from agent.models.base import ModelError
    from agent.models.embedded import QWEN_1_5B, _part_paths, cache_dir

    assembled = cache_dir() / QWEN_1_5B.filename
    if assembled.is_file():
        return [assembled]
    try:
        return _part_paths(QWEN_1_5B)
    except ModelError as exc:
        raise LookupError(str(exc)) from None


class QwenTokenizer:
    """Byte-level BPE: pre-tokenize, map bytes to the vocabulary's characters, merge by rank."""

    def __init__(self, merges: list[str]):
        self.ranks = {tuple(m.split(" ", 1)): i for i, m in enumerate(merges)}
        self.byte_chars = _bytes_to_unicode()
        self._counts: dict[str, int] = {}  # pre-tokenized word -> its token count

    @classmethod
    @functools.cache
    def load(cls) -> QwenTokenizer:
        stream = _Parts(_gguf_parts())
        try:
            meta = _gguf_metadata(stream, {"tokenizer.ggml.merges", "tokenizer.ggml.pre"})
        finally:
            stream.close()
        if meta.get("tokenizer.ggml.pre") != "qwen2":
            raise LookupError(f"expected a qwen2 tokenizer, the GGUF has {meta.get('tokenizer.ggml.pre')!r}")
        return cls(meta["tokenizer.ggml.merges"])  # type: ignore[arg-type]

    def _bpe(self, word: str) -> Iterator[str]:
        parts = list(word)
        while len(parts) > 1:
            best = min(range(len(parts) - 1), key=lambda i: self.ranks.get((parts[i], parts[i + 1]), 1 << 30))
            if (parts[best], parts[best + 1]) not in self.ranks:
                break
            pair = (parts[best], parts[best + 1])
            merged: list[str] = []
            i = 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == pair:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        yield from parts

    def _pieces(self, word: str) -> Iterator[str]:
        return self._bpe("".join(self.byte_chars[b] for b in word.encode("utf-8")))

    def tokenize(self, text: str) -> list[str]:
        """The token strings, in the vocabulary's byte-level spelling ("Ġ" is a space)."""
        return [piece for word in _PRE.findall(text) for piece in self._pieces(word)]

    def count(self, text: str) -> int:
        total = 0
        for word in _PRE.findall(text):
            if word not in self._counts:
                self._counts[word] = sum(1 for _ in self._pieces(word))
            total += self._counts[word]
        return total


def count_tokens(text: str) -> int:
    """Qwen2.5 tokens in `text` (as llama.cpp's /tokenize counts plain text)."""
    return QwenTokenizer.load().count(text)
