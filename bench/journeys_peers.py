"""The peers of `journeys-bench`, on the same events: DuckDB and ClickHouse's engine (chDB).

Reads the CSV `journeys-bench --export` wrote (actor, ts in microseconds, kind, name) into
each engine's own in-memory table (load time printed apart), then times, median of
--repeat runs, the three analyses with the definitions parcours uses:

- funnel: five steps (home, produits, Product Added, Checkout Started, Order Completed),
  ordered, 30-day window from the entry, strictly increasing times; an actor counts at
  the furthest step any entry reaches. chDB runs its native `windowFunnel(…,
  'strict_increase')` on microsecond integers; DuckDB, which has no funnel function,
  chains ASOF joins from every entry (the greedy rule of docs/semantics.md).
- time to convert: for actors reaching step 5, from the entry of the first entry that
  converts to its step 5; median and p90 (linear interpolation). Both engines chain
  ASOF joins.
- paths: for each actor, the four events after their first page view (identify, group
  and alias skipped, ties ordered by name); the 20 most frequent sequences.

Prints times, peak memory of this process (both engines run in it, so the figure is the
larger of the two), and the ratio to parcours's figures from `--ours FILE.json`.

Usage: python journeys_peers.py EVENTS.csv --ours ours.json [--repeat 5]
"""

import argparse
import json
import resource
import time

from timing import ours_times, ratio_row, timed

STEPS = ["home", "produits", "Product Added", "Checkout Started", "Order Completed"]
WINDOW_US = 30 * 86400 * 1_000_000


def chain_sql(asof):
    """Greedy chains from every entry: step k+1 is the first step-(k+1) event strictly
    after step k, kept when within the window from the entry."""
    parts = [f"s1 AS (SELECT actor, ts AS t1 FROM e WHERE name = '{STEPS[0]}')"]
    for k, name in enumerate(STEPS[1:], start=2):
        parts.append(f"p{k} AS (SELECT actor, ts FROM e WHERE name = '{name}')")
    prev = "s1"
    for k in range(2, len(STEPS) + 1):
        keep = ", ".join(f"a.t{j}" for j in range(2, k))
        keep = (", " + keep) if keep else ""
        parts.append(
            f"c{k} AS (SELECT a.actor, a.t1{keep}, "
            f"CASE WHEN b.ts <= a.t1 + {WINDOW_US} THEN b.ts END AS t{k} "
            f"FROM {prev} a {asof} p{k} b ON a.actor = b.actor AND b.ts > a.t{k - 1})"
        )
        prev = f"c{k}"
    return "WITH " + ",\n".join(parts)


def level_expr():
    terms = " + ".join(f"(t{k} IS NOT NULL)" for k in range(2, len(STEPS) + 1))
    return f"1 + {terms}"


def duckdb_run(path, repeat):
    import duckdb

    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"CREATE TABLE e AS SELECT * FROM read_csv('{path}', header=true, "
                "columns={'actor': 'INTEGER', 'ts': 'BIGINT', 'kind': 'VARCHAR', 'name': 'VARCHAR'})")
    load_ms = (time.perf_counter() - t) * 1e3
    chains = chain_sql("ASOF LEFT JOIN")
    # Chains stop at the first missing step: t(k) counts only when t(k-1) does.
    funnel_sql = f"""{chains},
        lv AS (SELECT actor, max(CASE WHEN t2 IS NULL THEN 1 WHEN t3 IS NULL THEN 2
                                      WHEN t4 IS NULL THEN 3 WHEN t5 IS NULL THEN 4 ELSE 5 END) AS level
               FROM c5 GROUP BY actor)
        SELECT level, count(*) FROM lv GROUP BY level ORDER BY level"""
    ttc_sql = f"""{chains},
        conv AS (SELECT actor, arg_min(t5 - t1, t1) AS d FROM c5 WHERE t5 IS NOT NULL GROUP BY actor)
        SELECT quantile_cont(d, 0.5) / 1e6, quantile_cont(d, 0.9) / 1e6 FROM conv"""
    paths_sql = """
        WITH ev AS (SELECT actor, kind, name,
                           row_number() OVER (PARTITION BY actor ORDER BY ts, name) AS rn
                    FROM e WHERE kind NOT IN ('identify', 'group', 'alias')),
             f AS (SELECT actor, min(rn) AS r0 FROM ev WHERE kind = 'page' GROUP BY actor),
             p AS (SELECT ev.actor, list(name ORDER BY rn) AS path
                   FROM ev JOIN f ON ev.actor = f.actor
                   WHERE rn BETWEEN r0 + 1 AND r0 + 4 GROUP BY ev.actor HAVING count(*) = 4)
        SELECT path, count(*) AS n FROM p GROUP BY path ORDER BY n DESC, path LIMIT 20"""
    out = {"load_ms": load_ms}
    out["funnel_ms"], rows = timed(repeat, lambda: con.execute(funnel_sql).fetchall())
    out["funnel_counts"] = cumulative(rows)
    out["ttc_ms"], (out["ttc_median_s"], out["ttc_p90_s"]) = timed(repeat, lambda: con.execute(ttc_sql).fetchone())
    out["paths_ms"], rows = timed(repeat, lambda: con.execute(paths_sql).fetchall())
    out["paths_top"] = [{"events": list(p), "actors": n} for p, n in rows]
    return out


def chdb_run(path, repeat):
    from chdb import session

    s = session.Session()
    t = time.perf_counter()
    s.query("CREATE DATABASE IF NOT EXISTS b")
    s.query("CREATE TABLE b.e (actor UInt32, ts Int64, kind LowCardinality(String), name LowCardinality(String)) "
            "ENGINE = MergeTree ORDER BY (actor, ts)")
    s.query(f"INSERT INTO b.e SELECT * FROM file('{path}', CSVWithNames, "
            "'actor UInt32, ts Int64, kind String, name String')")
    load_ms = (time.perf_counter() - t) * 1e3
    conds = ", ".join(f"name = '{n}'" for n in STEPS)
    funnel_sql = f"""SELECT level, count() FROM (
            SELECT actor, windowFunnel({WINDOW_US}, 'strict_increase')(toUInt64(ts), {conds}) AS level
            FROM b.e GROUP BY actor) WHERE level > 0 GROUP BY level ORDER BY level FORMAT JSONCompact"""
    chains = chain_sql("ASOF LEFT JOIN").replace(" e ", " b.e ")
    ttc_sql = f"""{chains},
        conv AS (SELECT actor, argMin(t5 - t1, t1) AS d FROM c5 WHERE t5 IS NOT NULL GROUP BY actor)
        SELECT quantileExactInclusive(0.5)(d) / 1e6, quantileExactInclusive(0.9)(d) / 1e6 FROM conv
        SETTINGS join_use_nulls = 1 FORMAT JSONCompact"""
    paths_sql = """
        WITH ev AS (SELECT actor, kind, name,
                           row_number() OVER (PARTITION BY actor ORDER BY ts, name) AS rn
                    FROM b.e WHERE kind NOT IN ('identify', 'group', 'alias')),
             f AS (SELECT actor, min(rn) AS r0 FROM ev WHERE kind = 'page' GROUP BY actor),
             p AS (SELECT ev.actor AS actor, arrayMap(x -> x.2, arraySort(groupArray((rn, name)))) AS path
                   FROM ev JOIN f ON ev.actor = f.actor
                   WHERE rn BETWEEN r0 + 1 AND r0 + 4 GROUP BY ev.actor HAVING count() = 4)
        SELECT path, count() AS n FROM p GROUP BY path ORDER BY n DESC, path LIMIT 20 FORMAT JSONCompact"""

    def q(sql):
        return json.loads(s.query(sql).bytes())["data"]

    out = {"load_ms": load_ms}
    out["funnel_ms"], rows = timed(repeat, lambda: q(funnel_sql))
    out["funnel_counts"] = cumulative([(int(l), int(n)) for l, n in rows])
    out["ttc_ms"], rows = timed(repeat, lambda: q(ttc_sql))
    out["ttc_median_s"], out["ttc_p90_s"] = rows[0]
    out["paths_ms"], rows = timed(repeat, lambda: q(paths_sql))
    out["paths_top"] = [{"events": p, "actors": int(n)} for p, n in rows]
    return out


def cumulative(level_counts):
    """Actors per furthest level → actors reaching each step."""
    counts = dict(level_counts)
    return [sum(n for level, n in counts.items() if level >= k) for k in range(1, len(STEPS) + 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--ours", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    ours = ours_times(json.load(open(a.ours)))
    results = {"parcours": ours}
    results["duckdb"] = duckdb_run(a.events, a.repeat)
    results["chdb"] = chdb_run(a.events, a.repeat)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{ours['events']:,} events, {ours['actors']:,} actors; median of {a.repeat} runs after one off the clock")
    print(f"{'':24}{'parcours':>10}{'DuckDB':>10}{'chDB':>10}{'DuckDB/ours':>12}{'chDB/ours':>10}"
          f"{'fastest: DuckDB/ours':>22}{'chDB/ours':>10}")
    for key, label in [("funnel_ms", "funnel (ms)"), ("ttc_ms", "time to convert (ms)"), ("paths_ms", "paths (ms)")]:
        print(ratio_row(label, 24, ours[key], results["duckdb"][key], results["chdb"][key]))
    print(f"{'load / build (ms)':24}{ours['frame_build_ms']:10.0f}{results['duckdb']['load_ms']:10.0f}{results['chdb']['load_ms']:10.0f}")
    print(f"peak memory: parcours {ours['peak_rss_mb']:.0f} MB (whole process, store included); "
          f"Python with both peers {peak_mb:.0f} MB")
    print("funnel, actors per step:")
    for name in results:
        print(f"  {name:9} {results[name]['funnel_counts']}")
    print("time to convert, median / p90 (s):")
    for name in results:
        r = results[name]
        print(f"  {name:9} {float(r['ttc_median_s']):.0f} / {float(r['ttc_p90_s']):.0f}")
    same_paths = all(results[n]["paths_top"][:20] == ours["paths_top"][:20] for n in ("duckdb", "chdb"))
    print(f"top 20 paths identical in all three: {same_paths}")
    if not same_paths:
        for name in results:
            print(f"  {name:9} {[p['actors'] for p in results[name]['paths_top'][:5]]}")


if __name__ == "__main__":
    main()
