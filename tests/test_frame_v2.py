"""Frame v2 (docs/FORMAT.md, "Version 2"): records, the footer, the seek table, lying footers."""

from __future__ import annotations

import contextlib
import io
import re
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush import frame
from crush import frame_v2
from tools import make_golden

FORMAT_MD = Path(__file__).resolve().parent.parent / "docs" / "FORMAT.md"
TEXT = b"".join(b"line %d of the v2 test text, fairly compressible\n" % i for i in range(400))


class CountingFile(io.RawIOBase):
    """A seekable file over bytes that counts the bytes handed out by read()."""

    def __init__(self, fp: Any) -> None:
        self._fp = fp
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._fp.seek(offset, whence))

    def tell(self) -> int:
        return int(self._fp.tell())

    def readinto(self, buffer: Any) -> int:
        data = self._fp.read(len(buffer))
        buffer[: len(data)] = data
        self.read_bytes += len(data)
        return len(data)


class Unseekable(io.RawIOBase):
    """A pipe-like file: no seek, no tell."""

    def __init__(self, data: bytes) -> None:
        self._fp = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._fp.read(min(len(buffer), 777))
        buffer[: len(data)] = data
        return len(data)


def _footer(blob: bytes) -> tuple[int, int]:
    """Return (block count, frame size) of the frame ending *blob*."""
    found = frame_v2.parse_trailer(blob[-frame_v2.TRAILER_SIZE :])
    assert found is not None
    return found


def _refooter(blob: bytes, footer: bytes) -> bytes:
    """Replace *blob*'s footer with *footer* (whose CRC32 is recomputed): a lying footer."""
    count, _ = _footer(blob)
    body = footer[:-8]
    return blob[: -frame_v2.footer_size(count)] + body + struct.pack(
        "<I", zlib.crc32(body)) + frame_v2.FOOTER_MAGIC


def _footer_of(blob: bytes) -> bytearray:
    count, _ = _footer(blob)
    return bytearray(blob[-frame_v2.footer_size(count) :])


# --- layout and the worked example -----------------------------------------------------------


def test_v2_constants_match_format_md() -> None:
    assert (frame_v2.VERSION, frame_v2.RECORD_SIZE, frame_v2.ENTRY_SIZE) == (2, 17, 12)
    assert (frame_v2.TRAILER_SIZE, frame_v2.MIN_FOOTER_SIZE) == (36, 45)
    assert frame_v2.FOOTER_MAGIC == b"CRIX"


def _format_md_v2_example() -> bytes:
    text = FORMAT_MD.read_text(encoding="utf-8")
    blocks = re.findall(r"^```crush-hexdump-v2\n(.*?)^```$", text, flags=re.M | re.S)
    assert len(blocks) == 1, "docs/FORMAT.md needs exactly one ```crush-hexdump-v2 block"
    out = bytearray()
    for line in blocks[0].splitlines():
        if line.startswith("0x"):
            offset, hex_bytes, _ = (part.strip() for part in line.split("|", 2))
            assert int(offset, 16) == len(out), f"FORMAT.md v2 dump: offset {offset} skips"
            out += bytes.fromhex(hex_bytes)
    return bytes(out)


def test_format_md_v2_example_is_what_crush_writes() -> None:
    documented = _format_md_v2_example()
    assert crush.decompress(documented) == make_golden.EXAMPLE_CONTENT
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    if documented[0x31:0x3B] != co.compress(b"hello hello hell") + co.flush():
        pytest.skip(f"this zlib ({zlib.ZLIB_RUNTIME_VERSION}) makes other DEFLATE bytes")
    # The example is made with the standard library's zlib forced (what a
    # reader can reproduce with Python alone), not the accelerated backend.
    produced = make_golden.example_frame()
    assert produced.hex(" ") == documented.hex(" "), (
        "docs/FORMAT.md's v2 example drifted from crush; regenerate it with "
        "`.venv/bin/python tools/make_golden.py --format-example`")


def test_format_md_v2_states_the_example_checks() -> None:
    blob = _format_md_v2_example()
    assert len(blob) == 152
    assert zlib.crc32(blob[0x20:0x2D] + blob[0x31:0x3B]) == 0x5A8462F1
    assert zlib.crc32(blob[0x3B:0x48] + blob[0x4C:0x53]) == 0xFE8346EA
    assert zlib.crc32(blob[0x53:0x90]) == 0x2C08F03F
    assert _footer(blob) == (2, 152)
    assert [e.offset for e in crush.read_index(blob)] == [0x20, 0x3B]


# --- round trips and the index ---------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000) | st.sampled_from([TEXT[:2000], bytes(2500)]),
       block_size=st.integers(1, 700),
       plugin=st.sampled_from([p.name for p in crush.list_plugins()]))
def test_v2_round_trips_and_indexes_every_block(data: bytes, block_size: int, plugin: str) -> None:
    blob = crush.compress(data, plugin=plugin, block_size=block_size, threads=1)
    assert blob[2] == 2
    assert crush.decompress(blob) == data
    index = crush.read_index(blob)
    assert (index.size, index.compressed_size) == (len(data), len(blob))
    assert len(index) == -(-len(data) // block_size)
    for number, entry in enumerate(index):
        header = index.frames[0].header
        src = frame.BytesSource(blob)
        src.read_exact(entry.offset, "skip")
        record = frame_v2.read_record(src, header)
        assert isinstance(record, frame.BlockRecord)
        assert (record.size, len(record.payload), record.crc, record.raw) == (
            entry.size, entry.stored_size, entry.crc, entry.raw)
        assert entry.content_offset == number * block_size
        assert index.find(entry.content_offset) == entry
        assert index.find(entry.content_offset + entry.size - 1) == entry
    assert index.find(len(data)) is None


def test_read_index_of_a_file_reads_header_and_footer_only() -> None:
    data = TEXT * 20
    blob = crush.compress(data, plugin="zstd", block_size=1000)
    counting = CountingFile(io.BytesIO(blob))
    index = crush.read_index(counting)
    count, _ = _footer(blob)
    assert index.size == len(data) and len(index) == count
    # One read of the last 64 KiB (here the whole file) and one of the header.
    assert counting.read_bytes <= len(blob) + 4123


def test_every_frame_of_a_concatenation_is_found_from_its_footer() -> None:
    parts = [crush.compress(TEXT[:5000], plugin="zstd", block_size=700),
             make_golden.compress(TEXT[:3000], "deflate", 500, version=1),
             crush.compress(b"", plugin="lz4"),
             crush.compress(TEXT, plugin="lz4", block_size=4096)]
    blob = b"".join(parts)
    index = crush.read_index(blob)
    starts = [sum(len(p) for p in parts[:i]) for i in range(len(parts))]
    assert [f.offset for f in index.frames] == starts
    assert [f.size for f in index.frames] == [len(p) for p in parts]
    assert [f.header.version for f in index.frames] == [2, 1, 2, 2]
    assert index.size == 5000 + 3000 + len(TEXT)
    assert crush.decompress(blob) == TEXT[:5000] + TEXT[:3000] + TEXT
    whole = TEXT[:5000] + TEXT[:3000] + TEXT
    for offset in (0, 4999, 5000, 7999, 8000, len(whole) - 1):
        entry = index.find(offset)
        assert entry is not None
        assert entry.content_offset <= offset < entry.content_offset + entry.size
    with crush.open(io.BytesIO(blob)) as f:
        for offset in (7000, 100, len(whole) - 10, 5001):
            f.seek(offset)
            assert f.read(50) == whole[offset : offset + 50]


def test_unseekable_stream_decodes_v2_without_the_footer() -> None:
    blob = crush.compress(TEXT, plugin="deflate", block_size=1000)
    with crush.open(Unseekable(blob + blob)) as f:
        assert f.read() == TEXT + TEXT
    out = io.BytesIO()
    crush.decompress_stream(Unseekable(blob), out)
    assert out.getvalue() == TEXT


def test_open_seeks_through_the_footer() -> None:
    data = TEXT * 10
    blob = crush.compress(data, plugin="zstd", block_size=1000)
    counting = CountingFile(io.BytesIO(blob))
    with crush.open(counting, threads=1) as f:
        f.seek(len(data) - 5000)
        counting.read_bytes = 0
        f.seek(len(data) // 2)
        assert f.read(100) == data[len(data) // 2 : len(data) // 2 + 100]
        # The table is already built: one block's record (plus read-ahead).
        assert counting.read_bytes < 64 << 10
        assert f.seek(0, io.SEEK_END) == len(data)


# --- lying and damaged footers ---------------------------------------------------------------


def test_footer_lying_about_the_frame_size_is_caught() -> None:
    blob = crush.compress(TEXT, plugin="deflate", block_size=1000)
    footer = _footer_of(blob)
    struct.pack_into("<Q", footer, len(footer) - 16, len(blob) - 1)
    lying = _refooter(blob, bytes(footer))
    with pytest.raises(crush.CorruptFrameError):
        crush.decompress(lying)
    with pytest.raises(crush.CorruptFrameError):
        crush.read_index(lying)


def test_footer_lying_about_the_total_is_caught() -> None:
    blob = crush.compress(TEXT, plugin="deflate", block_size=1000)
    footer = _footer_of(blob)
    struct.pack_into("<Q", footer, len(footer) - 36, len(TEXT) + 1000)
    lying = _refooter(blob, bytes(footer))
    for call in (crush.decompress, crush.read_index, crush.inspect):
        with pytest.raises(crush.CorruptFrameError):
            call(lying)


def test_footer_with_swapped_entries_never_yields_wrong_data() -> None:
    # A footer forged to be self-consistent (sums and CRC32 right) but listing
    # the blocks in the wrong order: the index is used, the blocks are not trusted.
    data = TEXT[:3000] + bytes(3000)
    blob = crush.compress(data, plugin="zstd", block_size=1000)
    footer = _footer_of(blob)
    first, fourth = 9, 9 + 3 * 12
    footer[first : first + 12], footer[fourth : fourth + 12] = (
        footer[fourth : fourth + 12], footer[first : first + 12])
    lying = _refooter(blob, bytes(footer))
    with pytest.raises(crush.CorruptFrameError):
        crush.decompress(lying)
    with crush.open(io.BytesIO(lying), threads=1) as f, pytest.raises(crush.CrushError):
        f.seek(3500)
        f.read(100)


@pytest.mark.parametrize("count", [1 << 40, (1 << 64) - 1, 10**9])
def test_footer_declaring_huge_counts_is_never_allocated(count: int) -> None:
    blob = crush.compress(TEXT, plugin="deflate", block_size=1000)
    footer = _footer_of(blob)
    struct.pack_into("<Q", footer, 1, count)
    struct.pack_into("<Q", footer, len(footer) - 24, count)
    lying = _refooter(blob, bytes(footer))
    tracemalloc.start()
    try:
        for call in (crush.decompress, crush.read_index, crush.inspect):
            with pytest.raises(crush.CrushError):
                call(lying)
        with pytest.raises(crush.CrushError):
            crush.decompress_stream(io.BytesIO(lying), io.BytesIO())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_footer_entry_over_the_block_size_is_refused() -> None:
    blob = crush.compress(TEXT, plugin="deflate", block_size=1000)
    header = frame.read_header(frame.BytesSource(blob))
    footer = bytearray(_footer_of(blob))
    struct.pack_into("<I", footer, 9, 1001)
    forged = bytes(footer[:-8]) + struct.pack("<I", zlib.crc32(footer[:-8])) + b"CRIX"
    with pytest.raises(crush.CorruptFrameError, match="block size"):
        frame_v2.parse_footer(forged, header, 0)


def test_record_crc_catches_a_change_the_codec_ignores() -> None:
    # bz2 ignores its block-size digit on decode: v1 decoded this silently.
    blob = bytearray(crush.compress(TEXT, plugin="bz2", block_size=4000))
    first = crush.read_index(bytes(blob))[0]
    payload = first.offset + first.record_size
    assert blob[payload : payload + 3] == b"BZh"
    blob[payload + 3] ^= 0x01
    with pytest.raises(crush.CorruptFrameError, match="record CRC32"):
        crush.decompress(bytes(blob))


# --- inspect at scale: O(1) reads, bounded memory ---------------------------------------------

GIB_BLOCKS = 1 << 20  # 1 GiB of content in 1 KiB blocks


def _big_frame(path: Path) -> int:
    """Write a v2 frame of 1 GiB of zeros in 1 KiB blocks, built from the spec; return its size.

    Every block is the same zstd output, so the file is built by repetition
    (seconds) instead of compressing 1 GiB; the footer is encoded here from
    docs/FORMAT.md, independently of crush's encoder.
    """
    plugin = crush.get_plugin("zstd")
    block = bytes(1024)
    payload = plugin.compress(block, 3, crush.CancelToken())
    crc = zlib.crc32(block)
    head = frame.encode_header(plugin.plugin_id, 1024, version=2)
    fields = struct.pack("<BIII", 1, 1024, len(payload), crc)
    record = fields + struct.pack("<I", zlib.crc32(fields + payload)) + payload
    entry = struct.pack("<III", 1024, len(payload), crc)
    content_crc = zlib.crc32(bytes(1 << 20))
    for _ in range(10):  # 2^20 zero bytes -> 2^30: double ten times
        content_crc = frame.crc32_combine(content_crc, content_crc, 1 << (20 + _))
    size = len(head) + GIB_BLOCKS * len(record) + 45 + 12 * GIB_BLOCKS
    with path.open("wb") as f:
        f.write(head)
        chunk = record * 4096
        for _ in range(GIB_BLOCKS // 4096):
            f.write(chunk)
        body = struct.pack("<BQ", 0, GIB_BLOCKS) + entry * GIB_BLOCKS + struct.pack(
            "<QIQQ", 1 << 30, content_crc, GIB_BLOCKS, size)
        f.write(body + struct.pack("<I", zlib.crc32(body)) + b"CRIX")
    assert path.stat().st_size == size
    return size


@pytest.fixture(scope="module")
def big_frame(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "gib.crush"
    _big_frame(path)
    return path


def test_inspect_of_1_gib_reads_only_header_and_footer(big_frame: Path) -> None:
    with big_frame.open("rb") as raw:
        counting = CountingFile(raw)
        report = crush.inspect(counting)
    (found,) = report.frames
    assert (found.original_size, found.blocks, found.block_size) == (1 << 30, GIB_BLOCKS, 1024)
    footer = 45 + 12 * GIB_BLOCKS
    # The magic sniffed for a standard format (8 bytes), the header (at most
    # 4123 bytes), the footer, and one 64 KiB guess read before the footer.
    assert counting.read_bytes <= 8 + 4123 + footer + (64 << 10)


def test_inspect_of_1_gib_stays_under_64_mib(big_frame: Path) -> None:
    code = (
        "import sys, crush\n"
        "for way in ('file', 'mmap'):\n"
        "    if way == 'file':\n"
        "        with open(sys.argv[1], 'rb') as f:\n"
        "            report = crush.inspect(f)\n"
        "    else:\n"
        "        import mmap\n"
        "        with open(sys.argv[1], 'rb') as f, mmap.mmap(f.fileno(), 0, "
        "access=mmap.ACCESS_READ) as m:\n"
        "            report = crush.inspect(memoryview(m))\n"
        "            del report\n"
        "            report = None\n"
        # VmHWM is this process's own peak: ru_maxrss would include the
        # parent's memory inherited across fork and exec.
        "print(next(int(line.split()[1]) for line in open('/proc/self/status')\n"
        "           if line.startswith('VmHWM:')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(big_frame)], capture_output=True,
                          check=True, timeout=300)
    rss_kib = int(proc.stdout)
    assert rss_kib < 64 << 10, f"inspect peaked at {rss_kib} KiB"


def test_cli_inspect_of_1_gib_stays_under_64_mib(big_frame: Path) -> None:
    # The CLI maps the file and formats only the block CRC32s it prints.
    code = (
        "import contextlib, io, sys\n"
        "from crush.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    status = main(['inspect', sys.argv[1]])\n"
        "assert status == 0 and '1048576 blocks' in out.getvalue(), out.getvalue()\n"
        "print(next(int(line.split()[1]) for line in open('/proc/self/status')\n"
        "           if line.startswith('VmHWM:')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(big_frame)], capture_output=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    rss_kib = int(proc.stdout)
    assert rss_kib < 64 << 10, f"crush inspect peaked at {rss_kib} KiB"


# --- fuzzing ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200), block_size=st.integers(1, 1 << 20))
def test_read_record_v2_random_bytes_raise_only_format_errors(data: bytes,
                                                              block_size: int) -> None:
    header = frame.read_header(frame.BytesSource(frame.encode_header(0, block_size, version=2)))
    src = frame.BytesSource(data)
    try:
        while not src.at_eof():
            if isinstance(frame_v2.read_record(src, header, frame_v2.Tally(13)), frame.EndRecord):
                break
    except crush.FormatError:
        pass


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(min_size=1, max_size=120), cut=st.integers(0, 400))
def test_random_footers_raise_only_crush_errors(tail: bytes, cut: int) -> None:
    # A real frame with its footer's end replaced by random bytes ending in the magic.
    blob = crush.compress(TEXT[:3000], plugin="lz4", block_size=512)
    forged = blob[: max(13, len(blob) - cut)] + tail + frame_v2.FOOTER_MAGIC
    for call in (crush.read_index, crush.inspect, crush.decompress):
        with contextlib.suppress(crush.CrushError):
            call(forged)


def test_read_index_of_an_unseekable_file_walks_it() -> None:
    parts = [crush.compress(TEXT[:5000], plugin="zstd", block_size=700),
             make_golden.compress(TEXT[:3000], "deflate", 500, version=1)]
    blob = b"".join(parts)
    walked = crush.read_index(Unseekable(blob))
    assert [f.size for f in walked.frames] == [len(p) for p in parts]
    assert walked.size == 8000 and walked.compressed_size == len(blob)
    assert list(walked) == list(crush.read_index(blob))
    assert crush.inspect(Unseekable(blob)) == crush.inspect(blob)
    with pytest.raises(crush.TruncatedFrameError):
        crush.read_index(Unseekable(blob[:-1]))
