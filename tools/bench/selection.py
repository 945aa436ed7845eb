"""Benchmarks: what automatic plugin selection costs, and what it saves on random data.

Two entries of the suite, ``selection`` and ``random``.

**Per call** (``selection``). ``crush.select_plugin(sample)`` with the compiled-in plugins,
on four inputs: English-like text, binary records (both from
tools/corpus.py), random bytes and a real gzip stream (its header is what
``store`` recognises). Each call sees the first 4 KiB; the median and the
90th percentile over many calls are reported, with the time the store
plugin's ``detect`` alone takes (its entropy estimate runs zlib level 1
on the sample). Goal: < 1 ms per call.

**Random data** (``random``). ``crush.compress(random_8mib)`` (automatic selection,
which should pick ``store``) against ``crush.compress(random_8mib,
plugin="zstd")``, both at default settings and both with ``threads=1``,
alternating, median of many calls. Goals: automatic selection at least 10x
faster, and its output no larger than the input plus crush's frame
overhead (header + one record per block + end marker, computed from
:mod:`crush.frame`). ``plugin="deflate"`` (the default plugin, what crush
used before automatic selection) is timed for reference. Two more rows bound what any store path can
reach: zstd's own one-shot call, and the *floor* every crush frame pays
on 8 MiB — CRC32 of the content plus one copy of it into the result.

When the speed goal is missed, the automatic call is profiled (cProfile)
and the notes list where its time goes.

Regret on files outside the corpus (how far the automatic choice lands from
the best candidate) is measured in :mod:`tools.bench.regret`.

Run alone with ``python -m tools.bench.selection [--quick]``.
"""

from __future__ import annotations

import cProfile
import gzip
import pstats
import random
import sys
from collections.abc import Callable
from typing import Final

import crush
from crush import frame
from crush import frame_v2
from crush.checksum import crc32
from crush.options import DEFAULT_BLOCK_SIZE

from .common import KIB
from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import interleaved_ns
from .common import median
from .common import percentile
from .common import reps_for
from .common import run_alone
from .common import text_sample
from .common import wall

SELECT_GOAL_US: Final = 1000.0
SPEED_GOAL: Final = 10.0
RANDOM_SIZE: Final = 8 * MIB
SELECT_TITLE: Final = "Automatic selection: crush.select_plugin per call"
SELECT_GOAL: Final = f"< {SELECT_GOAL_US / 1000:g} ms per call with the built-in plugins"
RANDOM_TITLE: Final = "Automatic selection on 8 MiB of random bytes vs plugin='zstd'"
RANDOM_GOAL: Final = (f"≥ {SPEED_GOAL:g}x faster than plugin='zstd', output no larger than "
                      "the input plus the frame overhead")


def _samples() -> dict[str, bytes]:
    from tools.corpus import generate

    text = text_sample()
    return {
        "text": text[: 1 * MIB],
        "binary records": generate(4 * MIB)["records.bin"],
        "random bytes": random.Random("crush-bench-selection").randbytes(1 * MIB),
        "gzip stream": gzip.compress(text[: 256 * KIB], compresslevel=6, mtime=0),
    }


def _select_timings(data: bytes, store: crush.Plugin | None, budget: float
                    ) -> tuple[list[float], list[float] | None]:
    """Return µs per select_plugin(data) call and per store.detect(header) call."""
    header = data[:4096]

    def select() -> object:
        return crush.select_plugin(data)

    fns: list[Callable[[], object]] = [select]
    if store is not None:
        fns.append(lambda: store.detect(header))
    reps = reps_for(select, budget, 200, 20000)
    samples = [[t / 1000 for t in s] for s in interleaved_ns(fns, reps)]
    return samples[0], samples[1] if store is not None else None


def select_rows(ctx: Context) -> list[Row]:
    """Time select_plugin per call on each sample (and store's detect alone)."""
    reg = crush.list_plugins()
    store = next((p for p in reg if p.name == "store"), None)
    rows: list[Row] = []
    for label, data in _samples().items():
        us, detect = _select_timings(data, store, 0.25 if ctx.quick else 1.0)
        chosen = crush.select_plugin(data)
        rows.append({
            "input": label,
            "bytes": len(data),
            "chosen": chosen.plugin.name,
            "candidates": len(chosen.candidates),
            "calls": len(us),
            "median µs": median(us),
            "p90 µs": percentile(us, 90),
            "store.detect µs": median(detect) if detect else None,
            "goal": f"< {SELECT_GOAL_US:g} µs",
            "met": median(us) < SELECT_GOAL_US,
        })
    return rows


def frame_overhead(size: int, plugin_id: int) -> int:
    """Return the bytes a crush frame adds to *size* bytes of content stored raw."""
    blocks = -(-size // DEFAULT_BLOCK_SIZE)
    # Frame v2: a record header and an index entry per block, and the footer.
    return (len(frame.encode_header(plugin_id, DEFAULT_BLOCK_SIZE, version=frame.VERSION))
            + blocks * (frame_v2.RECORD_SIZE + frame_v2.ENTRY_SIZE) + frame_v2.MIN_FOOTER_SIZE)


def _random_timings(data: bytes, reps: int) -> dict[str, float]:
    """Return the median ms of each call on *data*, all alternating."""
    import zstandard

    zc = zstandard.ZstdCompressor(level=3)
    calls: dict[str, Callable[[], object]] = {
        "auto": lambda: crush.compress(data),
        "zstd": lambda: crush.compress(data, plugin="zstd"),
        "auto t1": lambda: crush.compress(data, threads=1),
        "zstd t1": lambda: crush.compress(data, plugin="zstd", threads=1),
        "raw zstd": lambda: zc.compress(data),
        "crc32": lambda: crc32(data),
        "copy": lambda: b"".join((b"x", data)),
    }
    for fn in calls.values():
        fn()  # warm-up: pool threads, codec imports
    samples = interleaved_ns(list(calls.values()), reps)
    return {k: median(s) / 1e6 for k, s in zip(calls, samples, strict=True)}


def _deflate_ms(data: bytes, reps: int) -> float:
    """Return the median ms of crush.compress(data, plugin='deflate') (slow: few calls)."""
    crush.compress(data, plugin="deflate")
    return median(wall(lambda: crush.compress(data, plugin="deflate"), reps)) * 1000


def random_rows(ctx: Context) -> list[Row]:
    """Compare automatic selection with plugin='zstd' on 8 MiB of random bytes."""
    data = random.Random("crush-bench-random-8mib").randbytes(RANDOM_SIZE)
    budget = frame_overhead(len(data), crush.get_plugin("store").plugin_id)
    ms = _random_timings(data, ctx.pick(15, 41))
    ms["deflate"] = _deflate_ms(data, ctx.pick(3, 5))
    rows: list[Row] = []
    for mine, other, threads in (("auto", "zstd", None), ("auto t1", "zstd t1", 1),
                                 ("auto", "deflate", None)):
        speed = ms[other] / ms[mine]
        out = crush.compress(data, threads=threads)
        growth = len(out) - len(data)
        goal = other != "deflate"
        rows.append({
            "compared": f"auto vs plugin={other.split()[0]!r}",
            "threads": "default" if threads is None else threads,
            "chosen": crush.inspect(out).plugin,
            "auto ms": ms[mine],
            "other ms": ms[other],
            "speed x": speed,
            "goal": f"≥ {SPEED_GOAL:g}x" if goal else "(reference)",
            "met": speed >= SPEED_GOAL if goal else None,
            "growth B": growth,
            "other growth B": len(crush.compress(data, plugin=other.split()[0])) - len(data),
            "framing B": budget,
            "met (size)": growth <= budget,
        })
    floor = ms["crc32"] + ms["copy"]
    rows += [
        {"compared": "zstd one-shot: ZstdCompressor(level=3).compress", "threads": 1,
         "other ms": ms["raw zstd"]},
        {"compared": "floor (crc32 + one 8 MiB copy) vs plugin='zstd'", "threads": 1,
         "auto ms": floor, "other ms": ms["zstd t1"], "speed x": ms["zstd t1"] / floor},
    ]
    return rows


def profile_auto(data: bytes, threads: int | None, calls: int = 30, top: int = 7) -> str:
    """Return where ``crush.compress(data, threads=threads)`` spends its time (cProfile).

    cProfile sees only the calling thread: with pool threads the block work
    shows up as the time spent waiting for it (``SimpleQueue.get``).
    """
    crush.compress(data, threads=threads)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        crush.compress(data, threads=threads)
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = sorted(stats.stats.items(),  # type: ignore[attr-defined]
                     key=lambda item: item[1][2], reverse=True)[:top]
    parts = []
    for (path, line, func), (_, ncalls, tottime, _, _) in entries:
        where = func if path == "~" else f"{path.rsplit('/', 1)[-1]}:{line} {func}"
        parts.append(f"{where} {1000 * tottime / calls:.3f} ms ({ncalls // calls}/call)")
    return "; ".join(parts)


def run_select(ctx: Context) -> list[Row]:
    """Time select_plugin per call on each sample."""
    ctx.note("median over many calls alternating with store.detect(header) alone; the default "
             "registry (every compiled-in plugin); each call looks at the first 4 KiB")
    return select_rows(ctx)


def run_random(ctx: Context) -> list[Row]:
    """Compare automatic selection with plugin='zstd' on 8 MiB of random bytes."""
    names = {p.name for p in crush.list_plugins()}
    if not {"store", "zstd", "deflate"} <= names:
        ctx.note("store, zstd or deflate is not compiled in: nothing to compare")
        return []
    found = random_rows(ctx)
    ctx.note(f"random bytes: {RANDOM_SIZE // MIB} MiB, seeded; 'auto' = crush.compress(data), "
             "'other' = crush.compress(data, plugin=...); medians of alternating calls; speed x "
             "= other ms / auto ms; growth = output - input bytes; framing = header + one "
             "record per 1 MiB block + end marker. deflate (the default plugin, what crush used "
             "before automatic selection) is shown for reference. The floor row is the least "
             "any crush frame of 8 MiB costs (content CRC32 + one copy into the result): zstd "
             "/ floor is the best speed-up any store path could show against plugin='zstd', "
             "which itself gives up on random blocks quickly (see the zstd one-shot row)")
    if any(r.get("met") is False for r in found):
        data = random.Random("crush-bench-random-8mib").randbytes(RANDOM_SIZE)
        for threads in (1, None):
            ctx.note(f"speed goal missed; cProfile of crush.compress(random 8 MiB, threads="
                     f"{threads}), per call, by own time: {profile_auto(data, threads)}")
    return found


BENCHMARK: Final = Benchmark(name="selection", title=SELECT_TITLE, goal=SELECT_GOAL,
                             run=run_select)
"""select_plugin per call; registered in ``tools/bench/__main__.py``'s BENCHMARKS."""

RANDOM_BENCHMARK: Final = Benchmark(name="random", title=RANDOM_TITLE, goal=RANDOM_GOAL,
                                    run=run_random)
"""Automatic selection on random bytes; registered next to :data:`BENCHMARK`."""


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks alone and print their tables."""
    return run_alone("python -m tools.bench.selection", __doc__,
                     (BENCHMARK, RANDOM_BENCHMARK), "fewer calls", argv)


if __name__ == "__main__":
    sys.exit(main())
