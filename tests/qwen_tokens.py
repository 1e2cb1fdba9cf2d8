"""Qwen2.5 token counts without loading the model: the embedded model's own tokenizer, from its GGUF.

`gguf` (llama.cpp's reader) gives the vocabulary and merges; HuggingFace `tokenizers` runs the
byte-level BPE with Qwen2's pre-tokenizer regex — what llama.cpp's /tokenize does for plain text
(no special tokens). Used by the prompt-size benchmark (`bench/bench_runtime.py tokens`) and by the
token-budget tests, so both count the same way. `load_tokenizer()` raises LookupError when no GGUF
is available.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

# llama.cpp's LLAMA_VOCAB_PRE_TYPE_QWEN2 split, as Qwen2's own tokenizer.json spells it.
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def _gguf_path() -> Path:
    from agent.models.base import ModelError
    from agent.models.embedded import resolve_model_path

    try:
        return resolve_model_path(show_progress=False)
    except ModelError as exc:
        raise LookupError(str(exc)) from None


def _from_gguf(path: Path) -> Tokenizer:
    from gguf import GGUFReader

    fields = GGUFReader(path).fields

    def value(key: str):
        field = fields.get(key)
        return field.contents() if field is not None else None

    if (value("tokenizer.ggml.model"), value("tokenizer.ggml.pre")) != ("gpt2", "qwen2"):
        raise LookupError(f"{path} has no Qwen2 byte-level BPE tokenizer")
    vocab = {token: i for i, token in enumerate(value("tokenizer.ggml.tokens"))}
    merges = [tuple(merge.split(" ", 1)) for merge in value("tokenizer.ggml.merges")]
    tokenizer = Tokenizer(models.BPE(vocab, merges))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


@functools.cache
def load_tokenizer() -> Tokenizer:
    """The embedded model's tokenizer. Reading a GGUF's 300k vocabulary strings takes seconds, so the
    built tokenizer is kept as JSON in the cache dir, named after the GGUF's size and mtime."""
    from agent.models.embedded import cache_dir

    path = _gguf_path()
    st = path.stat()
    saved = cache_dir() / "tokenizers" / f"{path.stem}.{st.st_size}.{st.st_mtime_ns}.json"
    if saved.is_file():
        return Tokenizer.from_file(str(saved))
    tokenizer = _from_gguf(path)
    saved.parent.mkdir(parents=True, exist_ok=True)
    tmp = saved.with_name(f"{saved.name}.tmp{os.getpid()}")
    tokenizer.save(str(tmp))
    os.replace(tmp, saved)
    return tokenizer


def count_tokens(text: str) -> int:
    """Qwen2.5 tokens in `text` (as llama.cpp's /tokenize counts plain text)."""
    return len(load_tokenizer().encode(text, add_special_tokens=False).ids)
