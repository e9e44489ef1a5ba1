#!/usr/bin/env bash
# Exploration benchmarks (issue #4): transition graph and attribution, parcours vs
# DuckDB vs chDB on the same events.
# CUSTOMERS=1000000 (default, ≈12.5 M events) SEED=42 REPEAT=7
# The demo is built into a data directory once (reused while seed and size match),
# explore-bench reads the frame from it and times the analyses, exports the frame's
# events, and explore_peers.py runs the peers on them, checks they give the same
# answers and prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
customers="${CUSTOMERS:-1000000}"
seed="${SEED:-42}"
repeat="${REPEAT:-7}"
cargo build --release --quiet -p parcours -p parcours-bench
data="${BENCH_DATA:-bench/out/store-$customers-$seed}"
if [ ! -f "$data/demo.json" ]; then
  echo "building the demo store ($customers customers, seed $seed) in $data"
  /usr/bin/time -f "demo build: %e s, peak RSS %M KB" \
    target/release/parcours demo --customers "$customers" --seed "$seed" --data-dir "$data" --no-serve
fi
venv="${BENCH_VENV:-bench/out/venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import duckdb, chdb" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt
fi
target/release/explore-bench --data-dir "$data" --workspace demo --repeat "$repeat" \
  --export bench/out/explore.csv --json bench/out/explore-parcours.json
"$venv/bin/python" bench/explore_peers.py bench/out/explore.csv \
  --ours bench/out/explore-parcours.json --repeat "$repeat"
