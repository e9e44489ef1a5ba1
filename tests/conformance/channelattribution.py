"""Attribution checked against ChannelAttribution (PyPI), on the example paths it ships.

The example (`Data.csv`: 10,000 paths over 12 channels, with conversions, conversion
value and non-converting counts) is taken from the package's source distribution at test
time — it is GPL-3 data and is not copied into this repository. For each run:

- the heuristic models (first, last, linear touch), conversions and value, must equal
  ChannelAttribution's to 1e-9 (relative);
- the Markov removal effects (conversion and value) of orders 1, 2 and 3 must lie within
  ChannelAttribution's simulation error: parcours solves the absorbing chain exactly;
  ChannelAttribution simulates it. It is run eight times (four simulation sizes, two
  seeds), without its default cap on the simulated path length (`max_step` = the longest
  observed path, which biases the estimate downwards when the chain has loops); parcours
  must lie within five standard deviations of the mean of those runs (and at least
  0.004). The largest gap, as a share of the tolerance, is printed.

Exits non-zero when a check fails.

Usage: python channelattribution.py PATH/TO/parcours PATH/TO/Data.csv
"""

import json
import statistics
import subprocess
import sys

import pandas as pd
import ChannelAttribution as ca

# Simulation sizes and seeds: each pair gives an independent estimate (some seeds alone
# repeat the same stream, so the size varies too).
RUNS = [(n, seed) for n in (3e5, 5e5, 1e6, 1.1e6) for seed in (0, 7)]


def parcours(binary, data, models, order=1):
    out = subprocess.run(
        [binary, "attribution", "--paths", data, "--models", models,
         "--order", str(order), "--format", "json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def main():
    binary, data = sys.argv[1], sys.argv[2]
    frame = pd.read_csv(data, sep=";")
    failures = 0

    ours = parcours(binary, data, "first,last,linear")
    rows = {r["touch"]: r["credits"] for r in ours["rows"]}
    theirs = ca.heuristic_models(frame, "path", "total_conversions",
                                 var_value="total_conversion_value", flg_pro=False)
    checked = 0
    for _, r in theirs.iterrows():
        for model, col in [("first", "first_touch"), ("last", "last_touch"),
                           ("linear", "linear_touch")]:
            for what, suffix in [("conversions", "_conversions"), ("value", "_value")]:
                want = float(r[col + suffix])
                got = rows[r["channel_name"]][model][what]
                checked += 1
                if not close(got, want):
                    failures += 1
                    print(f"FAIL {model} {what} {r['channel_name']}: parcours {got}, "
                          f"ChannelAttribution {want}")
    print(f"heuristics: {checked} figures equal to ChannelAttribution's")

    for order in [1, 2, 3]:
        ours = parcours(binary, data, "markov", order)
        effects = {e["touch"]: e for e in ours["markov"]["removal_effects"]}
        runs = []
        for nsim, seed in RUNS:
            r = ca.markov_model(frame, "path", "total_conversions",
                                var_value="total_conversion_value", var_null="total_null",
                                order=order, out_more=True, max_step=1000, seed=seed,
                                nsim_start=nsim, verbose=False, flg_pro=False)
            runs.append(r["removal_effects"].set_index("channel_name"))
        worst, widest = 0.0, 0.0
        for channel in runs[0].index:
            for what, col in [("conversion", "removal_effects_conversion"),
                              ("value", "removal_effects_conversion_value")]:
                samples = [float(run.loc[channel, col]) for run in runs]
                mean = statistics.fmean(samples)
                tolerance = max(5 * statistics.stdev(samples), 0.004)
                got = effects[channel][what]
                gap = abs(got - mean)
                worst = max(worst, gap / tolerance)
                widest = max(widest, gap)
                if gap > tolerance:
                    failures += 1
                    print(f"FAIL order {order} removal effect ({what}) {channel}: "
                          f"parcours {got:.6f}, ChannelAttribution {mean:.6f} "
                          f"± {tolerance:.6f} ({samples})")
        print(f"markov order {order}: {ours['markov']['states']} states, removal effects "
              f"within ChannelAttribution's error (largest gap {widest:.4f}, "
              f"{worst:.2f} of its tolerance)")

    if failures:
        print(f"{failures} checks failed")
        sys.exit(1)
    print("attribution conformance: ok")


if __name__ == "__main__":
    main()
