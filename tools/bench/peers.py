"""Benchmark 4: crush against pigz and the zstd CLI on the same file, in the same run.

The peers run as subprocesses reading the file and writing to /dev/null
(wall time, process start-up included). crush is measured twice: as an
in-process call on bytes already in memory, and reading the same file from
disk and writing its output to /dev/null, which is what the CLIs do. Both
use ``threads=2`` like ``pigz -p2`` and ``zstd -T2``. The speed ratio is
peer time / crush time, so above 1 means crush is faster. Peer, in-memory
and from-disk runs alternate; each figure is the median of the repetitions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import crush

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import busy_meter
from .common import busy_percent
from .common import corpus
from .common import median
from .common import run_cli
from .common import tool_version

SIZE: Final = 64 * MIB
COMPRESS_GOAL: Final = 1.0
PIGZ_DECOMPRESS_GOAL: Final = 1.3


@dataclass(frozen=True)
class _Case:
    op: str
    codec: str
    peer: list[str]
    work: Callable[[bytes], bytes]
    payload: bytes
    source: Path
    goal: float | None
    peer_output: int = 0


def ensure_pigz(ctx: Context) -> bool:
    """Return whether pigz is on PATH, trying ``apt-get install -y pigz`` once if not."""
    if shutil.which("pigz"):
        return True
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        ctx.note("pigz is missing and cannot be installed here (no apt-get or not root): "
                 "its rows are skipped")
        return False
    try:
        subprocess.run([apt, "install", "-y", "-qq", "pigz"], capture_output=True,
                       timeout=300, check=False,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    except (OSError, subprocess.SubprocessError) as exc:
        ctx.note(f"installing pigz failed ({exc}): its rows are skipped")
        return False
    if shutil.which("pigz"):
        ctx.note("pigz was missing; installed it with apt-get")
        return True
    ctx.note("pigz is missing and `apt-get install -y pigz` did not provide it: "
             "its rows are skipped")
    return False


def _from_disk(source: Path, work: Callable[[bytes], bytes]) -> Callable[[], bytes]:
    def call() -> bytes:
        out = work(source.read_bytes())
        with open(os.devnull, "wb") as sink:
            sink.write(out)
        return out

    return call


def _measure(case: _Case, reps: int) -> Row:
    peer: list[float] = []
    mem: list[float] = []
    disk: list[float] = []
    on_disk = _from_disk(case.source, case.work)
    crush_out = b""
    for _ in range(reps):
        peer.append(run_cli(case.peer))
        start = time.perf_counter()
        crush_out = case.work(case.payload)
        mem.append(time.perf_counter() - start)
        crush_out = b""
        start = time.perf_counter()
        crush_out = on_disk()
        disk.append(time.perf_counter() - start)
    peer_t, mem_t, disk_t = median(peer), median(mem), median(disk)
    row: Row = {
        "op": case.op,
        "codec": case.codec,
        "peer": " ".join(case.peer[:-1]),
        "reps": reps,
        "peer s": peer_t,
        "crush mem s": mem_t,
        "crush disk s": disk_t,
        "peer MB/s": SIZE / peer_t / 1e6,
        "crush mem MB/s": SIZE / mem_t / 1e6,
        "speed x peer (mem)": peer_t / mem_t,
        "speed x peer (disk)": peer_t / disk_t,
        "goal": f"≥ {case.goal:g}x" if case.goal is not None else None,
        "met (mem)": peer_t / mem_t >= case.goal if case.goal is not None else None,
        "met (disk)": peer_t / disk_t >= case.goal if case.goal is not None else None,
    }
    if case.op == "compress" and case.peer_output:
        row["size crush/peer"] = len(crush_out) / case.peer_output
    return row


_WORK: Final[dict[tuple[str, str], Callable[[bytes], bytes]]] = {
    ("compress", "deflate"): lambda d: crush.compress(d, plugin="deflate", level=6, threads=2),
    ("compress", "zstd"): lambda d: crush.compress(d, plugin="zstd", level=3, threads=2),
    ("decompress", "deflate"): lambda d: crush.decompress(d, threads=2),
    ("decompress", "zstd"): lambda d: crush.decompress(d, threads=2),
}


def run(ctx: Context) -> list[Row]:
    """Time crush and the peer CLIs on one 64 MiB file, alternating them."""
    have = {"pigz": ensure_pigz(ctx), "zstd": shutil.which("zstd") is not None}
    if not have["zstd"]:
        ctx.note("the zstd CLI is missing: its rows are skipped")
    compiled = {p.name for p in crush.list_plugins()}
    data = corpus(SIZE)
    source = ctx.workdir / "corpus.bin"
    source.write_bytes(data)
    reps = 3
    cases: list[_Case] = []
    for codec, tool, level in (("deflate", "pigz", 6), ("zstd", "zstd", 3)):
        if not have[tool]:
            continue
        if codec not in compiled:
            ctx.note(f"crush has no {codec} plugin compiled in: the {tool} rows are skipped")
            continue
        frame = _WORK["compress", codec](data)
        frame_file = ctx.workdir / f"corpus.{codec}.crush"
        frame_file.write_bytes(frame)
        peer_file = ctx.workdir / ("corpus.bin.gz" if tool == "pigz" else "corpus.bin.zst")
        if tool == "pigz":
            compress = ["pigz", "-p2", f"-{level}", "-c"]
            decompress = ["pigz", "-d", "-c"]
        else:
            compress = ["zstd", "-q", f"-{level}", "-T2", "-c"]
            decompress = ["zstd", "-q", "-d", "-c"]
        run_cli([*compress, source], stdout=peer_file)
        cases.append(_Case("compress", codec, [*compress, str(source)],
                           _WORK["compress", codec], data, source, COMPRESS_GOAL,
                           peer_file.stat().st_size))
        cases.append(_Case("decompress", codec, [*decompress, str(peer_file)],
                           _WORK["decompress", codec], frame, frame_file,
                           PIGZ_DECOMPRESS_GOAL if tool == "pigz" else None))
    rows = []
    for case in cases:
        ctx.settle()
        with busy_meter() as busy:
            row = _measure(case, reps)
        row["others %"] = busy_percent(busy)
        rows.append(row)
    versions = [v for v in (tool_version(["pigz", "--version"]),
                            tool_version(["zstd", "--version"])) if v]
    ctx.note(
        f"File: tools/corpus.py repeated to {SIZE // MIB} MiB in a temporary directory (page "
        "cache warm). Peers: wall time of the subprocess, output to /dev/null, start-up "
        "included. crush mem: in-process call on bytes in memory; crush disk: read the file, "
        "call, write the result to /dev/null. threads=2 everywhere; median of "
        f"{reps}. others %: CPU share other processes used meanwhile. No goal is set "
        "against `zstd -d`; it is shown for information. "
        "Peer versions: " + "; ".join(versions)
    )
    return rows


BENCHMARK = Benchmark(
    name="peers",
    title="crush vs pigz and zstd CLIs, same 64 MiB file, same run",
    goal=f"compression ≥ {COMPRESS_GOAL:g}x the peer's speed, decompression "
    f"≥ {PIGZ_DECOMPRESS_GOAL:g}x `pigz -d`",
    run=run,
)
