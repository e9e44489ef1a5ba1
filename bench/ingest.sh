#!/usr/bin/env bash
# Ingestion benchmarks (issue #2): parcours import vs the plain-INSERT ceiling vs HTTP.
# CUSTOMERS=1000000 (default, ≈12.5 M events) SEED=42 CLIENTS=4,8,16 HTTP_SECONDS=15
# CEILING_ROWS (default: every row, as the issue asks: the same rows as the import)
set -euo pipefail
cd "$(dirname "$0")/.."
customers="${CUSTOMERS:-1000000}"
seed="${SEED:-42}"
cargo build --release --quiet -p parcours -p parcours-bench
data="${BENCH_DATA:-bench/out/demo-$customers-$seed}"
if [ ! -f "$data/events.csv" ]; then
  echo "writing the demo dataset ($customers customers, seed $seed) to $data"
  target/release/parcours demo --customers "$customers" --seed "$seed" --csv "$data" --csv-only
fi
echo "rows: $(($(wc -l < "$data/events.csv") - 1))"
target/release/ingest-bench --bin target/release/parcours --csv "$data/events.csv" \
  --clients "${CLIENTS:-4,8,16}" --http-seconds "${HTTP_SECONDS:-15}" --seed "$seed" \
  --ceiling-rows "${CEILING_ROWS:-18446744073709551615}" --work "bench/out/work"
