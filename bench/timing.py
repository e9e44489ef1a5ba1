"""What the peer scripts share: timing runs (median and fastest) and the ratio rows.

Times are in milliseconds. parcours's figures file carries each time as
{"median": …, "fastest": …}; `ours_times` reads them as `Ms`.
"""

import statistics
import time


class Ms(float):
    """A median time in ms that also carries the fastest run (`fastest`)."""

    def __new__(cls, median, fastest):
        ms = super().__new__(cls, median)
        ms.fastest = fastest
        return ms


def timed(repeat, f):
    """One run off the clock first (as parcours's benchmarks do), then `repeat` timed."""
    f()
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = f()
        times.append((time.perf_counter() - t) * 1e3)
    return Ms(statistics.median(times), min(times)), result


def ours_times(ours):
    """parcours's figures file holds times as {median, fastest}: read them as Ms."""
    return {k: Ms(v["median"], v["fastest"]) if isinstance(v, dict) and "fastest" in v else v
            for k, v in ours.items()}


def ratio_row(label, width, o, d, c):
    """Times (medians), then the peers' ratios to parcours on the medians and on the
    fastest runs (the least disturbed on a shared machine)."""
    return (f"{label:{width}}{o:10.1f}{d:10.1f}{c:10.1f}{d / o:10.1f}x{c / o:9.1f}x"
            f"{d.fastest / o.fastest:11.1f}x{c.fastest / o.fastest:9.1f}x")
