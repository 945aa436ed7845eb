"""Run the crush benchmarks: ``python -m tools.bench [--quick] [--json OUT] [--only NAME ...]``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Final

from . import cli
from . import dask_csv
from . import deflate_backends
from . import formats
from . import framev2
from . import imports
from . import latency
from . import overhead
from . import peers
from . import processes
from . import regret
from . import scaling
from . import selection
from . import stream
from . import timeout
from .common import Benchmark
from .common import Context
from .common import Value
from .common import cpu_snapshot
from .common import machine
from .common import mark
from .common import other_load
from .common import table

BENCHMARKS: Final[tuple[Benchmark, ...]] = (
    latency.BENCHMARK,
    timeout.BENCHMARK,
    scaling.BENCHMARK,
    peers.BENCHMARK,
    processes.BENCHMARK,
    deflate_backends.BENCHMARK,
    stream.BENCHMARK,
    cli.BENCHMARK,
    formats.BENCHMARK,
    imports.BENCHMARK,
    overhead.BENCHMARK,
    selection.BENCHMARK,
    selection.RANDOM_BENCHMARK,
    framev2.CHECKS,
    framev2.RSYNCABLE,
    regret.BENCHMARK,
    regret.COST_BENCHMARK,
)
"""Every benchmark, in the order a full run executes them."""

OPTIONAL: Final[tuple[Benchmark, ...]] = (
    dask_csv.BENCHMARK,  # minutes, and needs dask[distributed]: only with --only
)
"""Benchmarks a run executes only when ``--only`` names them."""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    names = [b.name for b in (*BENCHMARKS, *OPTIONAL)]
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description="Measure crush and print one Markdown table per benchmark.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions and smaller inputs for slow codecs (~2 min)")
    parser.add_argument("--json", type=Path, metavar="OUT",
                        help="also write every figure and the machine facts to OUT")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME",
                        help=f"run only these benchmarks ({', '.join(names)})")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each benchmark (and each speed measurement) wait up to "
                        "SECONDS for other processes to leave the CPUs idle (under 10%% busy)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser.parse_args(argv)


def _verdict(rows: list[dict[str, Value]]) -> str:
    verdicts = [v for row in rows for k, v in row.items()
                if (k == "met" or k.startswith("met ")) and isinstance(v, bool)]
    if not verdicts:
        return "no goal checked"
    met = sum(verdicts)
    return f"{mark(met == len(verdicts))}: {met}/{len(verdicts)} checks met"


def _load_text(load: dict[str, float]) -> str:
    if not load:
        return ""
    text = (f" · other processes used {load['other_processes']:.0%} of the CPUs"
            f" (steal {load['steal']:.0%})")
    if load["other_processes"] + load["steal"] > 0.10:
        text += " ⚠ busy machine: speed figures are skewed"
    return text


def _run_one(bench: Benchmark, ctx: Context) -> dict[str, object]:
    """Run one benchmark, print its section and return its JSON record."""
    print(f"## {bench.title}\n\nGoal: {bench.goal}\n", flush=True)
    ctx.settle()
    start = time.perf_counter()
    before = cpu_snapshot()
    error = None
    rows: list[dict[str, Value]] = []
    try:
        rows = bench.run(ctx)
    except Exception:
        error = traceback.format_exc()
    elapsed = time.perf_counter() - start
    load = other_load(before, cpu_snapshot())
    print(table(rows))
    for text in ctx.notes:
        print(f"\n- {text}")
    if error:
        print(f"\n**crashed:**\n\n```\n{error}```")
    print(f"\n_{_verdict(rows)} · {elapsed:.1f} s{_load_text(load)}_\n", flush=True)
    return {
        "name": bench.name,
        "title": bench.title,
        "goal": bench.goal,
        "seconds": round(elapsed, 3),
        "cpu_share_used_elsewhere": load,
        "rows": rows,
        "notes": ctx.notes,
        "error": error,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; return 1 if one crashed (never for a missed goal)."""
    args = _parse(argv)
    if args.list:
        for bench in (*BENCHMARKS, *OPTIONAL):
            print(f"{bench.name:10} {bench.title} (goal: {bench.goal})")
        return 0
    chosen = [b for b in (*BENCHMARKS, *OPTIONAL) if b.name in (args.only or [])
              or (not args.only and b in BENCHMARKS)]
    started = datetime.now(UTC)
    mode = "quick" if args.quick else "full"
    print(f"# crush benchmarks ({mode} run, {started:%Y-%m-%d %H:%M} UTC)\n")
    facts = machine()
    for key in ("platform", "cpu", "cores", "python", "crush"):
        print(f"- {key}: {facts.get(key)}")
    codecs = ", ".join(f"{k[6:]} {v}" for k, v in facts.items() if k.startswith("codec "))
    print(f"- codecs: {codecs}\n", flush=True)

    results: list[dict[str, object]] = []
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crush-bench-") as tmp:
        for bench in chosen:
            ctx = Context(quick=args.quick, workdir=Path(tmp), quiet_wait=args.wait_quiet)
            results.append(_run_one(bench, ctx))
    crashed = any(r["error"] for r in results)
    seconds = time.perf_counter() - total
    print(f"_total {seconds:.0f} s_")
    if args.json:
        document = {
            "tool": "tools.bench",
            "command": " ".join(["python", "-m", "tools.bench", *(argv or sys.argv[1:])]),
            "mode": mode,
            "started_utc": started.isoformat(timespec="seconds"),
            "seconds": round(seconds, 3),
            "machine": machine(),  # again: a peer installed during the run is named too
            "benchmarks": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
