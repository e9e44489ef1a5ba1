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
# shellcheck source=../start-server.sh
source "$here/../start-server.sh"
start_parcours "$bin" browser
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
