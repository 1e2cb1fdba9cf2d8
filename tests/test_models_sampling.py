"""Temperature and seed reach the endpoint: OpenAIModel sends them with every request, and the
embedded model passes on the values it holds at each request (an evaluation trial sets its own)."""

from __future__ import annotations

import threading

import pytest
from test_models_retry import MSGS, TOOLS, FakeEndpoint, completion

from agent.models.embedded import EmbeddedModel
from agent.models.openai_compat import OpenAIModel


@pytest.fixture
def fake():
    endpoint = FakeEndpoint()
    yield endpoint
    endpoint.close()


def test_openai_model_sends_temperature_and_seed(fake):
    fake.queue = [completion("a"), completion("b")]
    model = OpenAIModel("fake", base_url=fake.url, api_key="k", temperature=0.7, seed=1001, timeout=5)
    model.complete(MSGS, TOOLS)
    model.seed = 1002
    model.complete(MSGS, TOOLS)
    assert [(r["temperature"], r["seed"]) for r in fake.requests] == [(0.7, 1001), (0.7, 1002)]


def test_openai_model_leaves_them_to_the_endpoint_by_default(fake):
    fake.queue = [completion("a")]
    OpenAIModel("fake", base_url=fake.url, api_key="k", timeout=5).complete(MSGS, TOOLS)
    assert "temperature" not in fake.requests[0] and "seed" not in fake.requests[0]


class _Server:  # what EmbeddedModel needs of a loaded llama.cpp server
    lock = threading.RLock()


def test_embedded_model_sends_its_current_temperature_and_seed(fake):
    model = EmbeddedModel(temperature=0.5, seed=7)
    assert (model.temperature, model.seed) == (0.5, 7)
    model._server = _Server()
    model._client = OpenAIModel("local", base_url=fake.url, api_key="k", mode="schema", timeout=5,
                                temperature=0.0)
    fake.queue = [completion('{"reply": "hi"}'), completion('{"reply": "hi"}')]
    model.complete(MSGS, TOOLS)
    model.temperature, model.seed = 0.9, 8  # the next trial
    model.complete(MSGS, TOOLS)
    assert [(r["temperature"], r["seed"]) for r in fake.requests] == [(0.5, 7), (0.9, 8)]
    assert EmbeddedModel().temperature == 0.0  # greedy unless asked otherwise
