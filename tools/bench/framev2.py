"""Benchmarks of frame v2: the stored-bytes check's cost and rsyncable blocks.

``checks``: per plugin, the time of ``crush.compress(data, threads=1)`` on
the corpus (64 MiB; 16 MiB for the slow codecs) against the time of the
record CRC32 (zlib-ng) a writer adds (over the compressed blocks' stored
bytes: a raw block's is combined from its content CRC32), and the time a
reader adds (over every block's stored bytes); and CRC32 against xxh3-64
(``xxhash``, if installed) on 64 MiB, the alternative the issue named.

``rsyncable``: on the 64 MiB corpus, compressed with zstd in 1 MiB blocks
(and again in 256 KiB blocks), fixed against ``rsyncable=True``: one byte
inserted at the start, one in the middle, and 10 random bytes in each of
10 random places; the fraction of the edited file's block records that are
byte-identical to a record of the original (goal >= 95 %), the ratio cost
(goal <= 1 %) and the speed cost (goal <= 10 %, threads=2, median of
alternated runs).

Run alone with ``python -m tools.bench.framev2 [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Final

import crush
from crush.checksum import crc32

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import corpus
from .common import median
from .common import table

SLOW: Final = frozenset({"brotli", "lzma", "bz2", "deflate"})


def _time(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def _check_all(records: list[memoryview]) -> list[int]:
    return [crc32(v) for v in records]


def check_rows(quick: bool) -> list[Row]:
    """Return the stored-bytes check's cost per plugin and CRC32 vs xxh3 throughput."""
    rows: list[Row] = []
    big = corpus(64 * MIB)
    reps = 1 if quick else 3
    for plugin in crush.list_plugins():
        data = big[: (4 if quick else 16) * MIB] if plugin.name in SLOW else big
        blob = crush.compress(data, plugin=plugin.name, threads=1)
        index = crush.read_index(blob)
        stored = [memoryview(blob)[e.offset : e.offset + e.record_size + e.stored_size]
                  for e in index]
        # Writing passes over compressed blocks only (a raw block's record
        # CRC32 is combined from its content CRC32); reading checks all.
        written = [v for v, e in zip(stored, index, strict=True) if not e.raw]
        compress_s = _time(partial(crush.compress, data, plugin=plugin.name, threads=1), reps)
        write_s = _time(partial(_check_all, written), max(reps, 5))
        read_s = _time(partial(_check_all, stored), max(reps, 5))
        rows.append({"plugin": plugin.name, "MiB": len(data) // MIB,
                     "compress s": round(compress_s, 4),
                     "write check % of compression": round(100 * write_s / compress_s, 3),
                     "read check s": round(read_s, 5)})
    view = memoryview(big)
    crc_s = _time(lambda: crc32(view), 5)
    rows.append({"plugin": "(crc32, zlib-ng)", "MiB": 64,
                 "GB/s": round(len(big) / crc_s / 1e9, 2)})
    try:
        import xxhash

        xxh_s = _time(lambda: xxhash.xxh3_64_intdigest(view), 5)
        rows.append({"plugin": "(xxh3-64, xxhash)", "MiB": 64,
                     "GB/s": round(len(big) / xxh_s / 1e9, 2)})
    except ImportError:  # pragma: no cover - optional comparison
        pass
    return rows


def _records(blob: bytes) -> list[bytes]:
    return [blob[e.offset : e.offset + e.record_size + e.stored_size]
            for e in crush.read_index(blob)]


def _edits(data: bytes) -> dict[str, bytes]:
    rng = random.Random(0x5EED)
    ten = data
    for at in sorted(rng.sample(range(len(data)), 10), reverse=True):
        ten = ten[:at] + rng.randbytes(10) + ten[at:]
    middle = len(data) // 2
    return {"1 byte at start": b"!" + data,
            "1 byte in the middle": data[:middle] + b"!" + data[middle:],
            "100 random bytes in 10 places": ten}


def rsync_rows(quick: bool, block_size: int = 1 * MIB) -> list[Row]:
    """Return identical-block fractions, ratio and speed of rsyncable against fixed blocks."""
    data = corpus((16 if quick else 64) * MIB)
    rows: list[Row] = []
    kib = f"{block_size >> 10} KiB"

    def make(buf: bytes, mode: str) -> bytes:
        return crush.compress(buf, plugin="zstd", rsyncable=mode == "rsyncable", threads=2,
                              block_size=block_size)

    blobs = {mode: make(data, mode) for mode in ("fixed", "rsyncable")}
    speeds: dict[str, list[float]] = {"fixed": [], "rsyncable": []}
    for _ in range(1 if quick else 5):
        for mode, found in speeds.items():
            found.append(_time(partial(make, data, mode), 1))
    for name, edited in _edits(data).items():
        row: Row = {"blocks of": kib, "edit": name}
        for mode in ("fixed", "rsyncable"):
            before = set(_records(blobs[mode]))
            after = _records(make(edited, mode))
            same = sum(r in before for r in after) / len(after)
            row[f"{mode} identical %"] = round(100 * same, 1)
            row[f"{mode} blocks"] = len(after)
        row["met"] = bool(row["rsyncable identical %"] >= 95)  # type: ignore[operator]
        rows.append(row)
    fixed, cdc = len(blobs["fixed"]), len(blobs["rsyncable"])
    fixed_s, cdc_s = median(speeds["fixed"]), median(speeds["rsyncable"])
    rows.append({"blocks of": kib, "edit": "(ratio cost %)",
                 "rsyncable identical %": round(100 * (cdc / fixed - 1), 3),
                 "met": cdc / fixed - 1 <= 0.01})
    rows.append({"blocks of": kib, "edit": "(speed cost %, 2 threads)",
                 "rsyncable identical %": round(100 * (cdc_s / fixed_s - 1), 2),
                 "met": cdc_s / fixed_s - 1 <= 0.10})
    return rows


def all_rsync_rows(quick: bool) -> list[Row]:
    """Return :func:`rsync_rows` at the default 1 MiB blocks and at 256 KiB.

    Ten scattered edits change at least ten blocks, so 95 % identical needs
    200+ blocks: 64 MiB in 1 MiB blocks cannot reach it, 256 KiB blocks can.
    """
    return rsync_rows(quick) + rsync_rows(quick, 256 << 10)


def _checks(ctx: Context) -> list[Row]:
    return check_rows(ctx.quick)


def _rsync(ctx: Context) -> list[Row]:
    ctx.note("ratio and speed rows put their figure in the 'rsyncable identical %' column")
    return all_rsync_rows(ctx.quick)


CHECKS: Final = Benchmark(name="checks", title="frame v2: the record CRC32's cost",
                          goal="report the cost in % of compression time", run=_checks)
RSYNCABLE: Final = Benchmark(name="rsyncable", title="rsyncable blocks vs fixed blocks",
                             goal=">= 95 % identical blocks, <= 1 % ratio, <= 10 % speed",
                             run=_rsync)


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print their tables."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.framev2")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, one run")
    parser.add_argument("--only", choices=["checks", "rsyncable"])
    args = parser.parse_args(argv)
    if args.only in (None, "checks"):
        print(table(check_rows(args.quick)))
    if args.only in (None, "rsyncable"):
        print(table(all_rsync_rows(args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
