"""Benchmark 1: what crush adds per call on top of the plugin method itself.

For each plugin and input size, four calls are timed in alternation:
``crush.compress(data, plugin=name)`` (or ``crush.decompress(frame)``), the
plugin's own ``compress(data, level, token)`` (or ``decompress(payload,
size, token)``), ``zlib.crc32(data)`` and one copy of the output. *added*
is the difference of the medians (and of the 90th percentiles) of the
first two; *net* takes away the CRC32 and the output copy crush must do
for its format, leaving the execution machinery (deadline, token, pool or
inline runner) plus the frame encoding. The goal applies to *net*; the
gross figure is judged too, in its own column.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import crush

from .common import KIB
from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import Value
from .common import busy_meter
from .common import busy_percent
from .common import interleaved_ns
from .common import median
from .common import percentile
from .common import reps_for
from .common import text_sample

GOAL_US = 25.0
SIZES = ((100, "100 B"), (1 * KIB, "1 KiB"), (64 * KIB, "64 KiB"), (1 * MIB, "1 MiB"))
PLUGINS = ("lz4", "deflate", "zstd")


def _measure(fns: list[Callable[[], object]], ctx: Context) -> list[list[int]]:
    def one_round() -> None:
        for fn in fns:
            fn()

    budget = 0.35 if ctx.quick else 1.2
    reps = reps_for(one_round, budget, ctx.pick(10, 20), ctx.pick(3000, 20000))
    return interleaved_ns(fns, reps)


def _row(samples: list[list[int]], *, copied: bool, **facts: Value) -> Row:
    api, direct, crc, copy = ([t / 1000 for t in s] for s in samples)
    added = median(api) - median(direct)
    crc_us = median(crc)
    copy_us = median(copy) if copied else 0.0
    net = added - crc_us - copy_us
    return {
        **facts,
        "reps": len(api),
        "plugin µs": median(direct),
        "crush µs": median(api),
        "crush p90 µs": percentile(api, 90),
        "added µs": added,
        "added p90 µs": percentile(api, 90) - percentile(direct, 90),
        "crc32 µs": crc_us,
        "copy µs": copy_us,
        "net µs": net,
        "goal": f"net ≤ {GOAL_US:g} µs",
        "met": net <= GOAL_US,
        "met (added)": added <= GOAL_US,
    }


def _sample(text: bytes, size: int, plugin: str) -> bytes:
    """Return *size* bytes of *text* that *plugin* shrinks, so crush does not store them raw."""
    for offset in range(0, len(text) - size, max(size, 100)):
        data = text[offset : offset + size]
        if not crush.inspect(crush.compress(data, plugin=plugin)).frames[0].raw_blocks:
            return data
        if offset > 100 * size:
            break
    return text[:size]


def _path(size: int, threads: int | None) -> str:
    limit = getattr(getattr(crush, "engine", None), "INLINE_LIMIT", None)
    if threads == 1 or (isinstance(limit, int) and size <= limit):
        return "inline"
    return "pool" if isinstance(limit, int) else "?"


def _size_rows(plugin: crush.Plugin, data: bytes, label: str, ctx: Context) -> list[Row]:
    name = plugin.name
    level = plugin.metadata.default_level
    size = len(data)
    token = crush.CancelToken()
    out = plugin.compress(data, level, token)
    frame = crush.compress(data, plugin=name)
    pieces = (frame[:16], out, frame[-16:])

    def direct_c() -> object:
        return plugin.compress(data, level, token)

    def direct_d() -> object:
        return plugin.decompress(out, size, token)

    def crc() -> object:
        return zlib.crc32(data)

    def copy() -> object:
        return b"".join(pieces)

    rows: list[Row] = []
    # Above the inline limit, also run threads=1 (inline) to separate the pool hop.
    for threads in (None, 1) if _path(size, None) != "inline" else (None,):
        def facts(op: str, threads: int | None = threads) -> dict[str, Value]:
            return {
                "plugin": name, "op": op, "size": label, "bytes": size,
                "threads": "default" if threads is None else threads,
                "path": _path(size, threads),
            }

        def api_c(threads: int | None = threads) -> object:
            return crush.compress(data, plugin=name, threads=threads)

        def api_d(threads: int | None = threads) -> object:
            return crush.decompress(frame, threads=threads)

        for op, api, direct, copied in (
            ("compress", api_c, direct_c, True),
            ("decompress", api_d, direct_d, False),
        ):
            with busy_meter() as busy:
                samples = _measure([api, direct, crc, copy], ctx)
            rows.append({**_row(samples, copied=copied, **facts(op)),
                         "others %": busy_percent(busy)})
    return rows


def _plugin_rows(name: str, ctx: Context, stored_raw: list[str]) -> list[Row]:
    plugin = crush.get_plugin(name)
    rows: list[Row] = []
    for size, label in SIZES:
        data = _sample(text_sample(), size, name)
        if crush.inspect(crush.compress(data, plugin=name)).frames[0].raw_blocks:
            stored_raw.append(f"{name} {label}")
        rows += _size_rows(plugin, data, label, ctx)
    return rows


def run(ctx: Context) -> list[Row]:
    """Time crush's API against the bare plugin methods, per plugin, size and direction."""
    rows: list[Row] = []
    stored_raw: list[str] = []
    compiled = {p.name for p in crush.list_plugins()}
    for name in PLUGINS:
        if name in compiled:
            ctx.settle()
            rows += _plugin_rows(name, ctx, stored_raw)
        else:
            ctx.note(f"{name}: not compiled in, skipped")
    rows.sort(key=lambda r: (PLUGINS.index(str(r["plugin"])), str(r["op"])))
    ctx.note(
        "added = median(crush call) - median(plugin call); calls interleaved on the same "
        "input (English-like text from tools/corpus.py); p90 likewise. crc32 = median of "
        "zlib.crc32 over the content (crush checksums every block). copy (compress only) = one "
        "copy of the output: crush joins header, block record and payload into one bytes "
        "object. net = added - crc32 - copy: the execution machinery (options, deadline, "
        "token, runner, pool hop) plus frame encoding/parsing. Default timeout (deadline "
        "armed)."
    )
    limit = getattr(getattr(crush, "engine", None), "INLINE_LIMIT", None)
    if isinstance(limit, int):
        ctx.note(f"path: crush.engine.INLINE_LIMIT = {limit} B; larger inputs with threads > 1 "
                 "go through the worker pool, threads=1 runs built-ins inline.")
    if stored_raw:
        ctx.note("stored raw by crush (its decompress never calls the plugin): "
                 + ", ".join(stored_raw))
    return rows


BENCHMARK = Benchmark(
    name="latency",
    title="Per-call overhead of crush vs the bare plugin method",
    goal=f"execution overhead ≤ {GOAL_US:g} µs median at every size (net of CRC32 and copy)",
    run=run,
)
