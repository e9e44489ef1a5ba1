#!/usr/bin/env bash
# Conformance of the journey engine with ClickHouse's engine (chDB, from PyPI).
# Usage: tests/conformance/run.sh PATH/TO/parcours
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "$1")"
venv="${CONFORMANCE_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import chdb" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
"$venv/bin/python" "$here/windowfunnel.py" "$bin" 5000 7
"$venv/bin/python" "$here/windowfunnel.py" "$bin" 5000 2026
