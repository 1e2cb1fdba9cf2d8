#!/usr/bin/env bash
# One command from a fresh clone to the full test run: sets up .venv (+ chromium for the browser
# test, + PostgreSQL for the tool tests, which run on both commerce backends), then runs pytest:
# unit tests, the browser test, the replayed eval suite and the integration tests with the
# embedded model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-browser
exec .venv/bin/python -m pytest -q "$@"
