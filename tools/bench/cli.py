"""Benchmark: the ``crush`` command line — start-up time and per-file overhead.

**Start-up.** ``python -m crush --version`` and ``python -m crush --help``
against ``python -c pass``, each in a fresh interpreter, run in alternation
in the same loop (so drift hits every command alike); the figure is the
median wall time of ~20 runs. ``python -c "import crush"`` is timed too, to
show how much of the start-up the package import itself costs. Two bytecode
states: *cached* (``.pyc`` files written to a private
``PYTHONPYCACHEPREFIX`` by a warm-up run, which is what an installed
package has) and *uncached* (a copy of the package without
``__pycache__``, run with ``PYTHONDONTWRITEBYTECODE``: every run compiles
crush's sources). Every run starts in the scratch directory, since
``python -m`` puts the working directory first on ``sys.path``. Goal: at
most 40 ms added to ``python -c pass``.

**Per file.** The same file (tools/corpus.py data, 64 MiB; 32 MiB under
``--quick``) is compressed with deflate and default settings by the CLI
(``crush -k -f -q -p deflate -o OUT FILE``: a fresh process, temporary
file, fsync, rename, metadata) and by the library call
``crush.compress_stream(..., plugin="deflate")`` from
the opened file into an output file in this process (without and with an
fsync), alternating; then the same for decompression. Goal: compressing
through the CLI within 10 % of the library's wall time. *net overhead*
takes away what any fresh process pays (``python -c "import crush"``) and
compares with the library plus the fsync the CLI does for safety: what the
CLI itself adds per file. Decompression is so fast that the fixed start-up
dominates its raw figure; its rows are shown for reference.

Run alone with ``python -m tools.bench.cli [--quick]``; the suite runs it
through :data:`BENCHMARK`. Benchmarks report, they never assert.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import crush

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import corpus
from .common import median
from .common import table
from .interpreters import command_timer
from .interpreters import env_for
from .interpreters import uncached_copy

TITLE: Final = "CLI: start-up time and overhead per file"
GOAL: Final = "--version/--help ≤ 40 ms over python -c pass; a file within 10 % of the library"
STARTUP_GOAL_MS: Final = 40.0
OVERHEAD_GOAL: Final = 0.10
PLUGIN: Final = "deflate"
"""The plugin both sides of the per-file comparison use (the CLI through ``-p``)."""


def startup(reps: int, workdir: Path) -> list[Row]:
    """Time fresh interpreters running the CLI's --version/--help against ``-c pass``."""
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import crush'": [py, "-c", "import crush"],
        "crush --version": [py, "-m", "crush", "--version"],
        "crush --help": [py, "-m", "crush", "--help"],
    }
    rows: list[Row] = []
    states = (("cached", env_for(workdir / "pycache")),
              ("uncached", env_for(None, uncached_copy(workdir))))
    for state, env in states:
        timers = {name: command_timer(argv, env, workdir) for name, argv in commands.items()}
        for timer in timers.values():
            timer()  # warm-up: page cache, and the .pyc files when cached
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(reps):
            for name, timer in timers.items():
                samples[name].append(timer())
        base = median(samples["python -c pass"]) * 1000
        package = median(samples["python -c 'import crush'"]) * 1000 - base
        for name in ("crush --version", "crush --help"):
            ms = median(samples[name]) * 1000
            rows.append({
                "command": name,
                "bytecode": state,
                "runs": reps,
                "ms": ms,
                "python -c pass ms": base,
                "added ms": ms - base,
                "import crush ms": package,
                "goal": f"added ≤ {STARTUP_GOAL_MS:g} ms",
                "met": ms - base <= STARTUP_GOAL_MS,
            })
    return rows


def _library(op: str, source: Path, target: Path, *, fsync: bool) -> Callable[[], float]:
    def once() -> float:
        start = time.perf_counter()
        with source.open("rb") as src, target.open("wb") as dst:
            if op == "compress":
                # Named, as the CLI's -p: automatic selection would pick by the data.
                crush.compress_stream(src, dst, plugin=PLUGIN)
            else:
                crush.decompress_stream(src, dst)
            if fsync:
                dst.flush()
                os.fsync(dst.fileno())
        return time.perf_counter() - start

    return once


def per_file(size: int, reps: int, workdir: Path) -> list[Row]:
    """Time compressing and decompressing one file by the CLI and by the library."""
    env = env_for(workdir / "pycache")
    plain = workdir / "cli-input.bin"
    plain.write_bytes(corpus(size))
    packed = workdir / "cli-input.bin.crush"
    with plain.open("rb") as src, packed.open("wb") as dst:
        crush.compress_stream(src, dst, plugin=PLUGIN)
    cases = (
        ("compress", plain, [sys.executable, "-m", "crush", "-k", "-f", "-q", "-m", PLUGIN,
                             "-o", str(workdir / "cli-out.crush"), str(plain)]),
        ("decompress", packed, [sys.executable, "-m", "crush", "-d", "-k", "-f", "-q", "-o",
                                str(workdir / "cli-out.bin"), str(packed)]),
    )
    rows: list[Row] = []
    for op, source, argv in cases:
        timers = (
            command_timer(argv, env, workdir),
            _library(op, source, workdir / f"lib-out-{op}", fsync=False),
            _library(op, source, workdir / f"lib-out-{op}", fsync=True),
            command_timer([sys.executable, "-c", "import crush"], env, workdir),
        )
        for timer in timers:
            timer()  # warm-up: page cache, pool threads, codec imports, .pyc files
        samples: list[list[float]] = [[] for _ in timers]
        for _ in range(reps):
            for timer, times in zip(timers, samples, strict=True):
                times.append(timer())
        cli, lib, lib_sync, start = (median(times) for times in samples)
        net = (cli - start) / lib_sync - 1
        rows.append({
            "op": op,
            "plugin": crush.inspect(packed.read_bytes()).plugin,
            "MiB": size / MIB,
            "runs": reps,
            "cli s": cli,
            "library s": lib,
            "library+fsync s": lib_sync,
            "start-up s": start,
            "cli MB/s": size / cli / 1e6,
            "library MB/s": size / lib / 1e6,
            "overhead %": 100 * (cli / lib - 1),
            "net overhead %": 100 * net,
            "goal": f"≤ {100 * OVERHEAD_GOAL:g} %",
            # The goal is about compressing; decompression is shown for reference.
            "met": cli / lib - 1 <= OVERHEAD_GOAL if op == "compress" else None,
            "met (net)": net <= OVERHEAD_GOAL,
        })
    return rows


def rows(quick: bool, workdir: Path) -> list[Row]:
    """Return every row of this benchmark, using *workdir* for files."""
    return [*startup(20 if quick else 30, workdir),
            *per_file((32 if quick else 64) * MIB, 3 if quick else 5, workdir)]


def run(quick: bool) -> list[dict[str, object]]:
    """Run the benchmark in a temporary directory and return its rows."""
    with tempfile.TemporaryDirectory(prefix="crush-bench-cli-") as tmp:
        return [dict(row) for row in rows(quick, Path(tmp))]


def _run(ctx: Context) -> list[Row]:
    ctx.note("start-up rows: fresh interpreters, alternating, median; 'import crush ms' is "
             "what the package import alone adds to python -c pass")
    ctx.note("per-file rows: the CLI runs in a fresh process (start-up included) and fsyncs its "
             "output; the library call runs in this process, without and with an fsync. "
             "'net overhead' = (cli - start-up) / (library+fsync) - 1, where start-up is a "
             "fresh `python -c 'import crush'`; 'overhead' compares raw wall times")
    return rows(ctx.quick, ctx.workdir)


BENCHMARK: Final = Benchmark(name="cli", title=TITLE, goal=GOAL, run=_run)
"""The suite's entry: register it in ``tools/bench/__main__.py``'s BENCHMARKS."""


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone and print its table."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.cli", description=TITLE)
    parser.add_argument("--quick", action="store_true", help="fewer runs, a smaller file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crush-bench-cli-") as tmp:
        print(table(rows(args.quick, Path(tmp))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
