"""Benchmark 3: 2-thread vs 1-thread speed of every compiled-in plugin.

The input is the mixed corpus of tools/corpus.py repeated to 64 MiB. Under
``--quick`` the slow plugins (:data:`SLOW`, and any other whose 1-thread
pass over 64 MiB is estimated from a 2 MiB probe to exceed
:data:`QUICK_LIMIT` seconds) run on 16 MiB instead, and their rows say so.
``threads=1`` and ``threads=2`` runs alternate; each figure is the median
of the repetitions (3, or 1 when a repetition is estimated to be long).
Each row also shows how much CPU other processes took meanwhile, since a
busy neighbour caps any 2-thread speedup.
"""

from __future__ import annotations

import time
from typing import Final

import crush

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import busy_meter
from .common import busy_percent
from .common import corpus
from .common import median
from .common import wall

FULL: Final = 64 * MIB
REDUCED: Final = 16 * MIB
COMPRESS_GOAL: Final = 1.7
DECOMPRESS_GOAL: Final = 1.5
GOAL_PLUGINS: Final = ("deflate", "zstd", "lz4", "brotli")
SLOW: Final = ("lzma", "bz2", "brotli")
"""Plugins that run on 16 MiB under --quick (others too when estimated over QUICK_LIMIT)."""
QUICK_LIMIT: Final = 8.0


def _probe(name: str) -> float:
    """Return the estimated 1-thread seconds to compress 64 MiB with *name*."""
    sample = corpus(2 * MIB)
    crush.compress(sample[: 64 << 10], plugin=name, threads=1)  # import the codec
    start = time.perf_counter()
    crush.compress(sample, plugin=name, threads=1)
    return (time.perf_counter() - start) * FULL / len(sample)


def _rows(name: str, size: int, reps: int, reduced: bool) -> list[Row]:
    data = corpus(size)
    level = crush.get_plugin(name).metadata.default_level
    c1: list[float] = []
    c2: list[float] = []
    d1: list[float] = []
    d2: list[float] = []
    frame1 = frame2 = b""
    for _ in range(reps):
        start = time.perf_counter()
        frame1 = crush.compress(data, plugin=name, threads=1)
        c1.append(time.perf_counter() - start)
        frame2 = b""  # free the previous frame before timing the next call
        start = time.perf_counter()
        frame2 = crush.compress(data, plugin=name, threads=2)
        c2.append(time.perf_counter() - start)
    same_frame = frame1 == frame2
    del frame2
    for _ in range(reps):
        d1 += wall(lambda: crush.decompress(frame1, threads=1), 1)
        d2 += wall(lambda: crush.decompress(frame1, threads=2), 1)
    out = crush.decompress(frame1, threads=2)
    round_trip = out == data and same_frame
    del out
    rows: list[Row] = []
    goals = name in GOAL_PLUGINS
    for op, one, two, goal in (
        ("compress", c1, c2, COMPRESS_GOAL),
        ("decompress", d1, d2, DECOMPRESS_GOAL),
    ):
        t1, t2 = median(one), median(two)
        speedup = t1 / t2
        rows.append({
            "plugin": name,
            "level": level,
            "op": op,
            "input MiB": size // MIB,
            "reps": reps,
            "1 thread s": t1,
            "2 threads s": t2,
            "1 thread MB/s": size / t1 / 1e6,
            "2 threads MB/s": size / t2 / 1e6,
            "speedup": speedup,
            "goal": f"≥ {goal:g}x" if goals else None,
            "met": speedup >= goal if goals else None,
            "ratio": len(frame1) / size,
            "round trip": round_trip,
            "note": "16 MiB: --quick, slow plugin" if reduced else None,
        })
    return rows


def run(ctx: Context) -> list[Row]:
    """Compress and decompress the corpus with 1 and 2 threads for every plugin."""
    rows: list[Row] = []
    reduced_any = False
    for plugin in crush.list_plugins():
        estimate = _probe(plugin.name)
        reduced = ctx.quick and (plugin.name in SLOW or estimate > QUICK_LIMIT)
        reduced_any |= reduced
        size = REDUCED if reduced else FULL
        # Estimated seconds per repetition: 1 + 1/2 for compression, plus decompression.
        per_rep = estimate * size / FULL * 1.7
        reps = 1 if per_rep > ctx.pick(2, 12) else 3
        ctx.settle()
        with busy_meter() as busy:
            new = _rows(plugin.name, size, reps, reduced)
        for row in new:
            row["others %"] = busy_percent(busy)
        rows += new
    ctx.note(
        "Input: tools/corpus.py (text, JSON logs, CSV, code, binary records, random) "
        "repeated to the size shown; default level and block size; 1- and 2-thread runs "
        "alternate and the median is shown. Goals apply to deflate, zstd, lz4 and brotli; "
        "lzma and bz2 are shown for information. round trip: the output equals the input "
        "and the 1- and 2-thread frames are identical. others %: share of all CPUs used by "
        "other processes while the plugin was measured (anything but ~0 skews the speedup)."
    )
    if reduced_any:
        ctx.note(f"--quick: the slow plugins ({', '.join(SLOW)}, and any other estimated to "
                 f"need over {QUICK_LIMIT:g} s for one 1-thread pass over 64 MiB) ran on 16 MiB "
                 "(see the note column).")
    return rows


BENCHMARK = Benchmark(
    name="scaling",
    title="2-thread vs 1-thread speedup on 64 MiB, every plugin",
    goal=f"≥ {COMPRESS_GOAL:g}x compression and ≥ {DECOMPRESS_GOAL:g}x decompression "
    "for deflate, zstd, lz4, brotli",
    run=run,
)
