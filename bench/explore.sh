#!/usr/bin/env bash
# Exploration benchmarks (issue #4): transition graph, attribution, paths and retention,
# parcours vs DuckDB vs chDB on the same events.
# CUSTOMERS=1000000 (default, ≈12.5 M events) SEED=42 REPEAT=7
# The demo is built into a data directory once (reused while seed and size match),
# explore-bench reads the frame from it and times the analyses, exports the frame's
# events, and explore_peers.py runs the peers on them, checks they give the same
# answers and prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
target/release/explore-bench --data-dir "$data" --workspace demo --repeat "$repeat" \
  --export bench/out/explore.csv --json bench/out/explore-parcours.json
"$venv/bin/python" bench/explore_peers.py bench/out/explore.csv \
  --ours bench/out/explore-parcours.json --repeat "$repeat"
