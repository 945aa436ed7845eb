"""Benchmark: streaming memory and throughput (crush.open, compress_stream, decompress_stream).

Two measurements, as issue 4 asks:

**Peak RSS.** A stream of 2 GiB (256 MiB under ``--quick``) is generated on
the fly — tools/corpus.py's 16 MiB of mixed data, cycled with a period that
never lines up with the 1 MiB blocks — and never stored in memory or in the
repository. ``compress_stream`` writes it at default settings (block size,
threads, level) to a temporary file on disk; ``decompress_stream`` then reads
that file back into a sink that only counts bytes and checksums them (so the
round trip is verified: CRC32 and length of what came out equal what went
in). Both run in one fresh process; *growth* is its peak RSS during the two
calls minus its RSS just before them (after imports, the corpus and a
warm-up call that starts the worker pool).

``ru_maxrss`` of a plain subprocess is useless for this on Linux: a child
inherits its parent's peak through ``exec`` (a 500 MiB parent gives every
child ``ru_maxrss`` >= 500 MiB), which masks the growth entirely. So the
measuring process is started by a tiny launcher process (whose own peak,
~10 MiB, is what it inherits), and where Linux allows it the peak is reset
to the current RSS (``/proc/self/clear_refs``) just before the stream
starts. Both ``ru_maxrss`` and ``VmHWM`` (from ``/proc/self/status``) are
reported; the goal is judged on the larger growth.

**Throughput.** On the same in-memory data (tools/corpus.py repeated to
256 MiB; 64 MiB under ``--quick``, and for deflate, whose compression is an
order of magnitude slower), the in-memory ``crush.compress`` /
``crush.decompress`` are timed in alternation with ``compress_stream`` /
``decompress_stream`` (from ``io.BytesIO`` into a discarding sink) and with
a ``crush.open`` file object written in 1 MiB ``write`` calls / read with
1 MiB ``readinto`` calls. The ratio is streaming MiB/s over in-memory MiB/s;
the goal is >= 0.90 (within 10 %).

**Memory bound.** For every compiled-in plugin, a file of
:data:`BOUND_BLOCKS` blocks of :data:`BOUND_BLOCK` bytes (32 MiB; 4 MiB
under ``--quick``) of the corpus is written at level ``fast``; then, at 1, 2
and 8 threads, a fresh process (started like the peak-RSS child) reads it
with ``crush.open(...).read(1 MiB)`` in a loop, and another with
``decompress_stream`` into a sink. Its peak RSS growth is compared with the
bound the README states, :func:`decode_bound`:
``(3 x threads + 1) x block size``.

Run alone with ``python -m tools.bench.stream [--quick] [--bound-only]``;
the suite runs it through :data:`BENCHMARK`. Benchmarks report, they never
assert.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from typing import Final

import crush

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import Value
from .common import corpus
from .common import interleaved_ns
from .common import median
from .common import table

TITLE: Final = "Streaming: peak RSS on a 2 GiB stream, throughput vs the in-memory API"
RSS_GOAL_MIB: Final = 64
SPEED_GOAL: Final = 0.90
GOAL: Final = (
    f"peak RSS growth ≤ {RSS_GOAL_MIB} MiB compressing then decompressing a 2 GiB stream "
    f"at default settings; streaming ≥ {SPEED_GOAL:.0%} of the in-memory API's MiB/s"
)

STREAM_FULL: Final = 2048 * MIB
STREAM_QUICK: Final = 256 * MIB
RSS_PLUGINS_FULL: Final = ("zstd", "deflate")
RSS_PLUGINS_QUICK: Final = ("zstd",)
SPEED_FULL: Final = 256 * MIB
SPEED_QUICK: Final = 64 * MIB
SPEED_SLOW: Final = 64 * MIB
"""Throughput input for deflate (its compression runs at ~10-20 MiB/s per core)."""
SPEED_PLUGINS: Final = ("zstd", "lz4", "deflate")
CHUNK: Final = MIB
"""Size of each write/readinto call on a crush.open file object."""

BOUND_BLOCK: Final = 32 * MIB
BOUND_BLOCK_QUICK: Final = 4 * MIB
BOUND_BLOCKS: Final = 11
"""Blocks in each memory-bound file: more than the 8 threads can hold in flight."""
BOUND_THREADS: Final = (1, 2, 8)
BOUND_APIS: Final = ("crush.open read(1 MiB)", "decompress_stream")

_SOURCE_SIZE: Final = 16 * MIB
_PERIOD: Final = _SOURCE_SIZE - 12_345  # never a multiple of the block size
_ROOT: Final = Path(__file__).resolve().parents[2]
_LAUNCHER: Final = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


# --------------------------------------------------------------------------- streams


class Generated(io.RawIOBase):
    """*size* bytes of the corpus cycled with period ``_PERIOD``, made as they are read.

    Keeps the CRC32 of everything handed out in ``crc``. Not thread-safe.
    """

    def __init__(self, source: bytes, size: int) -> None:
        super().__init__()
        self._source = memoryview(source)[:_PERIOD]
        self._left = size
        self._offset = 0
        self.crc = 0

    def readable(self) -> bool:
        """Return True: this is a source."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill *buffer* with the next bytes of the stream; return how many (0 at the end)."""
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left)
        done = 0
        while done < want:
            n = min(want - done, _PERIOD - self._offset)
            view[done : done + n] = self._source[self._offset : self._offset + n]
            done += n
            self._offset = (self._offset + n) % _PERIOD
        self.crc = zlib.crc32(view[:done], self.crc)
        self._left -= done
        return done


class Sink(io.RawIOBase):
    """A writable stream that keeps nothing; optionally checksums what it is given."""

    def __init__(self, *, checksum: bool = False) -> None:
        super().__init__()
        self.count = 0
        self.crc = 0
        self._checksum = checksum

    def writable(self) -> bool:
        """Return True: this is a sink."""
        return True

    def write(self, data: Any) -> int:
        """Count (and checksum) *data*; return its length in bytes."""
        view = memoryview(data)
        if self._checksum:
            self.crc = zlib.crc32(view, self.crc)
        self.count += view.nbytes
        return view.nbytes


# --------------------------------------------------------------------------- RSS child


def _status_kib(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def _maxrss_kib() -> int:
    # Linux reports KiB; macOS reports bytes.
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value // 1024 if sys.platform == "darwin" else value


def _reset_peak() -> bool:
    """Reset the peak RSS (VmHWM, and so ru_maxrss) to the current RSS where Linux allows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _mib(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024


def measure_rss(plugin: str, size: int, workdir: Path) -> dict[str, Value]:
    """Compress then decompress a generated *size*-byte stream; return the RSS figures.

    Meant to run in a fresh process started through the launcher (see the
    module docstring). The compressed stream goes through a temporary file
    in *workdir*, deleted afterwards.
    """
    source = corpus(_SOURCE_SIZE)
    warm = crush.compress(source[: 4 * MIB], plugin=plugin)  # codec imports, worker pool
    crush.decompress(warm)
    del warm
    gc.collect()
    reset = _reset_peak()
    rss_start = _status_kib("VmRSS")
    max_start = _maxrss_kib()
    path = workdir / f"stream-{plugin}-{os.getpid()}.crush"
    src = Generated(source, size)
    try:
        start = time.perf_counter()
        with path.open("wb") as dst:
            packed = crush.compress_stream(src, dst, plugin=plugin)
        compress_s = time.perf_counter() - start
        sink = Sink(checksum=True)
        start = time.perf_counter()
        with path.open("rb") as fh:
            unpacked = crush.decompress_stream(fh, sink)
        decompress_s = time.perf_counter() - start
    finally:
        path.unlink(missing_ok=True)
    max_end = _maxrss_kib()
    hwm_end = _status_kib("VmHWM")
    base = rss_start if rss_start is not None else max_start
    return {
        "plugin": plugin,
        "threads": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "stream MiB": size / MIB,
        "compressed MiB": packed.bytes_out / MIB,
        "compress MiB/s": size / MIB / compress_s,
        "decompress MiB/s": size / MIB / decompress_s,
        "RSS before MiB": _mib(base),
        "ru_maxrss growth MiB": _mib(max_end - max_start),
        "VmHWM growth MiB": _mib(
            None if hwm_end is None or rss_start is None else hwm_end - rss_start
        ),
        "peak reset": reset,
        "round trip": (
            unpacked.bytes_out == size
            and sink.count == size
            and sink.crc == src.crc
            and packed.bytes_in == size
            and unpacked.bytes_in == packed.bytes_out
        ),
    }


def _rss_row(plugin: str, size: int, workdir: Path) -> Row:
    figures = _child(["--child", plugin, str(size), str(workdir)])
    growths = [
        v
        for k, v in figures.items()
        if k in ("ru_maxrss growth MiB", "VmHWM growth MiB") and isinstance(v, float)
    ]
    worst = max(growths) if growths else None
    return {
        **figures,
        "goal": f"growth ≤ {RSS_GOAL_MIB} MiB",
        "met": None if worst is None else worst <= RSS_GOAL_MIB and figures["round trip"] is True,
    }


# --------------------------------------------------------------------------- memory bound


def decode_bound(block_size: int, threads: int) -> int:
    """Return the README's bound on a streaming reader's memory growth, in bytes.

    At most ``threads`` blocks are decoding or decoded ahead, each holding
    its compressed input (at most a block), its output and the codec's
    working memory (at most a block: lzma's dictionary, or the partial copy
    of codecs whose output buffer grows), plus the block being handed out.
    """
    return (3 * threads + 1) * block_size


def measure_bound(path: Path, plugin: str, api: str, threads: int) -> dict[str, Value]:
    """Decode *path* with *api* at *threads*; return the peak RSS growth (fresh process)."""
    # Warm up off the clock: codec import, a worker pool of *threads*.
    warm = crush.compress(corpus(4 * MIB), plugin=plugin, block_size=MIB)
    crush.decompress_stream(io.BytesIO(warm), Sink(), threads=threads)
    del warm
    gc.collect()
    reset = _reset_peak()
    rss_start = _status_kib("VmRSS")
    start = time.perf_counter()
    if api == "decompress_stream":
        with path.open("rb") as fh:
            total = crush.decompress_stream(fh, Sink(), threads=threads, timeout=0).bytes_out
    else:
        total = 0
        with crush.open(path, threads=threads, timeout=0) as f:
            while chunk := f.read(MIB):
                total += len(chunk)
    seconds = time.perf_counter() - start
    hwm = _status_kib("VmHWM")
    growth = None if hwm is None or rss_start is None else (hwm - rss_start) * 1024
    return {"growth": growth, "content": total, "seconds": seconds, "peak reset": reset}


def _child(args: list[str]) -> dict[str, Value]:
    # The measuring process inherits the launcher's small peak RSS, not this
    # process's (see the module docstring).
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    argv = [sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "tools.bench.stream", *args]
    done = subprocess.run(argv, cwd=_ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the RSS child {args} failed:\n{done.stderr}")
    figures: dict[str, Value] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _bound_rows(quick: bool, workdir: Path) -> list[Row]:
    block = BOUND_BLOCK_QUICK if quick else BOUND_BLOCK
    data = corpus(block * BOUND_BLOCKS)
    rows: list[Row] = []
    for plugin in crush.list_plugins():
        path = workdir / f"bound-{plugin.name}.crush"
        # No deadline: large blocks of the slow codecs on a loaded machine.
        with crush.CrushFile(path, "wb", plugin=plugin.name, level="fast", block_size=block,
                             timeout=0) as f:
            f.write(data)
        try:
            for threads in BOUND_THREADS:
                for api in BOUND_APIS:
                    got = _child(["--bound-child", str(path), plugin.name, api, str(threads)])
                    growth = got["growth"]
                    bound = decode_bound(block, threads)
                    whole = got["content"] == len(data)
                    rows.append({
                        "plugin": plugin.name,
                        "API": api,
                        "threads": threads,
                        "block MiB": block / MIB,
                        "growth MiB": None if growth is None else float(growth) / MIB,
                        "growth blocks": None if growth is None else float(growth) / block,
                        "bound MiB": bound / MIB,
                        "s": got["seconds"],
                        "met": None if growth is None else float(growth) <= bound and whole,
                    })
        finally:
            path.unlink(missing_ok=True)
    return rows


# --------------------------------------------------------------------------- throughput


def _write_file(data: bytes, plugin: str) -> None:
    view = memoryview(data)
    with crush.open(Sink(), "wb", plugin=plugin) as f:
        assert isinstance(f, crush.CrushFile)  # binary mode (narrows the return type)
        for offset in range(0, len(view), CHUNK):
            f.write(view[offset : offset + CHUNK])


def _read_file(blob: bytes) -> int:
    buf = bytearray(CHUNK)
    total = 0
    with crush.open(io.BytesIO(blob)) as f:
        assert isinstance(f, crush.CrushFile)
        while n := f.readinto(buf):
            total += n
    return total


def _speed_rows(plugin: str, size: int, reps: int) -> list[Row]:
    data = corpus(size)
    blob = crush.compress(data, plugin=plugin)
    if _read_file(blob) != size or crush.decompress(blob) != data:
        raise RuntimeError(f"{plugin}: the streaming round trip lost data")
    directions: list[tuple[str, list[tuple[str, Callable[[], object]]]]] = [
        (
            "compress",
            [
                ("crush.compress", lambda: crush.compress(data, plugin=plugin)),
                (
                    "compress_stream",
                    lambda: crush.compress_stream(io.BytesIO(data), Sink(), plugin=plugin),
                ),
                ("crush.open write", lambda: _write_file(data, plugin)),
            ],
        ),
        (
            "decompress",
            [
                ("crush.decompress", lambda: crush.decompress(blob)),
                ("decompress_stream", lambda: crush.decompress_stream(io.BytesIO(blob), Sink())),
                ("crush.open readinto", lambda: _read_file(blob)),
            ],
        ),
    ]
    rows: list[Row] = []
    for direction, candidates in directions:
        fns = [fn for _, fn in candidates]
        for fn in fns:
            fn()  # warm up: codec imports, worker pool, page faults
        samples = interleaved_ns(fns, reps)
        speeds = [size / MIB / (median(s) / 1e9) for s in samples]
        for (api, _), speed, times in zip(candidates, speeds, samples, strict=True):
            baseline = api in ("crush.compress", "crush.decompress")
            ratio = speed / speeds[0]
            rows.append(
                {
                    "plugin": plugin,
                    "direction": direction,
                    "API": api,
                    "MiB": size / MIB,
                    "reps": reps,
                    "median s": median(times) / 1e9,
                    "MiB/s": speed,
                    "vs in-memory": ratio,
                    "goal": "baseline" if baseline else f"≥ {SPEED_GOAL:.2f}",
                    "met": None if baseline else ratio >= SPEED_GOAL,
                }
            )
    return rows


# --------------------------------------------------------------------------- entry points


def measure(quick: bool, notes: list[str], workdir: Path | None = None,
            *, bound_only: bool = False) -> list[Row]:
    """Run the measurements; append explanations to *notes*; return the rows."""
    stream_size = STREAM_QUICK if quick else STREAM_FULL
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="crush-bench-stream-", dir=workdir) as tmp:
        rows += [{"measure": "memory bound", **row} for row in _bound_rows(quick, Path(tmp))]
        notes.append(
            "Memory bound: per plugin a file of "
            f"{BOUND_BLOCKS} blocks of {(BOUND_BLOCK_QUICK if quick else BOUND_BLOCK) // MIB} "
            "MiB (level fast), decoded in a fresh process by crush.open read(1 MiB) calls or "
            "decompress_stream; growth = peak RSS (VmHWM, reset before) minus RSS before; "
            "bound = (3 x threads + 1) x block size, as the README states; met also "
            "requires the whole content."
        )
        if bound_only:
            return rows
        for plugin in RSS_PLUGINS_QUICK if quick else RSS_PLUGINS_FULL:
            rows.append({"measure": "peak RSS", **_rss_row(plugin, stream_size, Path(tmp))})
    reps = 2 if quick else 3
    for plugin in SPEED_PLUGINS:
        size = SPEED_QUICK if quick else (SPEED_SLOW if plugin == "deflate" else SPEED_FULL)
        rows += [{"measure": "throughput", **row} for row in _speed_rows(plugin, size, reps)]
    notes.append(
        f"Peak RSS: a {stream_size // MIB} MiB stream"
        + (" (--quick; the goal is stated for 2 GiB)" if quick else "")
        + " generated on the fly (tools/corpus.py cycled), compress_stream to a temporary "
        "file on disk, then decompress_stream from it into a checksumming sink, default "
        "block size, threads and level, in a fresh process started by a launcher so "
        "ru_maxrss does not inherit this process's peak; the peak is reset to the current "
        "RSS just before the stream where Linux allows (peak reset). Growth = peak during "
        "the stream minus RSS before it; the goal uses the larger of ru_maxrss and VmHWM."
    )
    notes.append(
        "Throughput: in-memory API vs compress_stream/decompress_stream (io.BytesIO to a "
        f"discarding sink) vs crush.open ({CHUNK // MIB} MiB write/readinto calls), timed in "
        "alternation, median of the repetitions; vs in-memory = streaming MiB/s over "
        "in-memory MiB/s. deflate runs on "
        f"{(SPEED_QUICK if quick else SPEED_SLOW) // MIB} MiB (slow compression)."
    )
    return rows


def run(quick: bool) -> list[dict[str, object]]:
    """Return the benchmark's rows (2 GiB stream, or 256 MiB when *quick*)."""
    return [dict(row) for row in measure(quick, [])]


def _run(ctx: Context) -> list[Row]:
    return measure(ctx.quick, ctx.notes, ctx.workdir)


BENCHMARK: Final = Benchmark(name="stream", title=TITLE, goal=GOAL, run=_run)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark alone and print its table (or, with --child, one RSS measurement)."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.stream", description=TITLE)
    parser.add_argument("--quick", action="store_true", help="256 MiB stream, smaller inputs")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the rows to OUT")
    parser.add_argument("--bound-only", action="store_true",
                        help="only the memory-bound table (every plugin, 1/2/8 threads)")
    parser.add_argument(
        "--child", nargs=3, metavar=("PLUGIN", "SIZE", "WORKDIR"), help=argparse.SUPPRESS
    )
    parser.add_argument("--bound-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        plugin, size, workdir = args.child
        print(json.dumps(measure_rss(plugin, int(size), Path(workdir))))
        return 0
    if args.bound_child:
        path, plugin, api, threads = args.bound_child
        print(json.dumps(measure_bound(Path(path), plugin, api, int(threads))))
        return 0
    notes: list[str] = []
    start = time.perf_counter()
    rows = measure(args.quick, notes, bound_only=args.bound_only)
    print(f"## {TITLE}\n\nGoal: {GOAL}\n")
    print(table(rows))
    for text in notes:
        print(f"\n- {text}")
    print(f"\n_{time.perf_counter() - start:.1f} s_")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "notes": notes}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
