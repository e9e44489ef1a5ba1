#!/usr/bin/env bash
# Upgrade check for schema version 5 (events moved into blocks, ADR 0003): builds the last
# row-schema parcours (commit a88c2f1) in a scratch worktree, imports the demo CSV with it,
# opens a copy with this build (the migration runs), then compares, old against new:
# every event field by field (old rows read with SQL, new ones through `parcours export`),
# every person's current traits and trait history (a row per trait in the old schema, a
# JSON document per person since version 6), person timelines, and the JSON of
# retention, attribution, sessions and transitions.
# CUSTOMERS=100000 (default: 1.25 M events) SEED=42, or CSV=FILE. Prints the migration's time.
# REIMPORT=1: instead of migrating, import the same CSV with this build and compare the
# same way (the time of receipt, which is the time of each import, is left out), so that
# changes to the import path are checked against what the row-schema build stored.
set -euo pipefail
cd "$(dirname "$0")/.."
customers="${CUSTOMERS:-100000}"
seed="${SEED:-42}"
old_commit=a88c2f1
work="bench/out/upgrade"
cargo build --release --quiet -p parcours
new="$PWD/target/release/parcours"
if [ ! -x "$work/parcours-rows" ]; then
  rm -rf "$work/src"
  mkdir -p "$work"
  git worktree add -f "$work/src" "$old_commit" >/dev/null
  (cd "$work/src" && CARGO_TARGET_DIR="$PWD/../target" cargo build --release --quiet -p parcours)
  cp "$work/target/release/parcours" "$work/parcours-rows"
  git worktree remove --force "$work/src"
fi
old="$PWD/$work/parcours-rows"
csv="${CSV:-bench/out/demo-$customers-$seed/events.csv}"
if [ ! -f "$csv" ]; then
  "$new" demo --customers "$customers" --seed "$seed" --csv "$(dirname "$csv")" --csv-only
fi
rm -rf "$work/rows" "$work/blocks"
"$old" workspaces create bench --data-dir "$work/rows" >/dev/null
"$old" import "$csv" --data-dir "$work/rows" --workspace bench --no-progress
if [ "${REIMPORT:-0}" = 1 ]; then
  "$new" workspaces create bench --data-dir "$work/blocks" >/dev/null
  /usr/bin/time -f "import with this build: %e s, peak RSS %M KB" \
    "$new" import "$csv" --data-dir "$work/blocks" --workspace bench --no-progress
else
  cp -r "$work/rows" "$work/blocks"
  /usr/bin/time -f "migration to blocks: %e s, peak RSS %M KB" \
    "$new" workspaces list --data-dir "$work/blocks"
fi
ls -l "$work/rows/parcours.db" "$work/blocks/parcours.db"
python3 - "$work" "$new" "${REIMPORT:-0}" <<'PY'
import json, sqlite3, subprocess, sys
work, new, reimport = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
old = sqlite3.connect(f"file:{work}/rows/parcours.db?mode=ro", uri=True)
cols = ("id, message_id, kind, name, user_id, anonymous_id, group_id, previous_id, ts, original_ts,"
        " sent_at, received_at, channel, campaign, utm_source, utm_medium, utm_term, utm_content,"
        " touchpoint, revenue, currency, online, properties, traits, context")
rows = old.execute(f"SELECT {cols} FROM events ORDER BY id")
export = subprocess.Popen([new, "export", "--workspace", "bench", "--data-dir", f"{work}/blocks"],
                          stdout=subprocess.PIPE, text=True)
obj = lambda t: json.loads(t) if t else {}
n = bad = 0
for r, line in zip(rows, export.stdout):
    e, t = json.loads(line), None
    t = e["touch"]; c = t["campaign"]
    got = (e["seq"], e["message_id"], e["kind"], e["name"], e["user_id"], e["anonymous_id"],
           e["group_id"], e["previous_id"], e["timestamp"], e["original_timestamp"], e["sent_at"],
           e["received_at"], t["channel"], c.get("name"), c.get("source"), c.get("medium"),
           c.get("term"), c.get("content"), t["touchpoint"], t["revenue"], t["currency"],
           t["online"], e["properties"], e["traits"], e["context"])
    want = r[:21] + (bool(r[21]), obj(r[22]), obj(r[23]), obj(r[24]))
    if reimport:  # received at the time of each import
        got, want = got[:11] + got[12:], want[:11] + want[12:]
    n += 1
    if got != want:
        bad += 1
        if bad <= 3:
            print("differs:", [(g, w) for g, w in zip(got, want) if g != w][:3])
rest = sum(1 for _ in export.stdout) + sum(1 for _ in rows)
print(f"events compared: {n}, differing: {bad}, unmatched: {rest}")
# Traits: a row per trait in the row schema, a document per person since version 6.
newdb = sqlite3.connect(f"file:{work}/blocks/parcours.db?mode=ro", uri=True)
def listed(rows):
    return sorted((p, k, json.dumps(v, sort_keys=True), t) for p, k, v, t in rows)
old_traits = listed((p, k, json.loads(v), t) for p, k, v, t in
                    old.execute("SELECT person_id, key, value, updated_at FROM person_traits"))
new_traits = listed((p, k, v, json.loads(u)[k]) for p, d, u in
                    newdb.execute("SELECT person_id, traits, updated_at FROM person_traits")
                    for k, v in json.loads(d).items())
old_history = listed((p, k, json.loads(v), t) for p, k, v, t in
                     old.execute("SELECT person_id, key, value, observed_at FROM trait_history"))
new_history = listed((p, k, v, t) for p, t, d in
                     newdb.execute("SELECT person_id, observed_at, changes FROM trait_history")
                     for k, v in json.loads(d).items())
traits_ok = old_traits == new_traits and old_history == new_history
print(f"traits compared: {len(old_traits)} current, {len(old_history)} in history: "
      + ("same" if traits_ok else f"DIFFERENT ({len(new_traits)} and {len(new_history)} here)"))
sys.exit(1 if bad or rest or n == 0 or not traits_ok else 0)
PY
same() { if cmp -s "$1" "$2"; then echo "$3: same"; else echo "$3: DIFFERENT"; exit 1; fi; }
for id in cust-0000007 cust-0000500 anon-0000007-0; do
  "$old" timeline "$id" --workspace bench --data-dir "$work/rows" > "$work/old.out"
  "$new" timeline "$id" --workspace bench --data-dir "$work/blocks" > "$work/new.out"
  if [ "${REIMPORT:-0}" = 1 ]; then
    sed -i -E 's/"received_at":[0-9]+/"received_at":0/g' "$work/old.out" "$work/new.out"
  fi
  same "$work/old.out" "$work/new.out" "timeline of $id ($(wc -l < "$work/new.out") events)"
done
while read -r name args; do
  # shellcheck disable=SC2086
  "$old" $args --workspace bench --data-dir "$work/rows" --format json > "$work/old.out"
  # shellcheck disable=SC2086
  "$new" $args --workspace bench --data-dir "$work/blocks" --format json > "$work/new.out"
  same "$work/old.out" "$work/new.out" "$name ($(wc -c < "$work/new.out") bytes of JSON)"
done <<'LIST'
retention retention
attribution attribution --conversion commande
sessions sessions
transitions transitions
LIST
echo "upgrade check: ok"
