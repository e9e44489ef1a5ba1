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

- paths of event names, a run of one name one visit: the flow after each actor's first
  `home` (5 steps; nodes and links per step), the step matrix (10 columns), the top 10
  variants (complete sequences).

- retention: actors by the Monday-based week they were first seen, retained at week N
  when they had any event N weeks later (N = 0 … 8); cohort sizes and retained counts.
  (parcours also computes the lifecycle, value per actor and stickiness in its figure.)

The Markov chain and Shapley models are not run on the peers: they solve linear systems
over the paths, which SQL does not express; nor are the loops (a three-visit window per
actor, expressible but not a question SQL users ask).

Usage: python explore_peers.py EVENTS.csv --ours ours.json [--repeat 5]
"""

import argparse
import json
import time

from timing import ours_times, ratio_row, timed

LOOKBACK_US = 30 * 86400 * 1_000_000
DAY_US = 86400 * 1_000_000


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


# The whole retention report of parcours (weekly cohorts of first-seen actors, any event,
# 8 weeks): cohort cells, revenue per cohort and N, the lifecycle (new, returning,
# resurrecting, dormant) and stickiness, as tagged rows (tag, a, b, x).
def duck_retention_full():
    return f"""
    WITH w AS (SELECT actor, floor(ts / {DAY_US})::BIGINT AS dy, (floor(ts / {DAY_US})::BIGINT + 3) // 7 AS wk,
                      coalesce(revenue, 0) AS rev FROM e),
         aw AS (SELECT actor, wk, count(DISTINCT dy) AS days, sum(rev) AS rev FROM w GROUP BY actor, wk),
         l AS (SELECT actor, wk, days, rev, min(wk) OVER (PARTITION BY actor) AS c,
                      lag(wk) OVER (PARTITION BY actor ORDER BY wk) AS prev,
                      lead(wk) OVER (PARTITION BY actor ORDER BY wk) AS nxt FROM aw),
         z AS (SELECT max(wk) AS z FROM aw),
         d AS (SELECT dy, count(DISTINCT actor) AS n FROM w GROUP BY dy),
         m AS (SELECT wk, count(*) AS m FROM aw GROUP BY wk)
    SELECT 'cell', c, wk - c, count(*)::DOUBLE FROM l WHERE wk - c BETWEEN 0 AND 8 GROUP BY c, wk - c
    UNION ALL SELECT 'value', c, wk - c, sum(rev) FROM l WHERE wk - c BETWEEN 0 AND 8 GROUP BY c, wk - c
    UNION ALL SELECT 'active', wk, 0, count(*) FROM l GROUP BY wk
    UNION ALL SELECT 'new', wk, 0, count(*) FROM l WHERE prev IS NULL GROUP BY wk
    UNION ALL SELECT 'returning', wk, 0, count(*) FROM l WHERE prev = wk - 1 GROUP BY wk
    UNION ALL SELECT 'resurrecting', wk, 0, count(*) FROM l WHERE prev < wk - 1 GROUP BY wk
    UNION ALL SELECT 'dormant', wk + 1, 0, count(*) FROM l, z WHERE (nxt IS NULL OR nxt > wk + 1) AND wk < z.z
              GROUP BY wk + 1
    UNION ALL SELECT 'sticky', days, 0, count(*) FROM l GROUP BY days
    UNION ALL SELECT 'daily', 0, 0, avg(n / m) FROM d JOIN m ON (d.dy + 3) // 7 = m.wk"""


def chdb_retention_full():
    return f"""
    WITH w AS (SELECT actor, intDiv(ts, {DAY_US}) AS dy, intDiv(intDiv(ts, {DAY_US}) + 3, 7) AS wk,
                      ifNull(revenue, 0) AS rev FROM x.e),
         aw AS (SELECT actor, wk, uniqExact(dy) AS days, sum(rev) AS rev FROM w GROUP BY actor, wk),
         l AS (SELECT actor, wk, days, rev, min(wk) OVER (PARTITION BY actor) AS c,
                      lagInFrame(toNullable(wk)) OVER (PARTITION BY actor ORDER BY wk
                          ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev,
                      leadInFrame(toNullable(wk)) OVER (PARTITION BY actor ORDER BY wk
                          ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS nxt FROM aw),
         (SELECT max(wk) FROM aw) AS z,
         d AS (SELECT dy, uniqExact(actor) AS n FROM w GROUP BY dy),
         m AS (SELECT wk, count() AS m FROM aw GROUP BY wk)
    SELECT 'cell', c, wk - c, toFloat64(count()) FROM l WHERE wk - c BETWEEN 0 AND 8 GROUP BY c, wk - c
    UNION ALL SELECT 'value', c, wk - c, sum(rev) FROM l WHERE wk - c BETWEEN 0 AND 8 GROUP BY c, wk - c
    UNION ALL SELECT 'active', wk, 0, toFloat64(count()) FROM l GROUP BY wk
    UNION ALL SELECT 'new', wk, 0, toFloat64(count()) FROM l WHERE prev IS NULL GROUP BY wk
    UNION ALL SELECT 'returning', wk, 0, toFloat64(count()) FROM l WHERE prev = wk - 1 GROUP BY wk
    UNION ALL SELECT 'resurrecting', wk, 0, toFloat64(count()) FROM l WHERE prev < wk - 1 GROUP BY wk
    UNION ALL SELECT 'dormant', wk + 1, 0, toFloat64(count()) FROM l
              WHERE (nxt IS NULL OR nxt > wk + 1) AND wk < z GROUP BY wk + 1
    UNION ALL SELECT 'sticky', days, 0, toFloat64(count()) FROM l GROUP BY days
    UNION ALL SELECT 'daily', 0, 0, avg(n / m) FROM d JOIN m ON intDiv(d.dy + 3, 7) = m.wk
    FORMAT JSONCompact"""


VISITS_DUCK = """
    c AS (SELECT actor, seq, name, lag(name) OVER (PARTITION BY actor ORDER BY seq) AS prev FROM e),
    v AS (SELECT actor, seq, name, row_number() OVER (PARTITION BY actor ORDER BY seq) AS k
          FROM c WHERE prev IS NULL OR prev <> name)"""

PATHS_TAIL = """,
    a AS (SELECT actor, min(k) AS k0 FROM v WHERE name = 'home' GROUP BY actor),
    p AS (SELECT v.actor AS actor, v.k - a.k0 AS step, v.name AS name FROM v JOIN a ON v.actor = a.actor
          WHERE v.k BETWEEN a.k0 AND a.k0 + 5)"""


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
    flow_sql = "WITH " + VISITS_DUCK + PATHS_TAIL + """,
        l AS (SELECT step, name, lead(name) OVER (PARTITION BY actor ORDER BY step) AS nxt FROM p)
        SELECT step, name, coalesce(nxt, ''), count(*) FROM l GROUP BY ALL"""
    matrix_sql = "WITH " + VISITS_DUCK + """
        SELECT k, name, count(*), (SELECT count(DISTINCT actor) FROM e) FROM v WHERE k <= 10 GROUP BY k, name"""
    variants_sql = "WITH " + VISITS_DUCK + """
        SELECT s, count(*) AS n FROM (SELECT actor, string_agg(name, '>' ORDER BY k) AS s FROM v GROUP BY actor)
        GROUP BY s ORDER BY n DESC, s LIMIT 10"""
    retention_sql = f"""
        WITH w AS (SELECT actor, (floor(ts / {DAY_US})::BIGINT + 3) // 7 AS wk, ts FROM e),
             f AS (SELECT actor, min(wk) AS c FROM w GROUP BY actor),
             a AS (SELECT DISTINCT w.actor, w.wk - f.c AS n, f.c FROM w JOIN f ON w.actor = f.actor
                   WHERE w.wk - f.c BETWEEN 0 AND 8)
        SELECT c, n, count(*) FROM a GROUP BY c, n"""
    full_sql = duck_retention_full()
    out = {"load_ms": load_ms}
    out["retention_ms"], out["retention"] = timed(repeat, lambda: con.execute(retention_sql).fetchall())
    out["retention_full_ms"], out["retention_full"] = timed(repeat, lambda: con.execute(full_sql).fetchall())
    out["transitions_ms"], out["edges"] = timed(repeat, lambda: con.execute(graph_sql).fetchall())
    out["attribution_ms"], out["credits"] = timed(repeat, lambda: con.execute(attribution_sql()).fetchall())
    out["flow_ms"], out["flow"] = timed(repeat, lambda: con.execute(flow_sql).fetchall())
    out["matrix_ms"], out["matrix"] = timed(repeat, lambda: con.execute(matrix_sql).fetchall())
    out["variants_ms"], out["variants"] = timed(repeat, lambda: con.execute(variants_sql).fetchall())
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

    visits = """
        c AS (SELECT actor, seq, name,
                     lagInFrame(name) OVER (PARTITION BY actor ORDER BY seq ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev,
                     row_number() OVER (PARTITION BY actor ORDER BY seq) AS rn FROM x.e),
        v AS (SELECT actor, seq, name, row_number() OVER (PARTITION BY actor ORDER BY seq) AS k
              FROM c WHERE rn = 1 OR prev <> name)"""
    flow_sql = "WITH " + visits + PATHS_TAIL + """,
        l AS (SELECT step, name, leadInFrame(name) OVER (PARTITION BY actor ORDER BY step
                                                  ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS nxt FROM p)
        SELECT step, name, nxt, count() FROM l GROUP BY step, name, nxt FORMAT JSONCompact"""
    matrix_sql = "WITH " + visits + """
        SELECT k, name, count(), (SELECT uniqExact(actor) FROM x.e) FROM v WHERE k <= 10 GROUP BY k, name FORMAT JSONCompact"""
    variants_sql = "WITH " + visits + """
        SELECT s, count() AS n FROM (
            SELECT actor, arrayStringConcat(arrayMap(t -> t.2, arraySort(groupArray((k, name)))), '>') AS s
            FROM v GROUP BY actor)
        GROUP BY s ORDER BY n DESC, s LIMIT 10 FORMAT JSONCompact"""
    retention_sql = f"""
        WITH w AS (SELECT actor, intDiv(intDiv(ts, {DAY_US}) + 3, 7) AS wk FROM x.e),
             f AS (SELECT actor, min(wk) AS c FROM w GROUP BY actor),
             a AS (SELECT DISTINCT w.actor AS actor, w.wk - f.c AS n, f.c AS c FROM w JOIN f ON w.actor = f.actor
                   WHERE w.wk - f.c BETWEEN 0 AND 8)
        SELECT c, n, count() FROM a GROUP BY c, n FORMAT JSONCompact"""
    out = {"load_ms": load_ms}
    out["retention_ms"], out["retention"] = timed(repeat, lambda: q(retention_sql))
    full_sql = chdb_retention_full()
    out["retention_full_ms"], out["retention_full"] = timed(repeat, lambda: q(full_sql))
    out["transitions_ms"], out["edges"] = timed(repeat, lambda: q(graph_sql))
    out["attribution_ms"], out["credits"] = timed(repeat, lambda: q(attr))
    out["flow_ms"], out["flow"] = timed(repeat, lambda: q(flow_sql))
    out["matrix_ms"], out["matrix"] = timed(repeat, lambda: q(matrix_sql))
    out["variants_ms"], out["variants"] = timed(repeat, lambda: q(variants_sql))
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


def same_flow(ours, rows):
    nodes, links = {}, {}
    for step, name, nxt, n in rows:
        step, n = int(step), int(n)
        nodes[(step, name)] = nodes.get((step, name), 0) + n
        if nxt not in ("", None) and step < 5:
            links[(step, name, nxt)] = n
    mine_nodes = {(s, name): n for s, name, n in ours["flow_nodes"]}
    mine_links = {(s, a, b): n for s, a, b, n in ours["flow_links"]}
    return nodes == mine_nodes and links == mine_links


def same_matrix(ours, rows):
    cells = {}
    for k, name, n, total in rows:
        cells[(name, int(k))] = int(n) / int(total)
    for name, shares in ours["matrix"].items():
        if name == "ENDED":
            continue
        for k, share in enumerate(shares, start=1):
            if abs(cells.get((name, k), 0.0) - share) > 1e-9:
                print(f"  differs: matrix {name} step {k}: parcours {share}, peer {cells.get((name, k))}")
                return False
    return len({n for n, _ in cells}) == len([n for n in ours["matrix"] if n != "ENDED"])


def same_retention(ours, rows):
    """Cohorts are keyed by week index in SQL and by the week's Monday in parcours."""
    import datetime
    cells = {}
    for c, n, count in rows:
        monday = datetime.date(1970, 1, 1) + datetime.timedelta(days=int(c) * 7 - 3)
        cells[(monday.isoformat(), int(n))] = int(count)
    for start, size, retained in ours["retention"]:
        if cells.get((start, 0)) != size:
            print(f"  differs: cohort {start} size {size} vs {cells.get((start, 0))}")
            return False
        for n, r in enumerate(retained):
            if r is not None and cells.get((start, n), 0) != r:
                print(f"  differs: cohort {start} N{n}: parcours {r}, peer {cells.get((start, n), 0)}")
                return False
    return True


def same_retention_full(ours, rows):
    """The rest of the report: value per actor by cohort, lifecycle and stickiness."""
    import datetime
    epoch = datetime.date(1970, 1, 1)

    def week(start):
        return ((datetime.date.fromisoformat(start) - epoch).days + 3) // 7

    def close(p, q):
        return abs(p - q) <= 1e-9 * max(1.0, abs(p), abs(q))

    t = {}
    for tag, a, b, x in rows:
        t.setdefault(tag, {})[(int(a), int(b))] = float(x)
    for start, values in ours["retention_value"]:
        c = week(start)
        size, cumulated = t["cell"].get((c, 0), 0.0), 0.0
        for n, v in enumerate(values):
            cumulated += t["value"].get((c, n), 0.0)
            if v is not None and not (size and close(v, cumulated / size)):
                print(f"  differs: value per actor, cohort {start} N{n}: parcours {v}, peer {cumulated / size}")
                return False
    tags = ("active", "new", "returning", "resurrecting", "dormant")
    for start, *counts in ours["lifecycle"]:
        theirs = [int(t.get(tag, {}).get((week(start), 0), 0)) for tag in tags]
        if theirs != counts:
            print(f"  differs: lifecycle {start}: parcours {counts}, peer {theirs}")
            return False
    listed = {week(row[0]) for row in ours["lifecycle"]}
    if any(w not in listed for tag in tags for (w, _) in t.get(tag, {})):
        print("  differs: the peer has lifecycle periods parcours does not list")
        return False
    histogram, daily = ours["stickiness"]
    theirs = [int(t["sticky"].get((k, 0), 0)) for k in range(1, len(histogram) + 1)]
    if theirs != histogram or not close(daily, t["daily"][(0, 0)]):
        print(f"  differs: stickiness: parcours {histogram} {daily}, peer {theirs} {t['daily']}")
        return False
    return True


def same_variants(ours, rows):
    theirs = {s: int(n) for s, n in rows}
    last = ours["variants"][-1][1]
    # Below the last count, ties may order differently: compare the sequences above it.
    return all(theirs.get(s) == n for s, n in ours["variants"] if n > last)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--ours", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    ours = ours_times(json.load(open(a.ours)))
    results = {"duckdb": duckdb_run(a.events, a.repeat), "chdb": chdb_run(a.events, a.repeat)}
    print(f"\n{ours['events']:,} events; median of {a.repeat} runs after one off the clock")
    print(f"{'':34}{'parcours':>10}{'DuckDB':>10}{'chDB':>10}{'DuckDB/ours':>12}{'chDB/ours':>10}"
          f"{'fastest: DuckDB/ours':>22}{'chDB/ours':>10}")
    for ours_key, key, label in [("transitions_ms", "transitions_ms", "transition graph (ms)"),
                                 ("attribution_heuristics_ms", "attribution_ms", "first/last/linear attribution (ms)")]:
        print(ratio_row(label, 34, ours[ours_key], results["duckdb"][key], results["chdb"][key]))
    for ours_key, label in [("flow_ms", "flow after home, 5 steps (ms)"),
                            ("matrix_ms", "step matrix, 10 steps (ms)"),
                            ("variants_ms", "top 10 variants (ms)")]:
        print(ratio_row(label, 34, ours[ours_key], results["duckdb"][ours_key], results["chdb"][ours_key]))
    print(f"{'loops (ms)':34}{ours['loops_ms']:10.1f}")
    d, c = results["duckdb"]["retention_ms"], results["chdb"]["retention_ms"]
    # The peers' matrix query computes cohort cells only; parcours's pass without the value
    # per actor still computes the lifecycle and stickiness.
    print(ratio_row("retention matrix, 8 weeks (ms)", 34, ours["retention_counts_ms"], d, c))
    d, c = results["duckdb"]["retention_full_ms"], results["chdb"]["retention_full_ms"]
    print(ratio_row("retention, whole report (ms)", 34, ours["retention_ms"], d, c))
    print(f"{'Markov order 1 / 2 (ms)':34}{ours['markov_ms']:10.1f} / {ours['markov2_ms']:.1f}  (not expressible in SQL)")
    print(f"{'all 11 models (ms)':34}{ours['all_models_ms']:10.1f}")
    print(f"{'load (ms)':34}{'':10}{results['duckdb']['load_ms']:10.0f}{results['chdb']['load_ms']:10.0f}")
    ok = True
    for name, r in results.items():
        edges = same_edges(ours["edges"], r["edges"])
        credits = same_credits(ours, r["credits"])
        fl = same_flow(ours, r["flow"])
        mx = same_matrix(ours, r["matrix"])
        vs = same_variants(ours, r["variants"])
        rt = same_retention(ours, r["retention"])
        rf = same_retention_full(ours, r["retention_full"])
        ok &= edges and credits and fl and mx and vs and rt and rf
        print(f"{name}: identical transition graph {edges}, attribution credits {credits}, "
              f"flow {fl}, step matrix {mx}, variants {vs}, retention {rt}, whole retention report {rf}")
    if not ok:
        raise SystemExit("a peer disagrees with parcours")


if __name__ == "__main__":
    main()
