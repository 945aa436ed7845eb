"""Benchmark: raw DEFLATE backends side by side on 1 MiB blocks of the corpus.

Every installed backend the deflate plugin may use (stdlib zlib, zlib-ng,
libdeflate via the ``deflate`` package, ISA-L via ``isal``) compresses the
same 1 MiB blocks at each of its levels, one thread; each block's output is
then decoded by that backend's decoder, which is told the block's size (as
crush's frame records it). The rows are what ``crush/plugins/deflate.py``'s
level table was chosen from: ratio, compress MB/s and decompress MB/s, and
each row's speed relative to zlib level 6 (the default before
accelerated backends). ``python -m tools.bench --only deflate``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from crush.plugins import deflate as plugin

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import corpus
from .common import median
from .common import quiet_gc

BLOCK: Final = MIB


def _time(fn: Callable[[], object], reps: int) -> float:
    # CPU time of this (single) thread: a busy neighbour on a shared machine
    # skews wall time by 2-4x here, CPU time by a few percent.
    with quiet_gc():
        times = []
        for _ in range(reps):
            start = time.thread_time()
            fn()
            times.append(time.thread_time() - start)
    return median(times)


def measure(backend: plugin.Backend, level: int, blocks: list[bytes], reps: int) -> Row:
    """Return ratio and MB/s of *backend* at *level* over *blocks*."""
    outs = [backend.compress(b, level) for b in blocks]
    total = sum(map(len, blocks))
    ctime = _time(lambda: [backend.compress(b, level) for b in blocks], reps)
    pairs = list(zip(outs, map(len, blocks), strict=True))
    dtime = _time(lambda: [backend.decompress(o, n) for o, n in pairs], reps)
    return {
        "backend": backend.name,
        "level": level,
        "ratio": round(sum(map(len, outs)) / total, 4),
        "compress MB/s": round(total / ctime / 1e6, 1),
        "decompress MB/s": round(total / dtime / 1e6, 1),
    }


def _presets(rows: list[Row], zlib6: Row) -> list[Row]:
    """Return one row per preset: the backend the plugin uses for it and its goal."""
    zlib9 = next(r for r in rows if r["backend"] == "zlib" and r["level"] == 9)
    chooser = plugin.DeflatePlugin()
    out: list[Row] = []
    for preset in ("fast", "balanced", "best"):
        used, level = chooser.backend_for(chooser.metadata.preset(preset))
        row = dict(next(r for r in rows if r["backend"] == used.name and r["level"] == level))
        speed, ratio = float(row["compress vs zlib-6"] or 0), float(row["ratio"] or 1)
        if preset == "fast":
            goal, met = ">= 8x zlib-6", speed >= 8
        elif preset == "balanced":
            goal = "ratio < zlib-6, >= 2x its speed"
            met = ratio < float(zlib6["ratio"] or 0) and speed >= 2
        else:
            goal, met = "ratio < zlib-9", ratio < float(zlib9["ratio"] or 0)
        row.update({"backend": f"preset {preset}: {used.name}", "goal": goal, "met": met})
        out.append(row)
    return out


def run(ctx: Context) -> list[Row]:
    """Measure every installed backend at every level."""
    data = corpus(ctx.pick(4, 16) * MIB)
    blocks = [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)]
    reps = ctx.pick(1, 3)
    rows: list[Row] = []
    for backend in plugin.available_backends():
        rows.extend(measure(backend, level, blocks, reps) for level in backend.levels)
    base = next((r for r in rows if r["backend"] == "zlib" and r["level"] == 6), None)
    if base is not None:
        for row in rows:
            row["compress vs zlib-6"] = round(
                float(row["compress MB/s"] or 0) / float(base["compress MB/s"] or 1), 2)
        rows.extend(_presets(rows, base))
    ctx.note("one thread, CPU time, 1 MiB blocks of the sample corpus; each backend decodes "
             "its own output, told each block's size; ratio = compressed / original")
    ctx.note("native levels map as crush/plugins/deflate.py's LEVELS table says")
    return rows


BENCHMARK: Final = Benchmark(
    name="deflate",
    title="Raw DEFLATE backends (ratio, compress and decompress MB/s, one thread)",
    goal="pick the fastest backend per level: fast >= 8x zlib-6, balanced better ratio "
    "than zlib-6 at >= 2x its speed, best better ratio than zlib-9",
    run=run,
)
