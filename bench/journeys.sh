#!/usr/bin/env bash
# Journey engine benchmarks (issue #3), parcours vs DuckDB vs chDB on the same events.
# CUSTOMERS=1000000 (default, ≈12.5 M events) SEED=42 REPEAT=7
# The demo is built into a data directory once (reused while seed and size match),
# journeys-bench builds the frame from it and times the analyses, exports the frame's
# events, and journeys_peers.py runs the peers on them and prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
target/release/journeys-bench --data-dir "$data" --workspace demo --repeat "$repeat" \
  --export bench/out/frame.csv --json bench/out/journeys-parcours.json
"$venv/bin/python" bench/journeys_peers.py bench/out/frame.csv \
  --ours bench/out/journeys-parcours.json --repeat "$repeat"
