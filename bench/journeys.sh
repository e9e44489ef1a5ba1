#!/usr/bin/env bash
# Journey engine benchmarks (issue #3), parcours vs DuckDB vs chDB on the same events.
# CUSTOMERS=1000000 (default, ≈12.5 M events) SEED=42 REPEAT=7
# The demo is built into a data directory once (reused while seed and size match),
# journeys-bench builds the frame from it and times the analyses, exports the frame's
# events, and journeys_peers.py runs the peers on them and prints the ratios.
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
target/release/journeys-bench --data-dir "$data" --workspace demo --repeat "$repeat" \
  --export bench/out/frame.csv --json bench/out/journeys-parcours.json
"$venv/bin/python" bench/journeys_peers.py bench/out/frame.csv \
  --ours bench/out/journeys-parcours.json --repeat "$repeat"
