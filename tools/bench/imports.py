"""Benchmark: what ``import crush`` costs next to plugin discovery by entry points.

crush registers its plugins statically, so importing it should cost far
less than the usual dynamic alternative, ``importlib.metadata.entry_points()``
(which imports importlib.metadata, then reads every installed
distribution's metadata). Four commands run in fresh interpreters of this
Python (so the same site-packages), alternating in one loop, so drift hits
all of them alike; each figure is the median wall time of ~20 runs:
``python -c pass`` (the baseline), ``import crush``, ``import typing``
(for reference: part of both, crush's annotations and importlib.metadata
need it), ``import importlib.metadata`` alone and ``import
importlib.metadata; importlib.metadata.entry_points()``. *added* is a command's time minus the
baseline's. Goal: ``import crush`` adds at most half of what
``entry_points()`` adds.

Two bytecode states, as tools/bench/cli.py measures them: *cached*
(``.pyc`` files for everything, written to a private
``PYTHONPYCACHEPREFIX`` by a warm-up run — what an installed package has)
and *uncached* (crush copied without ``__pycache__`` and run with
``PYTHONDONTWRITEBYTECODE=1``, as this environment sets it: every run
compiles crush's sources, while the standard library keeps its own
``.pyc`` files). The notes list the modules ``python -X importtime -c
"import crush"`` spends the most time in, cached.

Run alone with ``python -m tools.bench.imports [--quick]``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from .common import Benchmark
from .common import Context
from .common import Row
from .common import median
from .common import percentile
from .common import table
from .interpreters import command_timer
from .interpreters import env_for
from .interpreters import uncached_copy

TITLE: Final = "import crush vs importlib.metadata.entry_points()"
GOAL_SHARE: Final = 0.5
GOAL: Final = "import crush adds at most half of what entry_points() adds to python -c pass"
ENTRY_POINTS: Final = "importlib.metadata.entry_points()"
COMMANDS: Final = {
    "python -c pass": "pass",
    "import crush": "import crush",
    "import typing": "import typing",
    "import importlib.metadata": "import importlib.metadata",
    ENTRY_POINTS: "import importlib.metadata; importlib.metadata.entry_points()",
}


def _state_rows(state: str, env: dict[str, str], cwd: Path, reps: int) -> list[Row]:
    timers = {name: command_timer([sys.executable, "-c", code], env, cwd)
              for name, code in COMMANDS.items()}
    for timer in timers.values():
        timer()  # warm-up: page cache, and the .pyc files when cached
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(reps):
        for name, timer in timers.items():
            samples[name].append(timer() * 1000)
    base = median(samples["python -c pass"])
    entry_added = median(samples[ENTRY_POINTS]) - base
    rows: list[Row] = []
    for name, times in samples.items():
        added = median(times) - base
        crush_row = name == "import crush"
        rows.append({
            "bytecode": state,
            "command": name,
            "runs": reps,
            "ms": median(times),
            "p25 ms": percentile(times, 25),
            "p75 ms": percentile(times, 75),
            "added ms": added if name != "python -c pass" else None,
            "x entry_points()": added / entry_added if name != "python -c pass" else None,
            "goal": f"≤ {GOAL_SHARE:g}x entry_points()" if crush_row else None,
            "met": added <= GOAL_SHARE * entry_added if crush_row else None,
        })
    return rows


def _importtime(env: dict[str, str], cwd: Path, top: int = 6) -> str:
    """Return the modules ``import crush`` spends the most self time in (one cached run)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import crush"], env=env,
                          cwd=cwd, capture_output=True, text=True, check=True)
    found = re.findall(r"import time:\s+(\d+) \|\s+(\d+) \|\s+(.+)$", done.stderr, re.M)
    total = max((int(cum) for _, cum, name in found if name.strip() == "crush"), default=0)
    ranked = sorted(((int(own), name.strip()) for own, _, name in found), reverse=True)[:top]
    listed = ", ".join(f"{name} {own / 1000:.1f}" for own, name in ranked)
    return (f"python -X importtime -c 'import crush' (cached, one run): crush {total / 1000:.1f} "
            f"ms cumulative; largest self times (ms): {listed}")


def _loaded(env: dict[str, str], cwd: Path) -> str:
    code = ("import sys; import crush; print(' '.join(m for m in ('importlib.metadata', "
            "'zstandard', 'lz4', 'brotli', 'lzma', 'bz2', 'zlib_ng', 'logging', 'dataclasses', "
            "'subprocess', 'jinja2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, check=True)
    names = done.stdout.split()
    return ("after import crush, none of importlib.metadata, the codec packages, zlib_ng, "
            "logging, dataclasses, subprocess, jinja2 is loaded" if not names else
            f"after import crush these are loaded: {', '.join(names)}")


def rows(quick: bool, workdir: Path) -> tuple[list[Row], list[str]]:
    """Return the rows and notes of this benchmark, using *workdir* for scratch files."""
    reps = 11 if quick else 21
    cached = env_for(workdir / "imports-pycache")
    out: list[Row] = []
    uncached = env_for(None, uncached_copy(workdir, "imports-uncached"))
    for state, env in (("cached", cached), ("uncached", uncached)):
        out += _state_rows(state, env, workdir, reps)
    count = "import importlib.metadata as m; print(len(list(m.distributions())))"
    dists = subprocess.run([sys.executable, "-c", count], env=cached, cwd=workdir,
                           capture_output=True, text=True, check=True).stdout.strip()
    notes = [
        "fresh interpreters (this venv's python), alternating, median; 'added' = ms - "
        "'python -c pass' ms of the same state; 'x entry_points()' = added / the added ms of "
        f"`{COMMANDS[ENTRY_POINTS]}` ({dists} distributions installed here)",
        "uncached: crush's sources are compiled on every run (PYTHONDONTWRITEBYTECODE=1, no "
        "__pycache__); the standard library keeps its .pyc files, so importlib.metadata is "
        "about equally fast in both states",
        _importtime(cached, workdir),
        _loaded(cached, workdir),
    ]
    return out, notes


def _run(ctx: Context) -> list[Row]:
    found, notes = rows(ctx.quick, ctx.workdir)
    for text in notes:
        ctx.note(text)
    return found


BENCHMARK: Final = Benchmark(name="imports", title=TITLE, goal=GOAL, run=_run)
"""The suite's entry: registered in ``tools/bench/__main__.py``'s BENCHMARKS."""


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone and print its table."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.imports", description=TITLE)
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crush-bench-imports-") as tmp:
        found, notes = rows(args.quick, Path(tmp))
    print(table(found))
    for text in notes:
        print(f"\n- {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
