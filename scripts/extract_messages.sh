#!/usr/bin/env bash
# Extracts every customer-facing message (N_ / NP_ in tools/ and agent/) into
# agent/messages/messages.pot with Babel and updates each locale's messages.po from it.
# Usage: scripts/extract_messages.sh [--check | --init LOCALE]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
exec "$PY" -m agent.messages.extract "$@"
