"""Prompt size per mode. Schema mode (the embedded model) is frozen byte for byte; native tools mode
(`openai:NAME`) has a token budget for system prompt + tool schemas, counted like
`bench/bench_runtime.py tokens` (the Qwen2.5 tokenizer read from the embedded model's GGUF)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from agent.models import load_model
from agent.models.openai_compat import OpenAIModel, function_tools
from agent.prompt import TOOLS_MODE_ARGUMENTS, TOOLS_MODE_SUMMARIES, state_block, system_prompt, tool_line
from agent.support_agent import SupportAgent
from qwen_tokens import count_tokens, load_tokenizer
from tools.registry import all_tools
from tools.store import Store

GOLDEN = Path(__file__).parent / "golden"
TOOLS_MODE_BUDGET = 2500  # system prompt + every tool schema, Qwen2.5 tokens (was 1,544 + 3,523)
NOT_VERIFIED = state_block(customer_name=None, locked=False, pending_summary=None)


@pytest.fixture(scope="module")
def count():
    try:
        load_tokenizer()
    except LookupError as exc:
        pytest.skip(f"no Qwen2.5 GGUF to count tokens with: {exc}")
    return count_tokens


def _agent(tmp_path: Path, model) -> SupportAgent:
    return SupportAgent(Store(tmp_path / "store.db"), model=model)


def _tools_model(handler=None) -> OpenAIModel:
    handler = handler or (lambda request: httpx.Response(500))
    return OpenAIModel("gpt-test", base_url="http://fake/v1", api_key="k", mode="tools", max_attempts=1,
                       http_client=httpx.Client(transport=httpx.MockTransport(handler)))


def test_schema_mode_system_prompt_and_tool_specs_are_unchanged(tmp_path):
    """The embedded model's prompt and tool specs are what they were before tools mode was trimmed
    (its prefix cache and its measured quality depend on them). If you change the policy, a tool
    docstring or the prompt on purpose, regenerate the golden files and say so in the commit."""
    agent = _agent(tmp_path, load_model("local"))  # lazy: the weights are not touched
    system = system_prompt(agent.prefix, NOT_VERIFIED)
    assert system.encode() == (GOLDEN / "schema_mode_system_prompt.txt").read_bytes()
    specs = json.loads((GOLDEN / "schema_mode_tool_specs.json").read_text())
    assert [s.model_dump() for s in agent.tool_specs] == specs


def test_tokenizer_counts_like_llama_cpp(count):
    # Measured with llama.cpp's /tokenize on the served 1.5B model: the system prompt 1,719, and the
    # tool specs 3,523 before verify_customer's email/zip_code and cancel_order's reason got a
    # maxLength; this tokenizer gave the same two counts, and gives 3,546 for the specs since.
    assert count((GOLDEN / "schema_mode_system_prompt.txt").read_text()) == 1719
    specs = json.loads((GOLDEN / "schema_mode_tool_specs.json").read_text())
    assert count(json.dumps([{"type": "function", "function": s} for s in specs])) == 3546


def test_tools_mode_prompt_and_tool_schemas_fit_the_budget(tmp_path, count):
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                                         "choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"role": "assistant", "content": "Hi."}}]})

    model = _tools_model(handler)
    agent = _agent(tmp_path, model)
    system = system_prompt(agent.prefix, NOT_VERIFIED)
    model.complete([{"role": "system", "content": system}, {"role": "user", "content": "hi"}], agent.tool_specs)
    sent = bodies[0]
    assert sent["messages"][0]["content"] == system
    assert sent["tools"] == function_tools(agent.tool_specs)  # what the bench counts is what is sent
    assert len(sent["tools"]) == len(all_tools())
    system_tokens, tool_tokens = count(system), count(json.dumps(sent["tools"]))
    assert system_tokens + tool_tokens <= TOOLS_MODE_BUDGET, (
        f"tools mode: {system_tokens} system prompt + {tool_tokens} tool schemas = "
        f"{system_tokens + tool_tokens} tokens > {TOOLS_MODE_BUDGET}")


def test_tools_mode_prompt_has_no_tool_list_and_schema_mode_keeps_it(tmp_path):
    tools_agent = _agent(tmp_path, _tools_model())
    local_agent = SupportAgent(tools_agent.store, model=load_model("local"))
    assert "# Tools" not in tools_agent.prefix and "the tools below" not in tools_agent.prefix
    assert "# Tools\n" in local_agent.prefix
    for spec in local_agent.tool_specs:
        assert tool_line(spec) in local_agent.prefix
        assert tool_line(spec) not in tools_agent.prefix
    assert "# How to answer" in tools_agent.prefix and "# Policy" in tools_agent.prefix


def test_tools_mode_specs_have_short_descriptions_and_the_same_arguments(tmp_path):
    tools_agent = _agent(tmp_path, _tools_model())
    local_agent = SupportAgent(tools_agent.store, model=load_model("local"))
    for short, full in zip(tools_agent.tool_specs, local_agent.tool_specs, strict=True):
        assert short.name == full.name
        assert short.description == TOOLS_MODE_SUMMARIES[short.name]
        assert len(short.description) < len(full.description) or short.description == full.description
        assert short.parameters["properties"].keys() == full.parameters["properties"].keys()
        assert short.parameters.get("required") == full.parameters.get("required")
        described = {n for n, p in short.parameters["properties"].items() if "description" in p}
        assert described == set(TOOLS_MODE_ARGUMENTS.get(short.name, {}))


def test_every_tool_has_a_tools_mode_summary_and_argument_notes_name_real_arguments():
    tools = {t.name: t for t in all_tools()}
    assert set(TOOLS_MODE_SUMMARIES) == set(tools)
    for name, notes in TOOLS_MODE_ARGUMENTS.items():
        assert set(notes) <= set(tools[name].args_model.model_fields), name
