#!/usr/bin/env bash
# One command from a fresh clone to a chat with the embedded model:
# sets up .venv, creates the demo store (support_agent.db), assembles the model on first use, chats.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/support-agent chat "$@"
