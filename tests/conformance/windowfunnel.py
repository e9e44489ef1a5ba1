"""Conformance of parcours's ordered, windowed funnel with ClickHouse's `windowFunnel`.

Generates thousands of actors with a seed (whole-second times in a narrow range, so
ties are frequent), writes them as Segment messages, runs `parcours journey run --input`
and, on the same rows, ClickHouse's engine (chDB) with `windowFunnel(window,
'strict_increase')` — parcours's default `ties = "strict"` — and with the default mode —
parcours's `ties = "allow"`. A brute-force search over every chain is the third opinion.

Checks, for every actor's furthest stage:
- parcours equals the brute force, in both modes;
- parcours equals ClickHouse in the default mode, and in `strict_increase` mode for every
  actor without two events at one timestamp. With ties, ClickHouse's `strict_increase`
  overwrites a step's time with a later event at the same second and can lose a valid
  chain (A@1 B@2 B@5 C@5: it answers 2, the chain A@1 B@2 C@5 reaches 3); those actors
  are counted and printed, and each is checked to be one where ClickHouse under-counts.
Exits non-zero when a check fails.

Usage: python windowfunnel.py PATH/TO/parcours [ACTORS] [SEED]
"""

import datetime
import json
import os
import random
import subprocess
import sys
import tempfile

import chdb

STEPS = ["A", "B", "C", "D", "E"]
NOISE = ["X", "Y"]
BASE = 1_767_571_200  # 2026-01-05T00:00:00Z
WINDOW_S = 900


def generate(actors, seed):
    rng = random.Random(seed)
    rows = []
    for a in range(actors):
        n = rng.randint(1, 14)
        # Mostly moving forward through the steps, with repeats, noise and ties.
        t = rng.randint(0, 3600)
        level = 0
        for _ in range(n):
            t += rng.choice([0, 0, 1, 5, 30, 120, 400, 1000])
            r = rng.random()
            if r < 0.55:
                name = STEPS[min(level, len(STEPS) - 1)]
                level += 1
            elif r < 0.75:
                name = rng.choice(STEPS)
            else:
                name = rng.choice(NOISE)
            rows.append((f"actor-{a:05d}", BASE + t, name))
    return rows


def journey_toml(ties):
    stages = "\n".join(
        f'[[stages]]\nname = "s{i}"\nsteps = [{{ event = "{s}" }}]\n' for i, s in enumerate(STEPS)
    )
    return f'name = "conformance"\nwindow = "{WINDOW_S}s"\nties = "{ties}"\n\n{stages}'


def parcours_levels(binary, events_path, ties, workdir):
    path = os.path.join(workdir, f"journey-{ties}.toml")
    with open(path, "w") as f:
        f.write(journey_toml(ties))
    out = subprocess.run(
        [binary, "journey", "run", path, "--input", events_path, "--actors", "converted:1", "--format", "json"],
        check=True, capture_output=True, text=True, env={**os.environ, "RUST_LOG": "warn"},
    ).stdout
    return {row["actor"]: sum(1 for s in row["stages"] if s) for row in json.loads(out)}


def clickhouse_levels(csv_path, mode):
    conds = ", ".join(f"event = '{s}'" for s in STEPS)
    params = f"{WINDOW_S}, '{mode}'" if mode else f"{WINDOW_S}"
    sql = f"""
        SELECT actor, windowFunnel({params})(toDateTime(ts), {conds}) AS level
        FROM file('{csv_path}', CSV, 'actor String, ts UInt32, event String')
        GROUP BY actor HAVING level > 0 FORMAT JSONEachRow"""
    out = chdb.query(sql, "JSONEachRow").bytes().decode()
    return {r["actor"]: int(r["level"]) for r in map(json.loads, out.splitlines())}


def brute_force(events, strict):
    """The furthest step of any chain: entry at a first-step event, each next step at a
    later (strict) or not earlier (allow) distinct event, all within the window."""
    events = sorted(events)
    best = 0

    def extend(level, last_index, start_ts):
        nonlocal best
        best = max(best, level)
        if level == len(STEPS):
            return
        last_ts = events[last_index][0]
        for j, (t, e) in enumerate(events):
            if j == last_index or e != STEPS[level] or t > start_ts + WINDOW_S:
                continue
            if (t > last_ts) if strict else (t > last_ts or (t == last_ts and j > last_index)):
                extend(level + 1, j, start_ts)

    for i, (t, e) in enumerate(events):
        if e == STEPS[0]:
            extend(1, i, t)
    return best


def main():
    binary = os.path.abspath(sys.argv[1])
    actors = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    rows = generate(actors, seed)
    failed = False
    with tempfile.TemporaryDirectory() as workdir:
        events = os.path.join(workdir, "events.jsonl")
        csv_path = os.path.join(workdir, "events.csv")
        with open(events, "w") as f, open(csv_path, "w") as c:
            for i, (a, t, e) in enumerate(rows):
                when = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                f.write(json.dumps({"type": "track", "userId": a, "event": e, "messageId": f"m{i}",
                                    "timestamp": when}) + "\n")
                c.write(f"{a},{t},{e}\n")
        for ties, mode in [("strict", "strict_increase"), ("allow", None)]:
            ours = parcours_levels(binary, events, ties, workdir)
            theirs = clickhouse_levels(csv_path, mode)
            by_actor = {}
            for a, t, e in rows:
                by_actor.setdefault(a, []).append((t, e))
            oracle = {a: brute_force(ev, ties == "strict") for a, ev in by_actor.items()}
            wrong = sorted(a for a in by_actor if ours.get(a, 0) != oracle[a])
            diff = sorted(a for a in by_actor if ours.get(a, 0) != theirs.get(a, 0))
            has_ties = {a for a, ev in by_actor.items() if len({t for t, _ in ev}) < len(ev)}
            unexplained = [a for a in diff if a not in has_ties or mode is None or theirs.get(a, 0) > ours.get(a, 0)]
            dist = [sum(1 for v in ours.values() if v >= k) for k in range(1, len(STEPS) + 1)]
            print(f"ties={ties:6} windowFunnel({mode or 'default'}): {len(rows)} events, {actors} actors "
                  f"({len(has_ties)} with ties), reached per step {dist}; "
                  f"parcours vs brute force: {len(wrong)} differ; vs ClickHouse: {len(diff)} differ, "
                  f"{len(unexplained)} unexplained")
            for a in (wrong + unexplained)[:10]:
                detail = [(t - BASE, e) for t, e in sorted(by_actor[a])]
                print(f"  {a}: parcours {ours.get(a, 0)}, brute force {oracle[a]}, clickhouse {theirs.get(a, 0)}: {detail}")
            failed |= bool(wrong) or bool(unexplained)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
