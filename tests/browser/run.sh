#!/usr/bin/env bash
# The survey widget in a real browser (Debian's Chromium, driven by playwright-core)
# against a real parcours server on 127.0.0.1.
# Usage: tests/browser/run.sh PATH/TO/parcours
# Installs playwright-core when missing (npm; it downloads no browser); starts a server on
# a free loopback port in a temporary data directory; stops it by its PID at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "$1")"
cd "$here"
if [ ! -d node_modules/playwright-core ]; then
  npm install --no-audit --no-fund --no-save --loglevel=error
fi
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
host="http://127.0.0.1:$port"
write="$("$bin" keys create --data-dir "$data" --workspace browser --scope write)"
read_key="$("$bin" keys create --data-dir "$data" --workspace browser --scope read)"
PARCOURS_LOG_LEVEL=warn "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$host/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
define() {
  curl -fsS -X PUT "$host/api/v1/surveys/definitions/$1" -H "authorization: Bearer $read_key" \
    -H 'content-type: application/json' --data "$2" >/dev/null
}
define nps-web '{"kind": "nps", "question": "How likely are you to recommend us?",
  "touchpoint": "web /checkout/done", "stage": "purchase",
  "low_label": "Not at all likely", "high_label": "Extremely likely",
  "follow_up": {"question": "What should we improve?", "max": 6}}'
define why-web '{"kind": "open", "question": "What almost stopped you from ordering?"}'
node widget.mjs "$host" "$write" "$read_key"
