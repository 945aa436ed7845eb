"""Benchmark: Dask ``read_csv`` of one big CSV, crush-compressed vs gzip vs uncompressed.

A 256 MiB CSV (64 MiB under ``--quick``; tools/csvdata.py: integer and
float columns) is written three ways: plain, gzip (level 6, Python's
``gzip``) and crush (default plugin choice and level, 1 MiB blocks). A
``distributed.LocalCluster`` with 2 worker processes of 1 thread each
(crush registered by :func:`crush.integrations.dask.register`, so
``CRUSH_THREADS=1`` on the workers) then runs ``dd.read_csv(...)`` and
counts the rows of every partition (the whole file is parsed, only counts
travel back):

- ``crush::`` with ``blocksize="64MiB"`` (16 MiB under ``--quick``; the
  crush filesystem: many partitions);
- gzip (Dask refuses ``blocksize`` for it: one partition, one core);
- crush through ``compression="crush"`` (the streaming way: one partition too);
- the uncompressed file with the same blocksize.

Each is timed 3 times (median wall time) after one untimed warm-up. It
takes a minute or two, so it is not in the default run: select it with
``python -m tools.bench --only dask``. Benchmarks report, they never assert.
"""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from typing import Final

import crush

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import median

TITLE: Final = "Dask read_csv: one crush file split across 2 workers vs gzip and plain"
GOAL: Final = "crush:: reads in more than one partition and faster than gzip's single partition"
_REPS: Final = 3


def _files(ctx: Context) -> dict[str, Path]:
    from tools.csvdata import write_csv

    plain = ctx.workdir / "dask.csv"
    write_csv(plain, ctx.pick(64, 256) * MIB, seed=1)
    packed = plain.with_name("dask.csv.crush")
    with plain.open("rb") as fin, packed.open("wb") as fout:
        crush.compress_stream(fin, fout)
    zipped = plain.with_name("dask.csv.gz")
    with plain.open("rb") as fin, gzip.open(zipped, "wb", compresslevel=6) as fout:
        shutil.copyfileobj(fin, fout, MIB)
    return {"plain": plain, "crush": packed, "gzip": zipped}


def _variants(files: dict[str, Path], block: int) -> list[tuple[str, Path, Callable[[], Any]]]:
    import dask.dataframe as dd

    return [
        (f"crush:: blocksize={block}MiB", files["crush"],
         lambda: dd.read_csv(f"crush::{files['crush']}", blocksize=block * MIB)),
        ("gzip (one partition)", files["gzip"],
         lambda: dd.read_csv(str(files["gzip"]), compression="gzip", blocksize=None)),
        ('compression="crush" (one partition)', files["crush"],
         lambda: dd.read_csv(str(files["crush"]), compression="crush", blocksize=None)),
        (f"uncompressed blocksize={block}MiB", files["plain"],
         lambda: dd.read_csv(str(files["plain"]), blocksize=block * MIB)),
    ]


def _count(part: Any, _run: int) -> int:
    return len(part)


def run(ctx: Context) -> list[Row]:
    """Time each variant on a 2-worker LocalCluster; return one row per variant."""
    from distributed import Client
    from distributed import LocalCluster

    from crush.integrations.dask import register

    files = _files(ctx)
    rows: list[Row] = []
    # distributed leaves these constructors unannotated.
    cluster = LocalCluster(n_workers=2, processes=True,  # type: ignore[no-untyped-call]
                           threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        client.wait_for_workers(2)
        register(client, threads=1)
        gzip_seconds = None
        for label, path, make in _variants(files, ctx.pick(16, 64)):
            frame = make()
            count = 0
            times = []
            for rep in range(_REPS + 1):  # the first is the warm-up
                ctx.settle()
                # A new argument per run gives new task keys: distributed would
                # otherwise hand back results it still holds from the last run.
                counts = frame.map_partitions(_count, rep, meta=(None, "int64"))
                start = time.perf_counter()
                count = int(client.compute(counts.sum()).result())
                if rep:
                    times.append(time.perf_counter() - start)
            seconds = median(times)
            if label.startswith("gzip"):
                gzip_seconds = seconds
            rows.append({
                "variant": label,
                "file MiB": round(path.stat().st_size / MIB, 1),
                "partitions": frame.npartitions,
                "rows": count,
                "median s": round(seconds, 2),
                "MiB/s (content)": round(files["plain"].stat().st_size / MIB / seconds, 1),
            })
    crush_row = rows[0]
    crush_row["goal"] = "> 1 partition, faster than gzip"
    crush_row["met"] = (int(str(crush_row["partitions"])) > 1 and gzip_seconds is not None
                        and float(str(crush_row["median s"])) < gzip_seconds)
    ctx.note(f"{_REPS} timed runs each after a warm-up; every partition is parsed, only row "
             "counts travel to the client. 2 worker processes x 1 thread, CRUSH_THREADS=1.")
    return rows


BENCHMARK: Final = Benchmark("dask", TITLE, GOAL, run)
