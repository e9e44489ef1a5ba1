#!/usr/bin/env bash
# Real client libraries against a real parcours server on 127.0.0.1.
# Usage: tests/clients/run.sh PATH/TO/parcours
# Installs the clients locally (npm ci, a Python venv) when missing; starts a server on a
# free loopback port in a temporary data directory; stops it by its PID at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "$1")"
cd "$here"
if [ ! -d node_modules/@segment/analytics-node ] || [ ! -d node_modules/@rudderstack/rudder-sdk-node ]; then
  # Not `npm ci`: npm 11 refuses this lockfile for lacking other platforms' optional
  # packages (msgpackr-extract). `install --no-save` installs the locked versions and
  # leaves the lockfile alone.
  npm install --no-audit --no-fund --no-save --loglevel=error
fi
venv="${CLIENTS_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import segment.analytics, rudderstack.analytics" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
fi
# shellcheck source=../start-server.sh
source "$here/../start-server.sh"
start_parcours "$bin" clients
node segment_node.mjs "$host" "$write" segnode
node rudder_node.mjs "$host" "$write" rudnode
"$venv/bin/python" python_clients.py segment "$host" "$write" segpy
"$venv/bin/python" python_clients.py rudder "$host" "$write" rudpy
"$venv/bin/python" check.py "$host" "$read_key" segnode rudnode segpy rudpy
