"""What every benchmark shares: the registry entry, the run context, timing and tables.

A benchmark is a :class:`Benchmark`: a name (for ``--only``), a title, the
goal it checks, and a function that takes a :class:`Context` and returns
rows. A row is a flat ``dict`` of JSON-able values; the ``goal`` column says
what was aimed for and the ``met`` column (``True``/``False``/``None``) says
whether the row reached it. Benchmarks never assert: they report.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import Final

Value = str | int | float | bool | None
"""A cell: anything JSON can hold without nesting."""

Row = dict[str, Value]
"""One table row, column name to value; columns appear in first-seen order."""

MIB: Final = 1 << 20
KIB: Final = 1 << 10


@dataclass
class Context:
    """What a benchmark run may use: the mode, a scratch directory and a notes list."""

    quick: bool
    workdir: Path
    notes: list[str] = field(default_factory=list)
    quiet_wait: float = 0.0
    """Seconds :meth:`settle` may wait for other processes to leave the CPUs idle."""

    def note(self, text: str) -> None:
        """Add a sentence printed under the benchmark's table (and kept in the JSON)."""
        self.notes.append(text)

    def pick(self, quick: int, full: int) -> int:
        """Return *quick* under ``--quick``, else *full*."""
        return quick if self.quick else full

    def settle(self) -> None:
        """Before a speed measurement: wait (``--wait-quiet``) for a quiet machine."""
        if self.quiet_wait > 0:
            wait_quiet(self.quiet_wait)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: ``run(ctx)`` returns its rows; ``goal`` states what it aims for."""

    name: str
    title: str
    goal: str
    run: Callable[[Context], list[Row]]


# --------------------------------------------------------------------------- data


@cache
def _corpus_bytes() -> bytes:
    from tools.corpus import generate

    return b"".join(generate(16 * MIB).values())


def corpus(size: int) -> bytes:
    """Return *size* bytes of deterministic mixed data: tools/corpus.py repeated.

    The 16 MiB corpus holds text, JSON logs, CSV, source code, binary
    records and random bytes, in contiguous runs; larger sizes repeat it.
    """
    base = _corpus_bytes()
    if size <= len(base):
        return base[:size]
    reps = -(-size // len(base))
    return (base * reps)[:size]


@cache
def text_sample() -> bytes:
    """Return the corpus' English-like text (compressible at every size, even 100 B)."""
    from tools.corpus import generate

    return generate(8 * MIB)["text.txt"]


# --------------------------------------------------------------------------- timing


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect garbage, then keep the collector off while timing."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def interleaved_ns(fns: Sequence[Callable[[], object]], reps: int) -> list[list[int]]:
    """Time each of *fns* *reps* times, alternating them; return ns per call per fn.

    Alternating (a, b, a, b, ...) exposes every candidate to the same drift
    (frequency scaling, a noisy neighbour), so their medians compare fairly.
    """
    out: list[list[int]] = [[] for _ in fns]
    clock = time.perf_counter_ns
    with quiet_gc():
        for _ in range(reps):
            for fn, samples in zip(fns, out, strict=True):
                start = clock()
                fn()
                samples.append(clock() - start)
    return out


def reps_for(fn: Callable[[], object], budget: float, lo: int, hi: int) -> int:
    """Return how many calls of *fn* fit in *budget* seconds, clamped to lo..hi."""
    fn()  # warm up (imports, caches, pool threads)
    start = time.perf_counter()
    fn()
    one = max(time.perf_counter() - start, 1e-7)
    return max(lo, min(hi, int(budget / one)))


def wall(fn: Callable[[], object], reps: int) -> list[float]:
    """Return the wall time in seconds of *reps* calls of *fn* (GC collected first)."""
    times = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def run_cli(argv: Sequence[str | Path], stdout: Path | None = None) -> float:
    """Run a command with its output to /dev/null (or *stdout*); return its wall time.

    Raises ``subprocess.CalledProcessError`` when it fails.
    """
    target = stdout if stdout is not None else Path(os.devnull)
    with target.open("wb") as out:
        start = time.perf_counter()
        subprocess.run([str(a) for a in argv], stdout=out, stderr=subprocess.PIPE, check=True)
        return time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    """Return the median of *values*."""
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], p: float) -> float:
    """Return the *p*-th percentile (0-100) of *values*, linearly interpolated."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * p / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# --------------------------------------------------------------------------- output


def mark(met: bool | None) -> str:
    """Return the table cell for a goal verdict."""
    if met is None:
        return "-"
    return "✓ met" if met else "✗ missed"


def _number(value: float) -> str:
    if math.isnan(value):
        return "-"
    size = abs(value)
    digits = 0 if value == 0 or size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{value:.{digits}f}"


def _cell(column: str, value: Value) -> str:
    if column == "met" or column.startswith("met "):
        text = mark(value if isinstance(value, bool) or value is None else bool(value))
    elif value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = _number(value)
    else:
        text = str(value).replace("|", "\\|")
    return text


def table(rows: Sequence[Row]) -> str:
    """Render *rows* as a Markdown table (columns in first-seen order)."""
    if not rows:
        return "_(no rows)_"
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cells = [[_cell(c, row.get(c)) for c in columns] for row in rows]
    numeric = []
    for c in columns:
        values = [row.get(c) for row in rows if row.get(c) is not None]
        numeric.append(bool(values) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values))
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = (
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if num else "-" * (w + 2)
        for w, num in zip(widths, numeric, strict=True)
    ) + "|"
    return "\n".join([line(columns), rule, *(line(r) for r in cells)])


# --------------------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor() or "unknown"


def _mem_total() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else None


def tool_version(argv: Sequence[str]) -> str | None:
    """Return the first line a CLI prints for its version, or None when it is missing."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0].strip("* ") if text else None


def _c_version(library: str, function: str) -> str:
    """Ask a system C library for its version string (what the stdlib module links)."""
    import ctypes
    import ctypes.util

    path = ctypes.util.find_library(library)
    if path is None:
        return "?"
    try:
        fn = getattr(ctypes.CDLL(path), function)
    except (OSError, AttributeError):
        return "?"
    fn.restype = ctypes.c_char_p
    raw = fn()
    return raw.decode(errors="replace") if isinstance(raw, bytes) else "?"


def codec_versions() -> dict[str, str]:
    """Return the versions of the codec libraries crush's plugins wrap (those installed)."""
    import zlib

    versions = {"zlib": zlib.ZLIB_RUNTIME_VERSION}
    try:
        import zstandard

        libzstd = ".".join(str(part) for part in zstandard.ZSTD_VERSION)
        versions["zstandard"] = f"{zstandard.__version__} (libzstd {libzstd})"
    except ImportError:
        pass
    try:
        import lz4
        import lz4.block

        versions["lz4"] = f"{lz4.__version__} (liblz4 {lz4.library_version_string()})"
    except ImportError:
        pass
    try:
        import brotli

        versions["brotli"] = str(getattr(brotli, "__version__", "?"))
    except ImportError:
        pass
    versions["lzma"] = f"liblzma {_c_version('lzma', 'lzma_version_string')}"
    versions["bz2"] = f"libbz2 {_c_version('bz2', 'BZ2_bzlibVersion')}"
    return versions


def machine() -> dict[str, Value]:
    """Return the facts that name the machine and software a run measured."""
    import crush

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count() or 0
    info: dict[str, Value] = {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "memory_bytes": _mem_total(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "crush": crush.__version__,
    }
    with suppress(OSError):
        info["loadavg_at_start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for name, version in codec_versions().items():
        info[f"codec {name}"] = version
    for tool, argv in (("pigz", ["pigz", "--version"]), ("zstd", ["zstd", "--version"])):
        info[f"peer {tool}"] = tool_version(argv)
    return info


# --------------------------------------------------------------------------- noise


@dataclass(frozen=True)
class CpuSnapshot:
    """Machine-wide busy CPU time and this process' own CPU time at one instant."""

    wall: float
    busy: float
    steal: float
    own: float


def cpu_snapshot() -> CpuSnapshot | None:
    """Read /proc/stat and os.times(); None where /proc/stat is missing."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(f) for f in fields]
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    steal = ticks[7] if len(ticks) > 7 else 0
    # guest time is already part of user time; count user..steal only
    busy = sum(ticks[:8]) - idle - steal
    t = os.times()
    return CpuSnapshot(
        wall=time.monotonic(),
        busy=busy / hz,
        steal=steal / hz,
        own=t.user + t.system + t.children_user + t.children_system,
    )


def other_load(before: CpuSnapshot | None, after: CpuSnapshot | None) -> dict[str, float]:
    """Return the share of all CPUs used by other processes (and stolen) between snapshots.

    Anything well above 0 means the figures in between were measured on a
    busy machine and speedups in particular are unreliable.
    """
    if before is None or after is None:
        return {}
    capacity = (after.wall - before.wall) * (os.cpu_count() or 1)
    if capacity <= 0:
        return {}
    others = (after.busy - before.busy) - (after.own - before.own)
    return {
        "other_processes": max(0.0, others / capacity),
        "steal": (after.steal - before.steal) / capacity,
    }


def wait_quiet(limit: float, threshold: float = 0.10, window: float = 2.0) -> float | None:
    """Wait up to *limit* seconds for other processes to use under *threshold* of the CPUs.

    Samples in *window*-second steps; returns the share measured in the
    last window (None where /proc/stat is missing).
    """
    end = time.monotonic() + limit
    while True:
        before = cpu_snapshot()
        time.sleep(window)
        share = other_load(before, cpu_snapshot()).get("other_processes")
        if share is None or share < threshold or time.monotonic() >= end:
            return share


@contextmanager
def busy_meter() -> Iterator[dict[str, float]]:
    """Measure, over the ``with`` block, the CPU share other processes used.

    The yielded dict is filled on exit (see :func:`other_load`); put its
    ``other_processes`` figure next to the speeds it may have skewed.
    """
    found: dict[str, float] = {}
    before = cpu_snapshot()
    try:
        yield found
    finally:
        found.update(other_load(before, cpu_snapshot()))


def busy_percent(found: dict[str, float]) -> float | None:
    """Return the other-process CPU share from :func:`busy_meter` in percent."""
    share = found.get("other_processes")
    return None if share is None else 100 * share


def run_alone(prog: str, doc: str | None, benches: Sequence[Benchmark], quick_help: str,
              argv: list[str] | None) -> int:
    """Run *benches* from their own module's ``main`` and print their tables (``--quick``)."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog,
                                     description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args(argv)
    for bench in benches:
        ctx = Context(quick=args.quick, workdir=Path("."))
        print(f"## {bench.title}\n\n{table(bench.run(ctx))}")
        for text in ctx.notes:
            print(f"\n- {text}")
        print()
    return 0
