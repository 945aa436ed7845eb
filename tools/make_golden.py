"""Write the golden crush frames that tests/test_golden.py decodes on every run.

Run from the repository root::

    .venv/bin/python tools/make_golden.py            # (re)write tests/golden/v2/
    .venv/bin/python tools/make_golden.py --out DIR  # write elsewhere, e.g. to diff
    .venv/bin/python tools/make_golden.py --version 1 --out tests/golden  # the v1 files
    .venv/bin/python tools/make_golden.py --format-example [--version 1]  # FORMAT.md's dumps

It writes a deterministic input (``input.bin``: text, a random segment and
binary records, from a fixed seed), one ``<plugin>.crush`` per compiled-in
plugin with several blocks (at least one stored raw), ``fileinfo.crush``
(stored name, mtime and mode), ``concat.crush`` (two frames by two plugins),
``empty.crush`` (no blocks) and ``manifest.json`` (sha256 of every file and
the facts the tests expect). Golden files are written only by this tool,
never by a test run: regenerate them only when a format change is intended,
and say so in the commit. The v1 files (tests/golden/) were made by crush
when it wrote v1 and stay as they are; crush still writes v1 on request
(``--version 1``), so the tool can show they are unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import struct
import sys
import zlib
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from typing import TypedDict

REPO: Final = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    # Run as `python tools/make_golden.py`: make the checkout's crush importable.
    sys.path.insert(0, str(REPO))

import crush  # noqa: E402 - needs the checkout on sys.path (above)
from crush import engine  # noqa: E402 - as above
from crush import frame  # noqa: E402 - as above
from crush import frame_v2  # noqa: E402 - as above
from crush.options import options  # noqa: E402 - as above

GOLDEN_DIR: Final = REPO / "tests" / "golden"
"""The v1 golden files; each later version has a subdirectory (v2/)."""
INPUT_NAME: Final = "input.bin"
MANIFEST_NAME: Final = "manifest.json"
SEED: Final = 0xC0FFEE
BLOCK_SIZE: Final = 512
"""Small, so every golden frame holds about a dozen blocks."""

FILEINFO: Final = crush.FileInfo(
    name="données.bin", mtime_ns=1_700_000_000_123_456_789, mode=0o640
)
"""Metadata stored in fileinfo.crush: a non-ASCII name pins the UTF-8 encoding."""

_WORDS: Final = (
    "the", "frame", "block", "record", "header", "magic", "version", "plugin", "flags", "size",
    "stored", "raw", "compressed", "checksum", "crc", "end", "marker", "content", "stream",
    "codec", "deflate", "zstd", "lz4", "brotli", "lzma", "bz2", "golden", "file", "test",
    "decode", "encode", "byte", "offset", "limit",
)


class InfoFacts(TypedDict):
    """The FileInfo a golden frame stores (JSON form)."""

    name: str | None
    mtime_ns: int | None
    mode: int | None


class FrameFacts(TypedDict):
    """What crush.inspect must report for one frame of a golden file."""

    plugin: str
    plugin_id: int
    block_size: int
    blocks: int
    raw_blocks: int
    original_size: int
    compressed_size: int
    content_crc: int
    info: InfoFacts


class FileEntry(TypedDict):
    """One golden file: its own hash and size, its content's, and its frames."""

    sha256: str
    size: int
    content_size: int
    content_sha256: str
    frames: list[FrameFacts]


class InputEntry(TypedDict):
    """The input every non-empty golden file decodes to."""

    file: str
    size: int
    sha256: str


class Manifest(TypedDict):
    """Contents of tests/golden/manifest.json."""

    format_version: int
    generator: str
    input: InputEntry
    files: dict[str, FileEntry]


def make_input() -> bytes:
    """Return the golden input: about 5.6 KiB of text, random bytes and binary records.

    The random segment covers two whole blocks, so every codec stores at
    least one block raw; the text and the records compress well.
    """
    rng = random.Random(SEED)
    text = bytearray()
    while len(text) < 5 * BLOCK_SIZE:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 12))]
        text += " ".join(words).encode("ascii") + b".\n"
    noise = rng.randbytes(2 * BLOCK_SIZE)
    records = b"".join(
        struct.pack("<IHh", i, rng.randrange(1000), -i) for i in range(250)
    )
    tail = "end of the golden input: ünïcödé ✓\n".encode()
    return bytes(text[: 5 * BLOCK_SIZE]) + noise + records + tail


def compress(data: bytes, plugin: str, block_size: int, *, version: int = frame.VERSION,
             file_info: crush.FileInfo | None = None,
             registry: crush.Registry | None = None) -> bytes:
    """Return the frame of format *version* that crush writes for *data* (one thread)."""
    opts = options(registry, 1, None, None)
    compressor = engine.Compressor(opts.registry.get(plugin), None, opts, block_size=block_size,
                                   info=file_info, version=version)
    try:
        parts = [part for start in range(0, len(data), block_size)
                 for part in compressor.feed(data[start : start + block_size])]
        return b"".join(bytes(p) for p in parts + compressor.finish())
    finally:
        compressor.close()


def make_frames(data: bytes, version: int = frame.VERSION) -> dict[str, bytes]:
    """Return every golden file name mapped to its frame bytes, all made from *data*."""
    files = {
        f"{plugin.name}.crush": compress(data, plugin.name, BLOCK_SIZE, version=version)
        for plugin in crush.list_plugins()
    }
    files["fileinfo.crush"] = compress(data, "deflate", BLOCK_SIZE, version=version,
                                       file_info=FILEINFO)
    half = len(data) // 2
    files["concat.crush"] = compress(
        data[:half], "deflate", BLOCK_SIZE, version=version
    ) + compress(data[half:], "lzma", 2 * BLOCK_SIZE, version=version)
    files["empty.crush"] = compress(b"", "deflate", 1 << 20, version=version)
    return files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def describe(blob: bytes) -> FileEntry:
    """Return the manifest entry for *blob*: hashes, sizes and inspect() facts per frame."""
    content = crush.decompress(blob, threads=1)
    frames: list[FrameFacts] = []
    for report in crush.inspect(blob).frames:
        if report.plugin is None:
            raise SystemExit(f"plugin id 0x{report.plugin_id:02x} has no name")
        frames.append(
            FrameFacts(
                plugin=report.plugin,
                plugin_id=report.plugin_id,
                block_size=report.block_size,
                blocks=report.blocks,
                raw_blocks=report.raw_blocks,
                original_size=report.original_size,
                compressed_size=report.compressed_size,
                content_crc=report.content_crc,
                info=InfoFacts(
                    name=report.info.name,
                    mtime_ns=report.info.mtime_ns,
                    mode=report.info.mode,
                ),
            )
        )
    return FileEntry(
        sha256=_sha256(blob),
        size=len(blob),
        content_size=len(content),
        content_sha256=_sha256(content),
        frames=frames,
    )


def write(out: Path, version: int = frame.VERSION) -> Manifest:
    """Write the input, every golden frame and the manifest into *out*; return the manifest."""
    data = make_input()
    files = make_frames(data, version)
    manifest = Manifest(
        format_version=version,
        generator="tools/make_golden.py",
        input=InputEntry(file=INPUT_NAME, size=len(data), sha256=_sha256(data)),
        files={name: describe(blob) for name, blob in sorted(files.items())},
    )
    for name, entry in manifest["files"].items():
        if entry["content_sha256"] not in (manifest["input"]["sha256"], _sha256(b"")):
            raise SystemExit(f"{name} does not decode to the input")
    out.mkdir(parents=True, exist_ok=True)
    (out / INPUT_NAME).write_bytes(data)
    for name, blob in files.items():
        (out / name).write_bytes(blob)
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (out / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return manifest


# The worked example of docs/FORMAT.md; tests/test_frame.py repeats this call.
EXAMPLE_CONTENT: Final = b"hello hello hello hello"
EXAMPLE_INFO: Final = crush.FileInfo(name="a.txt", mtime_ns=1_700_000_000_123_456_789, mode=0o644)


def example_frame(version: int = frame.VERSION) -> bytes:
    """Return the frame of FORMAT.md's worked example for *version*, as crush makes it today.

    The deflate backend is forced to the standard library's zlib, whose
    bytes a reader can reproduce with Python alone.
    """
    from crush.plugins.deflate import DeflatePlugin

    registry = crush.Registry([DeflatePlugin(backend="zlib")], default="deflate")
    return compress(EXAMPLE_CONTENT, "deflate", 16, version=version, file_info=EXAMPLE_INFO,
                    registry=registry)


def _dump_lines(blob: bytes) -> list[tuple[int, bytes, str]]:
    """Split *blob* into (offset, bytes, annotation) rows, one per field."""
    rows: list[tuple[int, bytes, str]] = []

    def field(start: int, length: int, note: str) -> int:
        rows.append((start, blob[start : start + length], note))
        return start + length

    src = frame.BytesSource(blob)
    header = frame.read_header(src)
    plugin = crush.plugin_for_id(header.plugin_id).name
    pos = _dump_header(field, blob, header, plugin)
    content = crush.decompress(blob, threads=1)
    done = number = 0
    blocks: list[frame.BlockRecord] = []
    while True:
        record = frame.read_record(src, header)
        if isinstance(record, frame.EndRecord):
            if header.version == 1:
                pos = field(pos, 1, "end marker: kind 0")
                pos = field(pos, 8, f"total content size {record.total_size} (u64 LE)")
                pos = field(pos, 4, f"content CRC32 0x{record.crc:08x}")
            else:
                pos = _dump_footer(field, pos, blob, blocks, record)
            break
        blocks.append(record)
        number += 1
        kind = "2 (raw)" if record.raw else "1 (compressed)"
        block = content[done : done + record.size]
        done += record.size
        pos = field(pos, 1, f"block {number}: kind {kind}")
        pos = field(pos, 4, f"size {record.size} (u32 LE)")
        pos = field(pos, 4, f"stored size {len(record.payload)} (u32 LE)")
        pos = field(pos, 4, f"CRC32 0x{record.crc:08x} of {block.decode()!r}")
        if header.version != 1:
            record_crc = struct.unpack_from("<I", blob, pos)[0]
            pos = field(pos, 4, f"record CRC32 0x{record_crc:08x} of bytes "
                                f"0x{pos - 13:04x}-0x{pos - 1:04x} and the stored bytes")
        what = "the block itself" if record.raw else f"{plugin} output"
        pos = field(pos, len(record.payload), f"{len(record.payload)} stored bytes: {what}")
    if pos != len(blob):
        raise SystemExit(f"annotated {pos} of {len(blob)} bytes")
    return rows


def _dump_header(field: Callable[[int, int, str], int], blob: bytes,
                 header: frame.FrameHeader, plugin: str) -> int:
    """Annotate the header of *blob*; return the offset after it."""
    info = header.info
    pos = field(0, 2, 'magic "CR"')
    pos = field(pos, 1, f"format version {header.version}")
    pos = field(pos, 1, f"plugin id 0x{header.plugin_id:02x} ({plugin})")
    flags = blob[pos]
    names = [n for bit, n in ((1, "name"), (2, "mtime"), (4, "mode")) if flags & bit]
    pos = field(pos, 1, f"flags 0x{flags:02x}: {' + '.join(names) or 'none'}")
    pos = field(pos, 4, f"block size {header.block_size} (u32 LE)")
    if info.name is not None:
        raw_name = info.name.encode("utf-8", "surrogateescape")
        pos = field(pos, 2, f"name length {len(raw_name)} (u16 LE)")
        pos = field(pos, len(raw_name), f"name {info.name!r} (UTF-8)")
    if info.mtime_ns is not None:
        pos = field(pos, 8, f"mtime_ns {info.mtime_ns} (i64 LE)")
    if info.mode is not None:
        pos = field(pos, 4, f"mode 0o{info.mode:o} (u32 LE)")
    crc = zlib.crc32(blob[:pos])
    return field(pos, 4, f"header CRC32 0x{crc:08x} of bytes 0x0000-0x{pos - 1:04x}")


def _dump_footer(field: Callable[[int, int, str], int], pos: int, blob: bytes,
                 blocks: list[frame.BlockRecord], end: frame.EndRecord) -> int:
    """Annotate a v2 footer starting at *pos*; return the offset after it."""
    start = pos
    pos = field(pos, 1, "footer: kind 0 (end marker)")
    pos = field(pos, 8, f"block count {len(blocks)} (u64 LE)")
    for number, record in enumerate(blocks, 1):
        pos = field(pos, 4, f"index {number}: size {record.size} (u32 LE)")
        pos = field(pos, 4, f"index {number}: stored size {len(record.payload)} (u32 LE)")
        pos = field(pos, 4, f"index {number}: CRC32 0x{record.crc:08x}")
    pos = field(pos, 8, f"trailer: total content size {end.total_size} (u64 LE)")
    pos = field(pos, 4, f"trailer: content CRC32 0x{end.crc:08x}")
    pos = field(pos, 8, f"trailer: block count {len(blocks)} (u64 LE)")
    pos = field(pos, 8, f"trailer: frame size {len(blob)} (u64 LE)")
    footer_crc = struct.unpack_from("<I", blob, pos)[0]
    pos = field(pos, 4, f"trailer: footer CRC32 0x{footer_crc:08x} of bytes "
                        f"0x{start:04x}-0x{pos - 1:04x}")
    return field(pos, 4, f"trailer: footer magic {frame_v2.FOOTER_MAGIC.decode()!r}")


def format_example(version: int = frame.VERSION) -> str:
    """Return the annotated hex dump fenced block of *version* that docs/FORMAT.md embeds."""
    fence = "```crush-hexdump" if version == 1 else f"```crush-hexdump-v{version}"
    lines = [fence, f"{'offset':<6} | {'bytes':<47} | field"]
    for offset, chunk, note in _dump_lines(example_frame(version)):
        for i in range(0, len(chunk), 16):
            part = chunk[i : i + 16].hex(" ")
            label = note if i == 0 else "(continued)"
            lines.append(f"0x{offset + i:04x} | {part:<47} | {label}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse *argv* and write the golden files (or print the example); return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=None,
                        help="directory to write (default: tests/golden/v2)")
    parser.add_argument("--version", type=int, choices=frame.VERSIONS, default=frame.VERSION,
                        help=f"frame version to write (default {frame.VERSION})")
    parser.add_argument("--format-example", action="store_true",
                        help="print the annotated hex dump for docs/FORMAT.md and exit")
    args = parser.parse_args(argv)
    if args.format_example:
        sys.stdout.write(format_example(args.version))
        return 0
    out: Path = args.out or (GOLDEN_DIR if args.version == 1 else GOLDEN_DIR / f"v{args.version}")
    manifest = write(out, args.version)
    for name, entry in manifest["files"].items():
        frames = ", ".join(
            f"{f['plugin']} {f['blocks']} blocks ({f['raw_blocks']} raw)" for f in entry["frames"]
        )
        print(f"{out / name}: {entry['size']} bytes, {frames}")
    print(f"{out / MANIFEST_NAME}: input {manifest['input']['size']} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
