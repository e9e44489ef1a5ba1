# Shared by the benchmark scripts (sourced, from the repository's root): the demo store
# and the peers' Python environment, each built once and reused.
# Sets: customers, seed, repeat, data, venv.
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
