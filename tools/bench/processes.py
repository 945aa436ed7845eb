"""Benchmark: the crush CLI as a whole process against pigz, zstd and lz4 as processes.

What a CLI user sees: every command is a fresh process (interpreter
start-up, imports with compiled bytecode as an install has them, reading
the file, writing stdout to /dev/null) on the same 64 MiB of the sample
corpus from disk, page cache warm. crush runs as the ``crush`` program an
install has: the console script pip writes for ``crush.cli:run`` (not
``python -m crush``, which also imports runpy), run by this interpreter.
crush and its peer alternate, case by case; each figure is the median of
5. *speed vs peer* is peer time / crush time (above 1: crush is faster);
*size vs peer* is crush's output size / the peer's. The in-process comparison is ``--only peers``.

``python -m tools.bench.processes [--root DIR]`` runs it alone; ``--root``
times another checkout's crush package (e.g. the main branch) with this
interpreter and its installed codecs, for a before/after table.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import corpus
from .common import median
from .common import table
from .interpreters import REPO
from .interpreters import env_for
from .peers import ensure_pigz

SIZE: Final = 64 * MIB
REPS: Final = 5


# Long options only: the short ones changed when the CLI took pigz's flags
# (-p is the thread count there), and --root may time either CLI.
@dataclass(frozen=True)
class _Case:
    label: str
    crush: list[str]  # arguments after ``python -m crush``; {src} is replaced
    peer: list[str]  # the peer's argv; {src} is replaced
    goal: float
    max_size: float | None = None  # crush output / peer output must not exceed this


def _cases() -> list[_Case]:
    return [
        _Case("compress deflate -l 6 -T 2 vs pigz -p2 -6",
              ["-c", "--plugin", "deflate", "--level", "6", "--threads", "2", "{src}"],
              ["pigz", "-p2", "-6", "-c", "{src}"], 2.5, 1.0),
        _Case("compress deflate -l fast -T 2 vs pigz -p2 -6",
              ["-c", "--plugin", "deflate", "--level", "fast", "--threads", "2", "{src}"],
              ["pigz", "-p2", "-6", "-c", "{src}"], 8.0, 1.2),
        _Case("decompress deflate -T 2 vs pigz -d",
              ["-dc", "--threads", "2", "{src}.deflate.crush"],
              ["pigz", "-d", "-c", "{src}.gz"], 2.5),
        _Case("compress zstd -l 3 -T 2 vs zstd -3 -T2",
              ["-c", "--plugin", "zstd", "--level", "3", "--threads", "2", "{src}"],
              ["zstd", "-3", "-T2", "-c", "-q", "{src}"], 1.0),
        _Case("decompress zstd -T 2 vs zstd -d",
              ["-dc", "--threads", "2", "{src}.zstd.crush"],
              ["zstd", "-d", "-c", "-q", "{src}.zst"], 1.0),
        _Case("compress lz4 -l fast -T 2 vs lz4 -1",
              ["-c", "--plugin", "lz4", "--level", "fast", "--threads", "2", "{src}"],
              ["lz4", "-1", "-c", "-q", "{src}"], 1.3),
    ]


# What pip writes for ``crush = "crush.cli:run"`` (a checkout from before
# run() existed, timed with --root, gets main(), its entry point then).
_CONSOLE_SCRIPT: Final = """\
import re
import sys
try:
    from crush.cli import run
except ImportError:
    from crush.cli import main as run
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(run())
"""


def _argv(args: Sequence[str], src: Path) -> list[str]:
    return [a.replace("{src}", str(src)) for a in args]


def _run(argv: list[str], env: dict[str, str] | None, cwd: Path, stdout: Path | None = None
         ) -> float:
    target = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, stdout=target, stderr=subprocess.PIPE, check=True)
        return time.perf_counter() - start
    finally:
        if stdout is not None:
            target.close()  # type: ignore[union-attr]


def _prepare(workdir: Path, size: int, env: dict[str, str], crush: list[str]) -> Path:
    """Write the corpus file and the inputs the decompression cases read."""
    src = workdir / "corpus.bin"
    src.write_bytes(corpus(size))
    _run(["pigz", "-6", "-k", "-f", str(src)], None, workdir)
    _run(["zstd", "-3", "-q", "-k", "-f", str(src)], None, workdir)
    for plugin, level in (("deflate", "6"), ("zstd", "3")):
        _run([*crush, "-c", "--plugin", plugin, "--level", level, str(src)], env, workdir,
             stdout=Path(f"{src}.{plugin}.crush"))
    return src


def rows(workdir: Path, root: Path = REPO, size: int = SIZE, reps: int = REPS) -> list[Row]:
    """Time every case *reps* times, crush and peer alternating; return one row per case."""
    env = env_for(workdir / "pycache", root)  # compiled bytecode, as an install has it
    script = workdir / "crush"
    script.write_text(_CONSOLE_SCRIPT, encoding="utf-8")
    crush = [sys.executable, str(script)]
    _run([*crush, "--version"], env, workdir)  # compile the bytecode once
    src = _prepare(workdir, size, env, crush)
    out: list[Row] = []
    for case in _cases():
        mine, theirs = [*crush, *_argv(case.crush, src)], _argv(case.peer, src)
        sizes = []
        for argv, run_env in ((mine, env), (theirs, None)):
            _run(argv, run_env, workdir, stdout=workdir / "out")
            sizes.append((workdir / "out").stat().st_size)
        c_times: list[float] = []
        p_times: list[float] = []
        for _ in range(reps):
            c_times.append(_run(mine, env, workdir))
            p_times.append(_run(theirs, None, workdir))
        speed = median(p_times) / median(c_times)
        size_ratio = None
        met = speed >= case.goal
        if case.max_size is not None:
            size_ratio = sizes[0] / sizes[1]
            met = met and size_ratio <= case.max_size
        out.append({
            "case": case.label,
            "crush s": round(median(c_times), 3),
            "peer s": round(median(p_times), 3),
            "crush MB/s": round(size / median(c_times) / 1e6, 1),
            "speed vs peer": round(speed, 2),
            "size vs peer": None if size_ratio is None else round(size_ratio, 3),
            "goal": f">= {case.goal:g}x" + (f", size <= {case.max_size:g}x"
                                            if case.max_size is not None else ""),
            "met": met,
        })
    return out


def _bench(ctx: Context) -> list[Row]:
    missing = [tool for tool in ("zstd", "lz4") if shutil.which(tool) is None]
    if not ensure_pigz(ctx) or missing:
        ctx.note(f"peers missing ({', '.join(missing) or 'pigz'}): skipped")
        return []
    ctx.note("whole processes: the crush console script (bytecode compiled) vs the peer "
             "CLI, 64 MiB of the sample corpus from disk to /dev/null, median of 5, alternating")
    return rows(ctx.workdir, size=ctx.pick(16, 64) * MIB, reps=ctx.pick(3, REPS))


BENCHMARK: Final = Benchmark(
    name="processes",
    title="Whole process: the crush CLI vs pigz, zstd and lz4",
    goal="deflate 6 >= 2.5x pigz -6 at no larger output; fast >= 8x pigz at <= 1.2x its "
    "size; -dc >= 2.5x pigz -d; zstd and zstd -d >= 1.0x; lz4 fast >= 1.3x lz4 -1",
    run=_bench,
)


def main(argv: list[str] | None = None) -> int:
    """Print the table for this checkout or for ``--root DIR``."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.processes")
    parser.add_argument("--root", type=Path, default=REPO,
                        help="the checkout whose crush package runs (default: this one)")
    parser.add_argument("--reps", type=int, default=REPS)
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="crush-processes-") as tmp:
        print(table(rows(Path(tmp), args.root.resolve(), reps=args.reps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
