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
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
host="http://127.0.0.1:$port"
write="$("$bin" keys create --data-dir "$data" --workspace clients --scope write)"
read_key="$("$bin" keys create --data-dir "$data" --workspace clients --scope read)"
PARCOURS_LOG_LEVEL=warn "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$host/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
node segment_node.mjs "$host" "$write" segnode
node rudder_node.mjs "$host" "$write" rudnode
"$venv/bin/python" python_clients.py segment "$host" "$write" segpy
"$venv/bin/python" python_clients.py rudder "$host" "$write" rudpy
"$venv/bin/python" check.py "$host" "$read_key" segnode rudnode segpy rudpy
