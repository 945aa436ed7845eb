"""Benchmark: standard formats against their own tools, whole processes, same run.

A 64 MiB file of the sample corpus (32 MiB under ``--quick``), each pair
run alternately in fresh processes, median wall time:

* ``crush -F gzip -p 2`` vs ``pigz -p2 -6`` (speed and size);
* ``crush -d`` of a pigz-made ``.gz`` vs ``pigz -d`` (one member: a stream);
* ``crush -d`` of crush's own ``-F gzip`` file (members decode in parallel);
* ``crush -d`` of a BGZF file vs ``bgzip -d -@2``;
* ``crush -F zstd -p 2`` vs ``zstd -3 -T2``;
* ``crush -d`` of a ``.xz`` vs ``xz -d -T2``.

Goals (issue 12): ``-F gzip`` ≥ 2.5x pigz at no larger output; parallel
BGZF/crush-gzip decode ≥ 2x ``pigz -d``; a pigz ``.gz`` decoded at least
as fast as ``pigz -d``. A pair whose tool is missing is left out. Run alone
with ``python -m tools.bench.formats [--quick]``. Reports, never asserts.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import corpus
from .common import median
from .common import table
from .interpreters import command_timer
from .interpreters import env_for

TITLE: Final = "Standard formats: crush against pigz, bgzip, zstd and xz"
GOAL: Final = "-F gzip ≥ 2.5x pigz -p2 at no larger size; parallel gzip decode ≥ 2x pigz -d"


def _shell(command: str) -> list[str]:
    return ["sh", "-c", command]


def _pairs(work: Path) -> list[tuple[str, str, str, float | None]]:
    """Return (row, crush command, tool command, speed goal) tuples; files made on the way."""
    crush = f"{sys.executable} -m crush"
    plain = work / "input.bin"
    made = {
        "pigz.gz": f"pigz -p2 -6 -c {plain}",
        "crush.gz": f"{crush} -F gzip -c {plain}",
        "bgzf.gz": f"bgzip -@2 -c {plain}",
        "input.xz": f"xz -T2 -c {plain}",
    }
    for name, command in made.items():
        if shutil.which(command.split()[0]) or command.startswith(sys.executable):
            subprocess.run(_shell(f"{command} > {work / name}"), check=True)
    return [
        ("compress gzip", f"{crush} -F gzip -p 2 -c {plain} > {work}/o1",
         f"pigz -p2 -6 -c {plain} > {work}/o2", 2.5),
        ("decompress pigz .gz", f"{crush} -d -p 2 -c {work}/pigz.gz > {work}/o1",
         f"pigz -d -c {work}/pigz.gz > {work}/o2", 1.0),
        ("decompress crush .gz", f"{crush} -d -p 2 -c {work}/crush.gz > {work}/o1",
         f"pigz -d -c {work}/pigz.gz > {work}/o2", 2.0),
        ("decompress BGZF", f"{crush} -d -p 2 -c {work}/bgzf.gz > {work}/o1",
         f"bgzip -d -@2 -c {work}/bgzf.gz > {work}/o2", None),
        ("compress zstd", f"{crush} -F zstd -p 2 -c {plain} > {work}/o1",
         f"zstd -3 -T2 -q -c {plain} > {work}/o2", None),
        ("decompress .xz", f"{crush} -d -p 2 -c {work}/input.xz > {work}/o1",
         f"xz -d -T2 -c {work}/input.xz > {work}/o2", None),
    ]


def rows(size: int, reps: int, work: Path) -> list[Row]:
    """Time every pair *reps* times, alternating."""
    (work / "input.bin").write_bytes(corpus(size))
    env = env_for(work / "pycache")
    out: list[Row] = []
    for name, ours, theirs, goal in _pairs(work):
        tool = theirs.split()[0]
        if not shutil.which(tool):
            continue
        timers = (command_timer(_shell(ours), env, work), command_timer(_shell(theirs), env, work))
        for timer in timers:
            timer()
        samples: list[list[float]] = [[], []]
        for _ in range(reps):
            for timer, times in zip(timers, samples, strict=True):
                times.append(timer())
        mine, other = median(samples[0]), median(samples[1])
        row: Row = {"case": name, "tool": theirs.split(">")[0].strip(), "MiB": size / MIB,
                    "crush s": mine, "tool s": other, "speed-up": other / mine}
        if name.startswith("compress"):
            row["crush size"] = (work / "o1").stat().st_size
            row["tool size"] = (work / "o2").stat().st_size
        row["goal"] = f"≥ {goal:g}x" if goal else "-"
        row["met"] = None if goal is None else other / mine >= goal and (
            row.get("crush size", 0) <= row.get("tool size", 0))  # type: ignore[operator]
        out.append(row)
    return out


def _run(ctx: Context) -> list[Row]:
    ctx.note("whole processes (start-up included), alternating, median; -p 2 for crush")
    return rows(ctx.pick(32, 64) * MIB, ctx.pick(3, 5), ctx.workdir)


BENCHMARK: Final = Benchmark(name="formats", title=TITLE, goal=GOAL, run=_run)
"""The suite's entry."""


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone and print its table."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.formats", description=TITLE)
    parser.add_argument("--quick", action="store_true", help="fewer runs, a smaller file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crush-bench-formats-") as tmp:
        print(table(rows((32 if args.quick else 64) * MIB, 3 if args.quick else 5, Path(tmp))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
