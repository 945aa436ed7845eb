"""Benchmark: how far automatic selection lands from the best candidate, on files it never saw.

For each test file — ELF libraries and the interpreter binary, Python's
standard library as one text, a tar of ``/usr/share/doc``, concatenated
gzip files and a wheel (zip) — every candidate plugin compresses the whole
file (``crush.compress(data, plugin=name, threads=1)``, default level), which
gives its *actual* ratio and single-thread speed on that file. Then, for
the default weights and each ``prefer=`` preset, every candidate gets the
score selection uses (``w_t * norm(log MB/s) + w_r * norm(1 - ratio)``,
min-max over the candidates) from those actual figures. **Regret** is the
best candidate's actual score minus the automatic choice's actual score,
in score points (scores lie in 0..1). Goal: mean ≤ 5 %, worst ≤ 15 %.

The candidates are the ones selection itself considered (those whose
``detect`` accepted the input; a specialist such as ``store`` on a gzip
file is the only candidate). The automatic choice is
``crush.select_plugin(first_block)``, what ``crush.compress`` does.

A second table gives what choosing costs: ``select_plugin`` per call on
the first block against the chosen plugin compressing the whole file
(goal ≤ 2 % for inputs ≥ 1 MiB), and per call on small inputs (≤ 1 ms).

Run alone with ``python -m tools.bench.regret [--quick]``.
"""

from __future__ import annotations

import functools
import io
import math
import sys
import sysconfig
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import crush
from crush.options import DEFAULT_BLOCK_SIZE
from crush.selection import PREFERENCES

from .common import KIB
from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import median
from .common import run_alone

MEAN_GOAL: Final = 0.05
WORST_GOAL: Final = 0.15
COST_GOAL: Final = 0.02
SMALL_GOAL_S: Final = 0.001
TITLE: Final = "Automatic selection: regret against the best candidate on unseen files"
GOAL: Final = (f"mean regret ≤ {MEAN_GOAL:.0%}, worst ≤ {WORST_GOAL:.0%} (score points); "
               f"choosing costs ≤ {COST_GOAL:.0%} of the chosen plugin's time")
COST_TITLE: Final = "Automatic selection: what choosing costs"
_LIBRARIES: Final = ("libstdc++.so.6*", "libperl.so*", "libgnutls.so*", "libcrypto.so*")


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


def _library(pattern: str) -> Path | None:
    for root in (Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib/aarch64-linux-gnu"),
                 Path("/usr/lib"), Path("/usr/lib64")):
        found = sorted(p for p in root.glob(pattern) if p.is_file() and not p.is_symlink())
        if found:
            return found[0]
    return None


def _stdlib_text(size: int) -> bytes:
    out = io.BytesIO()
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        out.write(path.read_bytes())
        if out.tell() >= size:
            break
    return out.getvalue()[:size]


def _doc_files() -> Iterator[Path]:
    for path in sorted(Path("/usr/share/doc").rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _doc_tar(size: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in _doc_files():
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to("/")))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as f:
                tar.addfile(info, f)
            if out.tell() >= size:
                break
    return out.getvalue()[:size]


def _gzip_files(size: int) -> bytes:
    out = io.BytesIO()
    for path in _doc_files():
        if path.suffix == ".gz":
            out.write(path.read_bytes())
            if out.tell() >= size:
                break
    return out.getvalue()[:size]


def files(size: int) -> dict[str, bytes]:
    """Return the test inputs (each at most *size* bytes) found on this machine, by label."""
    found: dict[str, bytes] = {}
    for pattern in _LIBRARIES:
        path = _library(pattern)
        if path is not None:
            found[f"ELF {path.name}"] = _head(path, size)
    found["ELF python interpreter"] = _head(Path(sys.executable).resolve(), size)
    found["stdlib *.py as text"] = _stdlib_text(size)
    if Path("/usr/share/doc").is_dir():
        found["tar of /usr/share/doc"] = _doc_tar(size)
        found["gzip files, concatenated"] = _gzip_files(size)
    wheels = sorted((Path(sysconfig.get_paths()["stdlib"]) / "ensurepip").rglob("*.whl"))
    if wheels:
        found["wheel (zip)"] = _head(wheels[0], size)
    return {label: data for label, data in found.items() if len(data) >= 64 * KIB}


def _measure(data: bytes, name: str, budget: float) -> tuple[float, float]:
    """Return (MB/s, ratio) of crush.compress(data, plugin=name, threads=1): best of a few."""
    best = math.inf
    size = 0
    spent = 0.0
    while spent < budget or best == math.inf:
        start = time.perf_counter()
        size = len(crush.compress(data, plugin=name, threads=1))
        took = time.perf_counter() - start
        best = min(best, took)
        spent += took
    return len(data) / best / 1e6, size / len(data)


def _scores(figures: dict[str, tuple[float, float]], weights: tuple[float, float]
            ) -> dict[str, float]:
    names = list(figures)
    speed = [math.log(figures[n][0]) for n in names]
    saving = [1.0 - figures[n][1] for n in names]

    def norm(values: list[float]) -> list[float]:
        low, high = min(values), max(values)
        return [1.0 if high == low else (v - low) / (high - low) for v in values]

    w_t, w_r = weights
    return {n: w_t * s + w_r * r
            for n, s, r in zip(names, norm(speed), norm(saving), strict=True)}


def _presets() -> dict[str, str | None]:
    return {"default": None, **{name: name for name in PREFERENCES}}


def regret_rows(ctx: Context, inputs: dict[str, bytes]) -> list[Row]:
    """Return one row per file and preset, then the mean and worst regret per preset."""
    rows: list[Row] = []
    regrets: dict[str, list[float]] = {label: [] for label in _presets()}
    for label, data in inputs.items():
        first = data[:DEFAULT_BLOCK_SIZE]
        pools = {p: crush.select_plugin(first, prefer=prefer)  # type: ignore[arg-type]
                 for p, prefer in _presets().items()}
        names = sorted({c.plugin for s in pools.values() for c in s.candidates})
        figures = {n: _measure(data, n, ctx.pick(0, 1) * 0.3) for n in names}
        for preset, choice in pools.items():
            pool = {c.plugin: figures[c.plugin] for c in choice.candidates}
            actual = _scores(pool, choice.weights)
            best = max(actual, key=lambda n: (actual[n], n == choice.plugin.name))
            regret = actual[best] - actual[choice.plugin.name]
            regrets[preset].append(regret)
            rows.append({
                "file": label, "MiB": round(len(data) / MIB, 2), "preset": preset,
                "chosen": choice.plugin.name, "best": best,
                "chosen ratio": figures[choice.plugin.name][1],
                "best ratio": figures[best][1],
                "chosen MB/s": figures[choice.plugin.name][0], "best MB/s": figures[best][0],
                "regret %": 100 * regret,
            })
    for preset, values in regrets.items():
        if values:
            mean, worst = sum(values) / len(values), max(values)
            rows.append({"file": "(all files)", "preset": preset,
                         "mean regret %": 100 * mean, "worst regret %": 100 * worst,
                         "met": mean <= MEAN_GOAL and worst <= WORST_GOAL})
    return rows


def _select_seconds(data: bytes, prefer: str | None, reps: int) -> float:
    crush.select_plugin(data, prefer=prefer)  # type: ignore[arg-type]
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        crush.select_plugin(data, prefer=prefer)  # type: ignore[arg-type]
        times.append(time.perf_counter() - start)
    return median(times)


def cost_rows(ctx: Context, inputs: dict[str, bytes]) -> list[Row]:
    """Return what select_plugin costs against the chosen plugin's time, per file and preset."""
    rows: list[Row] = []
    reps = ctx.pick(20, 100)
    for label, data in inputs.items():
        first = data[:DEFAULT_BLOCK_SIZE]
        for preset, prefer in _presets().items():
            choose = _select_seconds(first, prefer, reps)
            chosen = crush.select_plugin(first, prefer=prefer).plugin.name  # type: ignore[arg-type]
            mb_s, _ = _measure(data, chosen, 0.0)
            whole = len(data) / (mb_s * 1e6)
            rows.append({"input": label, "bytes": len(data), "preset": preset,
                         "chosen": chosen, "select µs": choose * 1e6,
                         "compress ms": whole * 1e3, "cost %": 100 * choose / whole,
                         "met": choose / whole <= COST_GOAL if len(data) >= MIB else None})
    text = next((d for lbl, d in inputs.items() if "text" in lbl), b"x" * 65536)
    for size in (256, 4 * KIB, 64 * KIB):
        for preset, prefer in _presets().items():
            choose = _select_seconds(text[:size], prefer, reps)
            rows.append({"input": f"text, first {size} B", "bytes": size, "preset": preset,
                         "select µs": choose * 1e6, "met": choose <= SMALL_GOAL_S})
    return rows


@functools.cache
def _inputs(quick: bool) -> dict[str, bytes]:
    return files(1 * MIB if quick else 4 * MIB)


def run(ctx: Context) -> list[Row]:
    """Measure regret per file and preset."""
    inputs = _inputs(ctx.quick)
    ctx.note(f"files: {', '.join(f'{k} ({len(v) / MIB:.1f} MiB)' for k, v in inputs.items())}; "
             "figures per candidate from crush.compress(whole file, plugin=..., threads=1) at "
             "the default level; regret = best actual score - chosen actual score, scores in "
             "0..1 from the same formula selection uses")
    return regret_rows(ctx, inputs)


def run_cost(ctx: Context) -> list[Row]:
    """Measure what choosing costs."""
    ctx.note("select µs: median crush.select_plugin(first 1 MiB block) per call; compress ms: "
             "the chosen plugin on the whole file, one thread; goal ≤ 2 % for inputs ≥ 1 MiB, "
             "≤ 1 ms per call for small inputs")
    return cost_rows(ctx, _inputs(ctx.quick))


BENCHMARK: Final = Benchmark(name="regret", title=TITLE, goal=GOAL, run=run)
"""Regret of automatic selection; registered in ``tools/bench/__main__.py``."""

COST_BENCHMARK: Final = Benchmark(
    name="select-cost", title=COST_TITLE,
    goal=f"≤ {COST_GOAL:.0%} of the chosen plugin's time (≥ 1 MiB), ≤ 1 ms (small)",
    run=run_cost)
"""What choosing costs; registered next to :data:`BENCHMARK`."""


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks alone and print their tables."""
    return run_alone("python -m tools.bench.regret", __doc__, (BENCHMARK, COST_BENCHMARK),
                     "1 MiB files, fewer calls", argv)


if __name__ == "__main__":
    sys.exit(main())
