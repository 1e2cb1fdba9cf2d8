"""A scripted understanding that can be held up, so a test can kill a server worker in the middle of
the model step: `serve --model scripted:slow_steps:shop_customer_held` with $SLOW_STEP_GATE naming a
file; while that file exists every understanding step waits (up to a minute)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from agent.models.scripted_steps import shop_customer

GATE_ENV = "SLOW_STEP_GATE"


def shop_customer_held(messages, schema=None):
    gate = os.environ.get(GATE_ENV)
    deadline = time.monotonic() + 60
    while gate and Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return shop_customer(messages, schema)
