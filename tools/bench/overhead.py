"""Benchmark: crush's in-memory overhead over the raw codec call, single-threaded.

On 64 MiB of tools/corpus.py data (16 MiB for brotli, whose default level
runs at ~65 MB/s), ``crush.compress(data, plugin=p, threads=1)`` is timed
against the codec's own one-shot call on the whole buffer, at the plugin's
default level:

* deflate: the deflate plugin's backend for level 6 (libdeflate 6 when
  installed) on the whole buffer, and its decoder (ISA-L)
* zstd: ``zstandard.ZstdCompressor(level=3).compress``,
  ``zstandard.ZstdDecompressor().decompress``
* lz4: ``lz4.block.compress(store_size=False)``,
  ``lz4.block.decompress(uncompressed_size=n)``
* brotli: ``brotli.compress(quality=5)``, ``brotli.decompress``

and likewise ``crush.decompress(frame, threads=1)`` against the one-shot
decompression of the codec's own output. *overhead* = crush / raw - 1 of
the medians; goal ≤ 3 %.

crush's cost is broken down with the same data, timed in the same loop:
*per-block codec* is the plugin method called on each 1 MiB block (what
crush's blocking itself costs or saves against one call on the whole
buffer: the codec works on smaller inputs, and blocks that do not shrink
are stored raw and never decoded); *crc32* is ``crush.checksum.crc32``
(zlib-ng) over every block; *framing* encodes (or parses) the header, the
v2 block records (with their record CRC32 over the stored bytes) and the
footer, CRC32s combined; *join* is
``b"".join`` of the output pieces (the one copy into the result); *rest*
is what is left: the execution machinery (options, deadline, runner) and
memoryview slicing. All runs alternate; each figure is a median.

Run alone with ``python -m tools.bench.overhead [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Final
from typing import NamedTuple

import crush
from crush import frame
from crush import frame_v2
from crush.checksum import crc32
from crush.contract import Buffer
from crush.options import DEFAULT_BLOCK_SIZE
from crush.plugins.deflate import DeflatePlugin

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import corpus
from .common import median
from .common import quiet_gc
from .common import table

TITLE: Final = "crush vs the raw codec call, in memory, one thread"
GOAL_PCT: Final = 3.0
GOAL: Final = f"crush.compress/decompress within {GOAL_PCT:g} % of the codec's one-shot call"
SIZE: Final = 64 * MIB
BROTLI_SIZE: Final = 16 * MIB


class _Raw(NamedTuple):
    plugin: str
    size: int
    call: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes, int], bytes]


def _raw_codecs() -> list[_Raw]:
    """Return the one-shot calls for the codecs that are installed."""
    # deflate's raw call is the backend crush's deflate plugin uses at level 6
    # and its decoder, so the row shows crush's own cost, not a backend choice.
    plugin = DeflatePlugin()
    backend, level = plugin.backend_for(plugin.metadata.default_level)
    decoder = plugin.decoder()
    out = [_Raw("deflate", SIZE, f"{backend.name} {level} / {decoder.name} decode",
                lambda d: backend.compress(d, level), decoder.decompress)]
    try:
        import zstandard
    except ImportError:
        pass
    else:
        zc = zstandard.ZstdCompressor(level=3)
        zd = zstandard.ZstdDecompressor()
        out.append(_Raw("zstd", SIZE, "ZstdCompressor(level=3).compress", zc.compress,
                        lambda d, n: zd.decompress(d)))
    try:
        import lz4.block
    except ImportError:
        pass
    else:
        out.append(_Raw("lz4", SIZE, "lz4.block.compress(store_size=False)",
                        lambda d: lz4.block.compress(d, store_size=False),
                        lambda d, n: lz4.block.decompress(d, uncompressed_size=n)))
    try:
        import brotli
    except ImportError:
        pass
    else:
        out.append(_Raw("brotli", BROTLI_SIZE, "brotli.compress(quality=5)",
                        lambda d: brotli.compress(d, quality=5),
                        lambda d, n: brotli.decompress(d)))
    return out


class _Parts(NamedTuple):
    """One crush frame taken apart: what crush's own steps work on."""

    blocks: list[memoryview]
    payloads: list[bytes]
    raw: list[bool]
    pieces: list[Buffer]
    frame: bytes


def _take_apart(plugin: crush.Plugin, data: bytes) -> _Parts:
    view = memoryview(data)
    token = crush.CancelToken()
    level = plugin.metadata.default_level
    blocks = [view[i : i + DEFAULT_BLOCK_SIZE] for i in range(0, len(view), DEFAULT_BLOCK_SIZE)]
    made = crush.compress(data, plugin=plugin.name, threads=1)
    src = frame.BytesSource(made)
    header = frame.read_header(src)
    payloads: list[bytes] = []
    raw: list[bool] = []
    pieces: list[Buffer] = [bytes(made[: header.size])]
    while True:
        record = frame.read_record(src, header)
        if isinstance(record, frame.EndRecord):
            break
        raw.append(record.raw)
        # A raw block's payload is the content; the plugin's (unused) output stands in.
        payload = record.payload if not record.raw else \
            plugin.compress(blocks[len(raw) - 1], level, token)
        payloads.append(bytes(payload))
        pieces += [bytes(made[record.offset : record.offset + frame_v2.RECORD_SIZE]),
                   record.payload]
    pieces.append(bytes(made[src.tell() - frame_v2.footer_size(len(raw)) :]))
    return _Parts(blocks, payloads, raw, pieces, made)


def _steps(plugin: crush.Plugin, raw: _Raw, data: bytes, parts: _Parts, op: str
           ) -> dict[str, Callable[[], object]]:
    """Return the timed calls for *op*: raw, crush, then the breakdown steps."""
    token = crush.CancelToken()
    level = plugin.metadata.default_level
    name = plugin.name
    sizes = [len(b) for b in parts.blocks]
    one_shot = raw.compress(data)

    def framing_c() -> object:
        head = frame.encode_header(plugin.plugin_id, DEFAULT_BLOCK_SIZE, version=frame.VERSION)
        index = frame_v2.IndexWriter(len(head))
        out = [head]
        crc = 0
        for size, payload, is_raw in zip(sizes, parts.payloads, parts.raw, strict=True):
            out.append(index.record(is_raw, size, payload, 0))
            crc = frame.crc32_combine(crc, 0x1234, size)
        out.append(index.footer(len(data), crc))
        return out

    def framing_d() -> object:
        src = frame.BytesSource(parts.frame)
        header = frame.read_header(src)
        crc = 0
        while not isinstance(record := frame.read_record(src, header), frame.EndRecord):
            crc = frame.crc32_combine(crc, record.crc, record.size)
        return crc

    if op == "compress":
        return {
            "raw": lambda: raw.compress(data),
            "crush": lambda: crush.compress(data, plugin=name, threads=1),
            "per-block codec": lambda: [plugin.compress(b, level, token) for b in parts.blocks],
            "crc32": lambda: [crc32(b) for b in parts.blocks],
            "framing": framing_c,
            "join": lambda: b"".join(parts.pieces),
        }
    outputs = [bytes(b) for b in parts.blocks]
    return {
        "raw": lambda: raw.decompress(one_shot, len(data)),
        "crush": lambda: crush.decompress(parts.frame, threads=1),
        "per-block codec": lambda: [
            plugin.decompress(p, s, token)
            for p, s, r in zip(parts.payloads, sizes, parts.raw, strict=True) if not r
        ],
        "crc32": lambda: [crc32(b) for b in outputs],
        "framing": framing_d,
        "join": lambda: b"".join(outputs),
    }


def _time(steps: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Return the median ms of each step, the steps alternating in every run."""
    samples: dict[str, list[float]] = {k: [] for k in steps}
    for fn in steps.values():
        fn()  # warm-up
    with quiet_gc():
        for _ in range(runs):
            for key, fn in steps.items():
                start = time.perf_counter()
                fn()
                samples[key].append((time.perf_counter() - start) * 1000)
    return {k: median(v) for k, v in samples.items()}


def _row(raw: _Raw, op: str, ms: dict[str, float], parts: _Parts, *, runs: int,
         one_shot: int) -> Row:
    overhead = 100 * (ms["crush"] / ms["raw"] - 1)
    own = ms["crc32"] + ms["framing"] + ms["join"]
    return {
        "plugin": raw.plugin,
        "op": op,
        "MiB": raw.size / MIB,
        "runs": runs,
        "raw call": raw.call if op == "compress" else "one-shot decompress",
        "raw ms": ms["raw"],
        "crush ms": ms["crush"],
        "raw MB/s": raw.size / ms["raw"] / 1e3,
        "crush MB/s": raw.size / ms["crush"] / 1e3,
        "overhead %": overhead,
        "goal": f"≤ {GOAL_PCT:g} %",
        "met": overhead <= GOAL_PCT,
        "per-block codec ms": ms["per-block codec"],
        "crc32 ms": ms["crc32"],
        "framing ms": ms["framing"],
        "join ms": ms["join"],
        "rest ms": ms["crush"] - ms["per-block codec"] - own,
        "crush own % of raw": 100 * own / ms["raw"],
        "raw blocks": sum(parts.raw),
        "size crush/raw": len(parts.frame) / one_shot,
    }


def rows(quick: bool) -> tuple[list[Row], list[str]]:
    """Return the rows and notes of this benchmark."""
    runs = 3 if quick else 5
    compiled = {p.name for p in crush.list_plugins()}
    out: list[Row] = []
    notes: list[str] = []
    for raw in _raw_codecs():
        if raw.plugin not in compiled:
            notes.append(f"{raw.plugin}: not compiled in, skipped")
            continue
        plugin = crush.get_plugin(raw.plugin)
        data = corpus(raw.size)
        parts = _take_apart(plugin, data)
        one_shot = len(raw.compress(data))
        for op in ("compress", "decompress"):
            ms = _time(_steps(plugin, raw, data, parts, op), runs)
            out.append(_row(raw, op, ms, parts, runs=runs, one_shot=one_shot))
    notes += [
        "overhead = crush ms / raw ms - 1 (medians, alternating runs, GC off, threads=1, "
        "default timeout armed); data: tools/corpus.py mix repeated (10 % random bytes, "
        "which crush stores raw: 'raw blocks')",
        "per-block codec = the plugin method on each 1 MiB block (what blocking changes "
        "against one call on the whole buffer); crc32 = crush.checksum.crc32 (zlib-ng) over "
        "every block; framing = header, block records, end marker and crc32_combine (encode "
        "for compress, parse for decompress); join = b''.join of the pieces, the one copy into "
        "the result; rest = crush - per-block codec - crc32 - framing - join (execution "
        "machinery, slicing); 'crush own % of raw' = (crc32 + framing + join) / raw",
    ]
    return out, notes


def _run(ctx: Context) -> list[Row]:
    found, notes = rows(ctx.quick)
    for text in notes:
        ctx.note(text)
    return found


BENCHMARK: Final = Benchmark(name="overhead", title=TITLE, goal=GOAL, run=_run)
"""The suite's entry: registered in ``tools/bench/__main__.py``'s BENCHMARKS."""


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone and print its table."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.overhead", description=TITLE)
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 5")
    args = parser.parse_args(argv)
    found, notes = rows(args.quick)
    print(table(found))
    for text in notes:
        print(f"\n- {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
