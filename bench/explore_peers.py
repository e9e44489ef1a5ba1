"""The peers of `explore-bench`, on the same events: DuckDB and ClickHouse's engine (chDB).

Reads the CSV `explore-bench --export` wrote (actor, seq — the frame's order, ties
included —, ts in microseconds, name, channel, revenue) into each engine's in-memory
table (load time printed apart), then times, median of --repeat runs, the questions with
the definitions of docs/semantics.md, and checks that every engine gives parcours's
answer:

- transition graph: every event to the actor's next one, by event name, repeats kept;
  per edge the transitions, distinct actors and median gap (linear interpolation).
- attribution, first / last / linear touch: each `Order Completed` gets the actor's
  channels since their previous order and within 30 days before it (inclusive), its own
  channel included, a run of one channel counted once at the time of its last event.

The Markov chain and Shapley models are not run on the peers: they solve linear systems
over the paths, which SQL does not express.

Usage: python explore_peers.py EVENTS.csv --ours ours.json [--repeat 5]
"""

import argparse
import json
import statistics
import time

LOOKBACK_US = 30 * 86400 * 1_000_000


def timed(repeat, f):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), result


def attribution_sql(median_ok=True):
    # segment = orders before this row: an order closes its segment.
    return f"""
    WITH s AS (
        SELECT actor, seq, ts, channel, name = 'Order Completed' AS conv,
               coalesce(sum(CASE WHEN name = 'Order Completed' THEN 1 ELSE 0 END) OVER (
                   PARTITION BY actor ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS segment,
               lead(channel) OVER (PARTITION BY actor ORDER BY seq) AS next_channel
        FROM e),
    t AS (SELECT * FROM s WHERE conv OR next_channel IS NULL OR next_channel <> channel),
    c AS (SELECT actor, segment, seq AS cseq, ts AS cts FROM t WHERE conv),
    p AS (SELECT c.actor AS actor, c.cseq AS cseq, t.channel AS channel,
                 row_number() OVER (PARTITION BY c.actor, c.cseq ORDER BY t.seq) AS k,
                 count(*) OVER (PARTITION BY c.actor, c.cseq) AS n
          FROM c JOIN t ON t.actor = c.actor AND t.segment = c.segment
          WHERE t.seq <= c.cseq AND t.ts >= c.cts - {LOOKBACK_US})
    SELECT channel, sum(CASE WHEN k = 1 THEN 1 ELSE 0 END) AS first,
           sum(CASE WHEN k = n THEN 1 ELSE 0 END) AS last, sum(1.0 / n) AS linear
    FROM p GROUP BY channel ORDER BY channel"""


def duckdb_run(path, repeat):
    import duckdb

    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"CREATE TABLE e AS SELECT * FROM read_csv('{path}', header=true, columns="
                "{'actor': 'INTEGER', 'seq': 'BIGINT', 'ts': 'BIGINT', 'name': 'VARCHAR', "
                "'channel': 'VARCHAR', 'revenue': 'DOUBLE'})")
    load_ms = (time.perf_counter() - t) * 1e3
    graph_sql = """
        WITH x AS (SELECT actor, name, ts, lead(name) OVER w AS nxt, lead(ts) OVER w AS nts
                   FROM e WINDOW w AS (PARTITION BY actor ORDER BY seq))
        SELECT name, nxt, count(*), count(DISTINCT actor), median(nts - ts) / 1e6
        FROM x WHERE nxt IS NOT NULL GROUP BY name, nxt"""
    out = {"load_ms": load_ms}
    out["transitions_ms"], out["edges"] = timed(repeat, lambda: con.execute(graph_sql).fetchall())
    out["attribution_ms"], out["credits"] = timed(repeat, lambda: con.execute(attribution_sql()).fetchall())
    return out


def chdb_run(path, repeat):
    from chdb import session

    s = session.Session()
    t = time.perf_counter()
    s.query("CREATE DATABASE IF NOT EXISTS x")
    s.query("CREATE TABLE x.e (actor UInt32, seq UInt64, ts Int64, name LowCardinality(String), "
            "channel LowCardinality(String), revenue Nullable(Float64)) ENGINE = MergeTree ORDER BY (actor, seq)")
    s.query(f"INSERT INTO x.e SELECT * FROM file('{path}', CSVWithNames, "
            "'actor UInt32, seq UInt64, ts Int64, name String, channel String, revenue Nullable(Float64)')")
    load_ms = (time.perf_counter() - t) * 1e3
    graph_sql = """
        SELECT name, nxt, count(), uniqExact(actor), quantileExactInclusive(0.5)(nts - ts) / 1e6 FROM (
            SELECT actor, name, ts,
                   leadInFrame(name) OVER w AS nxt, leadInFrame(ts) OVER w AS nts,
                   row_number() OVER w AS rn, count() OVER (PARTITION BY actor) AS cnt
            FROM x.e WINDOW w AS (PARTITION BY actor ORDER BY seq ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING))
        WHERE rn < cnt GROUP BY name, nxt FORMAT JSONCompact"""
    attr = (attribution_sql().replace("FROM e)", "FROM x.e)")
            .replace("lead(channel) OVER (PARTITION BY actor ORDER BY seq)",
                     "leadInFrame(channel) OVER (PARTITION BY actor ORDER BY seq "
                     "ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)")
            .replace("next_channel IS NULL OR", "next_channel = '' OR")
            + " SETTINGS join_algorithm = 'parallel_hash' FORMAT JSONCompact")

    def q(sql):
        return json.loads(s.query(sql).bytes())["data"]

    out = {"load_ms": load_ms}
    out["transitions_ms"], out["edges"] = timed(repeat, lambda: q(graph_sql))
    out["attribution_ms"], out["credits"] = timed(repeat, lambda: q(attr))
    return out


def same_edges(ours, theirs):
    mine = {(f, t): (n, a, m) for f, t, n, a, m in ours}
    other = {(r[0], r[1]): (int(r[2]), int(r[3]), float(r[4])) for r in theirs}
    if mine.keys() != other.keys():
        return False
    return all(mine[k][0] == other[k][0] and mine[k][1] == other[k][1]
               and abs(mine[k][2] - other[k][2]) < 1e-6 for k in mine)


def same_credits(ours, theirs):
    for channel, first, last, linear in theirs:
        for model, value in (("first", first), ("last", last), ("linear", linear)):
            if abs(ours[model].get(channel, 0.0) - float(value)) > 1e-6:
                print(f"  differs: {model} {channel} parcours {ours[model].get(channel)} vs {value}")
                return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--ours", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    ours = json.load(open(a.ours))
    results = {"duckdb": duckdb_run(a.events, a.repeat), "chdb": chdb_run(a.events, a.repeat)}
    print(f"\n{ours['events']:,} events; median of {a.repeat} runs")
    print(f"{'':34}{'parcours':>10}{'DuckDB':>10}{'chDB':>10}{'DuckDB/ours':>13}{'chDB/ours':>11}")
    for ours_key, key, label in [("transitions_ms", "transitions_ms", "transition graph (ms)"),
                                 ("attribution_heuristics_ms", "attribution_ms", "first/last/linear attribution (ms)")]:
        o, d, c = ours[ours_key], results["duckdb"][key], results["chdb"][key]
        print(f"{label:34}{o:10.1f}{d:10.1f}{c:10.1f}{d / o:12.1f}x{c / o:10.1f}x")
    print(f"{'Markov order 1 / 2 (ms)':34}{ours['markov_ms']:10.1f} / {ours['markov2_ms']:.1f}  (not expressible in SQL)")
    print(f"{'all 11 models (ms)':34}{ours['all_models_ms']:10.1f}")
    print(f"{'load (ms)':34}{'':10}{results['duckdb']['load_ms']:10.0f}{results['chdb']['load_ms']:10.0f}")
    ok = True
    for name, r in results.items():
        edges = same_edges(ours["edges"], r["edges"])
        credits = same_credits(ours, r["credits"])
        ok &= edges and credits
        print(f"{name}: transition graph identical: {edges}; attribution credits identical: {credits}")
    if not ok:
        raise SystemExit("a peer disagrees with parcours")


if __name__ == "__main__":
    main()
