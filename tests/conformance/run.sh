#!/usr/bin/env bash
# Conformance with peers installed from PyPI: the journey engine with ClickHouse's
# windowFunnel (chDB), attribution with ChannelAttribution.
# Usage: tests/conformance/run.sh PATH/TO/parcours
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "$1")"
venv="${CONFORMANCE_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import chdb, ChannelAttribution" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
"$venv/bin/python" "$here/windowfunnel.py" "$bin" 5000 7
"$venv/bin/python" "$here/windowfunnel.py" "$bin" 5000 2026

# ChannelAttribution's example paths ship in its source distribution (GPL-3 data: read
# at test time, not copied here).
data="$here/.data/channelattribution/Data.csv"
if [ ! -f "$data" ]; then
  tmp="$(mktemp -d)"
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    ChannelAttribution==2.2.5 -d "$tmp"
  mkdir -p "$(dirname "$data")"
  tar -xzf "$tmp"/channelattribution-2.2.5.tar.gz -C "$tmp"
  cp "$tmp"/channelattribution-2.2.5/src/cypack/data/Data.csv "$data"
  rm -rf "$tmp"
fi
"$venv/bin/python" "$here/channelattribution.py" "$bin" "$data" 2>&1 | grep -v -e 'ChannelAttribution Pro' -e '^Version:'
