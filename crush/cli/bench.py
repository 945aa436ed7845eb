"""``crush bench``: ratio and speed of each plugin and level, the way ``zstd -b`` reports.

Inputs are read into memory (FILEs, or without any the sample corpus of
:mod:`.corpus`), then every (plugin, native level) pair is measured
through the public API — ``crush.compress`` and ``crush.decompress`` with
one thread unless ``-T`` says otherwise, so the figures include crush's
framing and checksums — and every round trip is checked. Each figure is
the median of a few runs; a setting slower than about a second per run
gets fewer (never fewer than one) unless ``-r`` asks for an exact count.
Presets are resolved to native levels and duplicates dropped (lzma's
``balanced`` and ``best`` may be the same level), so each row is one
distinct setting.

The table goes to stdout row by row as each setting finishes; with
``--json`` the JSON goes to stdout and the table to stderr (``-q`` drops
it). ``--plot`` hands the rows to :mod:`.plot`; matplotlib is checked
before anything is measured, so a missing extra costs no waiting.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import NamedTuple

from . import files
from .args import BENCH_RUNS
from .args import PRESETS
from .args import Settings
from .messages import FAILED
from .messages import USAGE
from .messages import Console
from .messages import Failure
from .messages import size
from .signals import Interrupted
from .signals import Supervisor

if TYPE_CHECKING:
    from .. import CancelToken
    from .. import Registry

SAMPLE_SIZE: Final = 4 << 20
"""Bytes of the built-in sample corpus measured when no FILE is given."""

BUDGET: Final = 1.5
"""Seconds of runs after which a setting stops repeating (unless ``-r`` was given)."""

_WARM_UP: Final = b"crush bench warm-up " * 200


class Setting(NamedTuple):
    """One row to measure: a plugin at a native level, and the presets that name it."""

    plugin: str
    level: int
    presets: tuple[str, ...]

    @property
    def label(self) -> str:
        """Return ``zstd 3`` — how the table, the front and the plot name this row."""
        return f"{self.plugin} {self.level}"


class Measurement(NamedTuple):
    """What one setting did over every input (sizes in bytes, times in seconds)."""

    setting: Setting
    original: int
    compressed: int
    compress_s: float
    decompress_s: float
    compress_runs: int
    decompress_runs: int
    per_file: tuple[int, ...]

    @property
    def ratio(self) -> float:
        """Compressed size / original size."""
        return self.compressed / self.original

    @property
    def compress_mb_s(self) -> float:
        """Compression speed in MB/s (10^6 bytes of input per second)."""
        return self.original / self.compress_s / 1e6

    @property
    def decompress_mb_s(self) -> float:
        """Decompression speed in MB/s (10^6 bytes of output per second)."""
        return self.original / self.decompress_s / 1e6


def plan(names: Sequence[str], levels: Sequence[int | str], registry: Registry | None
         ) -> list[Setting]:
    """Return the settings to measure, in plugin order, duplicates merged.

    Every name and level is checked by the library first, so a bad one
    raises before anything is measured.
    """
    from .. import compress
    from ..registry import DEFAULT_REGISTRY

    reg = registry or DEFAULT_REGISTRY
    found: dict[tuple[str, int], list[str]] = {}
    for name in names:
        meta = reg.get(name).metadata
        for level in levels:
            compress(b"", plugin=name, level=level, threads=1, registry=registry)  # validates
            native = getattr(meta, level) if isinstance(level, str) else level
            presets = found.setdefault((name, native), [])
            if isinstance(level, str):
                presets.append(level)
    return [Setting(name, native, tuple(presets))
            for (name, native), presets in sorted(
                found.items(), key=lambda item: (names.index(item[0][0]), item[0][1]))]


def pareto(points: Sequence[tuple[float, float]]) -> list[bool]:
    """Return, for each (speed, ratio) point, whether no other point beats it.

    A point is beaten when another is at least as fast and at least as
    small, and strictly better in one of the two.
    """
    def beaten(i: int) -> bool:
        s, r = points[i]
        return any(t >= s and q <= r and (t > s or q < r)
                   for j, (t, q) in enumerate(points) if j != i)

    return [not beaten(i) for i in range(len(points))]


def _timed(fn: Callable[[], object], runs: int | None) -> tuple[float, int]:
    """Return the median seconds of *fn* over *runs* calls (adaptive when None) and the count."""
    times: list[float] = []
    limit = runs or BENCH_RUNS
    while len(times) < limit:
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
        if runs is None and sum(times) >= BUDGET:
            break
    times.sort()
    mid = len(times) // 2
    median = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
    return median, len(times)


def measure(setting: Setting, inputs: Sequence[tuple[str, bytes]], s: Settings,
            registry: Registry | None, token: CancelToken) -> Measurement:
    """Measure *setting* on every input; raise Failure if a round trip differs."""
    from .. import compress
    from .. import decompress

    timeout = s.timeout if s.timeout is not None else 0.0
    common: dict[str, Any] = {"threads": s.threads, "timeout": timeout, "cancel": token,
                              "registry": registry}
    compress(_WARM_UP, plugin=setting.plugin, level=setting.level, **common)
    blobs = [compress(data, plugin=setting.plugin, level=setting.level, **common)
             for _, data in inputs]
    for (name, data), blob in zip(inputs, blobs, strict=True):
        if decompress(blob, **common) != data:
            raise Failure(f"{setting.label}: the round trip of {name} gave different bytes; "
                          "please report this", FAILED)

    def pack() -> None:
        for _, data in inputs:
            compress(data, plugin=setting.plugin, level=setting.level, **common)

    def unpack() -> None:
        for blob in blobs:
            decompress(blob, **common)

    compress_s, compress_runs = _timed(pack, s.runs)
    decompress_s, decompress_runs = _timed(unpack, s.runs)
    return Measurement(
        setting, sum(len(d) for _, d in inputs), sum(len(b) for b in blobs),
        max(compress_s, 1e-9), max(decompress_s, 1e-9), compress_runs, decompress_runs,
        tuple(len(b) for b in blobs),
    )


def _read_input(name: str) -> bytes:
    if name == files.STDIO and files.stdin_is_terminal():
        raise Failure("is a terminal; redirect the input or name files")
    src = files.open_source(name, follow=True, special=True)
    try:
        data: bytes = src.fp.read()
        return data
    finally:
        src.close()


_HEAD: Final = ("PLUGIN", "LEVEL", "RATIO", "COMPRESS", "DECOMPRESS", "SIZE")
_WIDTHS: Final = (8, 12, 6, 12, 12, 9)


def _level(setting: Setting) -> str:
    presets = f" ({'/'.join(setting.presets)})" if setting.presets else ""
    return f"{setting.level}{presets}"


def _line(cells: Sequence[str], level_width: int) -> str:
    first, second, *rest = cells
    return "  ".join([first.ljust(_WIDTHS[0]), second.ljust(max(_WIDTHS[1], level_width)),
                      *(c.rjust(w) for c, w in zip(rest, _WIDTHS[2:], strict=True))]).rstrip()


def _mb_s(rate: float) -> str:
    return f"{rate:,.0f} MB/s" if rate >= 100 else f"{rate:.1f} MB/s"


def row(m: Measurement, level_width: int = 0) -> str:
    """Return the table line for *m* (the LEVEL column at least *level_width* wide)."""
    return _line([m.setting.plugin, _level(m.setting), f"{m.ratio:.3f}", _mb_s(m.compress_mb_s),
                  _mb_s(m.decompress_mb_s), size(m.compressed)], level_width)


def result_dict(m: Measurement, front: bool, inputs: Sequence[tuple[str, bytes]]
                ) -> dict[str, Any]:
    """Return one row as JSON-ready values."""
    return {
        "plugin": m.setting.plugin,
        "level": m.setting.level,
        "presets": list(m.setting.presets),
        "original_size": m.original,
        "compressed_size": m.compressed,
        "ratio": round(m.ratio, 6),
        "compress_mb_s": round(m.compress_mb_s, 3),
        "decompress_mb_s": round(m.decompress_mb_s, 3),
        "compress_s": m.compress_s,
        "decompress_s": m.decompress_s,
        "runs": {"compress": m.compress_runs, "decompress": m.decompress_runs},
        "pareto": front,
        "files": [{"name": name, "original_size": len(data), "compressed_size": packed,
                   "ratio": round(packed / len(data), 6) if data else 1.0}
                  for (name, data), packed in zip(inputs, m.per_file, strict=True)],
    }


def _machine() -> dict[str, Any]:
    import platform

    return {"python": platform.python_version(), "implementation":
            platform.python_implementation(), "system": platform.platform(terse=True),
            "machine": platform.machine(), "cpus": os.cpu_count()}


def _title(inputs: Sequence[tuple[str, bytes]], sample: bool, s: Settings) -> str:
    total = sum(len(d) for _, d in inputs)
    what = "the sample corpus" if sample else \
        f"{len(inputs)} file{'s' if len(inputs) != 1 else ''}"
    threads = f"{s.threads} thread{'s' if s.threads != 1 else ''}" if s.threads \
        else f"{os.cpu_count()} threads"
    runs = f"median of {s.runs} run{'s' if s.runs != 1 else ''}" if s.runs else \
        "median of up to 3 runs (fewer for slow settings)"
    return f"crush bench: {what}, {size(total)}, {threads}, {runs}"


def _prepare(s: Settings, registry: Registry | None, console: Console
             ) -> tuple[list[Setting], list[tuple[str, bytes]]] | None:
    """Return the settings and the inputs, or None after reporting why there are none."""
    from ..registry import DEFAULT_REGISTRY

    try:
        if s.plot is not None:
            from . import plot

            plot.require()
        reg = registry or DEFAULT_REGISTRY
        settings = plan(s.plugins or reg.names(), s.levels or PRESETS, registry)
    except Exception as exc:
        console.fail(None, exc)
        return None
    if not s.files:
        from .corpus import generate

        return settings, list(generate(SAMPLE_SIZE).items())
    inputs = []
    for name in s.files:
        label = "stdin" if name == files.STDIO else name
        try:
            inputs.append((label, _read_input(name)))
        except Exception as exc:
            console.fail(label, exc)
            return None
    if not sum(len(d) for _, d in inputs):
        console.error(None, "nothing to measure: the input is empty", USAGE)
        return None
    return settings, inputs


def _json(title: str, s: Settings, *, inputs: Sequence[tuple[str, bytes]], sample: bool,
          done: Sequence[Measurement], front: Sequence[bool]) -> None:
    import json

    doc = {
        "title": title,
        "inputs": [{"name": name, "size": len(data)} for name, data in inputs],
        "sample_corpus": sample,
        "total_size": sum(len(d) for _, d in inputs),
        "threads": s.threads or os.cpu_count(),
        "runs": s.runs,
        "machine": _machine(),
        "results": [result_dict(m, on, inputs) for m, on in zip(done, front, strict=True)],
    }
    json.dump(doc, sys.stdout, indent=2)
    print(flush=True)


def _print(text: str) -> None:
    print(text, flush=True)


def bench(s: Settings, registry: Registry | None, console: Console,
          supervisor: Supervisor) -> None:
    """Measure every requested plugin and level; print the table, JSON, and a plot."""
    out = console.info if s.format == "json" else _print
    prepared = _prepare(s, registry, console)
    if prepared is None:
        return
    settings, inputs = prepared
    sample = not s.files
    title = _title(inputs, sample, s)
    width = max(len(_level(setting)) for setting in settings)
    out(title)
    out(_line(_HEAD, width))
    done: list[Measurement] = []
    for setting in settings:
        def job(token: CancelToken, setting: Setting = setting) -> Measurement:
            return measure(setting, inputs, s, registry, token)

        try:
            m = supervisor.run(job)
        except Interrupted:
            raise
        except Exception as exc:
            console.fail(setting.label, exc)
            continue
        done.append(m)
        out(row(m, width))
    if not done:
        return
    front = pareto([(m.compress_mb_s, m.ratio) for m in done])
    best = sorted((m for m, on in zip(done, front, strict=True) if on),
                  key=lambda m: -m.compress_mb_s)
    out("Pareto front (nothing else is both faster and smaller), fastest first: "
        + ", ".join(m.setting.label for m in best))
    if s.format == "json":
        _json(title, s, inputs=inputs, sample=sample, done=done, front=front)
    if s.plot is not None:
        try:
            from . import plot

            plot.draw(done, front, s.plot, title)
        except Exception as exc:
            console.fail(s.plot, exc)
            return
        console.info(f"plot written to {s.plot}")
