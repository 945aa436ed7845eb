"""Tests for crush/frame.py and the frame-level behaviour of decoding (docs/FORMAT.md)."""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush import frame
from crush import frame_v2
from crush.plugins.deflate import DeflatePlugin
from tools import make_golden

FORMAT_MD = Path(__file__).resolve().parent.parent / "docs" / "FORMAT.md"
MAX = frame.MAX_BLOCK_SIZE


def _header(data: bytes) -> frame.FrameHeader:
    return frame.read_header(frame.BytesSource(data))


def _records(blob: bytes) -> tuple[frame.FrameHeader, list[frame.BlockRecord], frame.EndRecord]:
    src = frame.BytesSource(blob)
    header = frame.read_header(src)
    blocks = []
    while True:
        record = frame.read_record(src, header)
        if isinstance(record, frame.EndRecord):
            assert src.at_eof()
            return header, blocks, record
        blocks.append(record)


# --- constants the format document states ---------------------------------------------


def test_constants_match_format_md() -> None:
    assert frame.MAGIC == b"CR"
    assert frame.VERSION == 2
    assert frame.VERSIONS == (1, 2)
    assert frame.PREFIX_SIZE == 9
    assert frame.RECORD_SIZE == 13
    assert frame.MAX_BLOCK_SIZE == 64 * 1024 * 1024 == 67108864
    assert frame.MAX_NAME_LENGTH == 4096
    assert (frame.KIND_END, frame.KIND_COMPRESSED, frame.KIND_RAW) == (0, 1, 2)
    assert (frame.FLAG_NAME, frame.FLAG_MTIME, frame.FLAG_MODE) == (1, 2, 4)


def test_plain_header_is_13_bytes() -> None:
    head = frame.encode_header(0x01, 16)
    assert head[:9] == b"CR\x01\x01\x00\x10\x00\x00\x00"
    assert head[9:] == struct.pack("<I", zlib.crc32(head[:9]))
    assert len(head) == 13


def test_empty_frame_is_header_and_end_marker() -> None:
    blob = make_golden.compress(b"", "deflate", 16, version=1)
    assert blob == frame.encode_header(0, 16) + b"\x00" * 13
    assert len(blob) == 26
    assert crush.decompress(blob) == b""


def test_empty_v2_frame_is_header_and_footer() -> None:
    blob = crush.compress(b"", plugin="deflate", block_size=16)
    head = frame.encode_header(0, 16, version=2)
    assert blob == head + frame_v2.IndexWriter(len(head)).footer(0, 0)
    assert len(blob) == 13 + 45 == 58
    assert crush.decompress(blob) == b""


# --- header round trip -----------------------------------------------------------------

names = st.text(min_size=1, max_size=64).filter(lambda s: len(s.encode("utf-8")) <= 4096)
posix_names = st.binary(min_size=1, max_size=64).map(lambda b: b.decode("utf-8", "surrogateescape"))
infos = st.builds(
    crush.FileInfo,
    name=st.none() | names | posix_names,
    mtime_ns=st.none() | st.integers(-(2**63), 2**63 - 1),
    mode=st.none() | st.integers(0, 0o7777),
)


@given(
    plugin_id=st.integers(0, 255),
    block_size=st.integers(1, MAX),
    info=infos,
    trailer=st.binary(max_size=16),
)
def test_header_round_trips(
    plugin_id: int, block_size: int, info: crush.FileInfo, trailer: bytes
) -> None:
    encoded = frame.encode_header(plugin_id, block_size, info)
    src = frame.BytesSource(encoded + trailer)
    header = frame.read_header(src)
    assert header == frame.FrameHeader(plugin_id, block_size, info, len(encoded))
    assert src.tell() == len(encoded)
    flags = (
        (info.name is not None) * frame.FLAG_NAME
        | (info.mtime_ns is not None) * frame.FLAG_MTIME
        | (info.mode is not None) * frame.FLAG_MODE
    )
    assert encoded[4] == flags
    name = info.name.encode("utf-8", "surrogateescape") if info.name is not None else None
    expected_len = (
        9
        + (2 + len(name) if name is not None else 0)
        + (8 if info.mtime_ns is not None else 0)
        + (4 if info.mode is not None else 0)
        + 4
    )
    assert len(encoded) == expected_len
    assert encoded[-4:] == struct.pack("<I", zlib.crc32(encoded[:-4]))


@pytest.mark.parametrize(
    "info",
    [
        crush.FileInfo(name="x"),
        crush.FileInfo(mtime_ns=-1),
        crush.FileInfo(mode=0o755),
        crush.FileInfo(name="é", mode=0),
        crush.FileInfo(name="n" * 4096, mtime_ns=2**63 - 1, mode=0o7777),
        crush.FileInfo(),
    ],
)
def test_header_round_trips_each_field(info: crush.FileInfo) -> None:
    blob = crush.compress(b"data " * 10, plugin="deflate", file_info=info)
    assert _header(blob).info == info
    assert crush.inspect(blob).frames[0].info == info
    assert crush.decompress(blob) == b"data " * 10


def test_none_info_is_empty_info() -> None:
    assert frame.encode_header(3, 100, None) == frame.encode_header(3, 100, crush.FileInfo())


def test_mode_keeps_permission_bits_only() -> None:
    # os.stat().st_mode may be passed as is: the file-type bits are dropped.
    assert _header(frame.encode_header(0, 1, crush.FileInfo(mode=0o100644))).info.mode == 0o644


# --- encode_header argument validation -------------------------------------------------


@pytest.mark.parametrize(
    ("plugin_id", "block_size", "info"),
    [
        (-1, 1, None),
        (256, 1, None),
        (0, 0, None),
        (0, -5, None),
        (0, MAX + 1, None),
        (0, 1, crush.FileInfo(name="")),
        (0, 1, crush.FileInfo(name="n" * 4097)),
        (0, 1, crush.FileInfo(name="é" * 2049)),  # 4098 bytes of UTF-8
        (0, 1, crush.FileInfo(mtime_ns=2**63)),
        (0, 1, crush.FileInfo(mtime_ns=-(2**63) - 1)),
    ],
)
def test_encode_header_rejects_bad_arguments(
    plugin_id: int, block_size: int, info: crush.FileInfo | None
) -> None:
    with pytest.raises(ValueError):
        frame.encode_header(plugin_id, block_size, info)


@pytest.mark.parametrize(
    "info",
    [
        crush.FileInfo(name=b"a.txt"),  # type: ignore[arg-type]
        crush.FileInfo(name="\ud800"),  # a lone surrogate has no UTF-8 form
        crush.FileInfo(mtime_ns=1.5),  # type: ignore[arg-type]
        crush.FileInfo(mode="644"),  # type: ignore[arg-type]
        "a.txt",
    ],
)
def test_encode_header_rejects_bad_file_info(info: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        frame.encode_header(0, 1, info)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "info",
    [
        crush.FileInfo(name=""),
        crush.FileInfo(name="n" * 4097),
        crush.FileInfo(mtime_ns=2**63),
        crush.FileInfo(mtime_ns=1.5),  # type: ignore[arg-type]
        crush.FileInfo(name=b"a.txt"),  # type: ignore[arg-type]
        crush.FileInfo(name="\ud800"),  # a lone surrogate has no UTF-8 form
        "a.txt",
    ],
)
def test_compress_rejects_bad_file_info_with_config_error(info: object) -> None:
    # Design "Errors": invalid configuration is a crush.ConfigError, never a
    # bare ValueError, struct.error or AttributeError escaping from the frame encoder.
    with pytest.raises(crush.ConfigError):
        crush.compress(b"data", file_info=info)  # type: ignore[arg-type]


def test_encode_header_accepts_the_limits() -> None:
    for plugin_id in (0, 255):
        for block_size in (1, MAX):
            assert _header(frame.encode_header(plugin_id, block_size)).block_size == block_size
    longest = crush.FileInfo(name="é" * 2048)
    assert _header(frame.encode_header(0, 1, longest)).info == longest


# --- records -----------------------------------------------------------------------------


@given(
    raw=st.booleans(),
    size=st.integers(2, 1000),
    data=st.data(),
    crc=st.integers(0, 2**32 - 1),
)
def test_block_record_round_trips(raw: bool, size: int, data: st.DataObject, crc: int) -> None:
    stored = size if raw else data.draw(st.integers(1, size - 1))
    payload = bytes(range(256)) * 4
    header = frame.FrameHeader(0, 1000, crush.FileInfo(), 13)
    blob = frame.encode_block_header(raw, size, stored, crc) + payload[:stored]
    record = frame.read_record(frame.BytesSource(blob), header)
    assert isinstance(record, frame.BlockRecord)
    assert (record.raw, record.size, record.crc, bytes(record.payload)) == (
        raw,
        size,
        crc,
        payload[:stored],
    )


@given(total=st.integers(0, 2**64 - 1), crc=st.integers(0, 2**32 - 1))
def test_end_marker_round_trips(total: int, crc: int) -> None:
    blob = frame.encode_end(total, crc)
    assert len(blob) == 13
    header = frame.FrameHeader(0, 1, crush.FileInfo(), 13)
    record = frame.read_record(frame.BytesSource(blob), header)
    assert record == frame.EndRecord(total, crc, 0)


@pytest.mark.parametrize(
    ("record", "error"),
    [
        (bytes([3]) + bytes(12), crush.CorruptFrameError),  # reserved kind
        (bytes([0xFF]) + bytes(12), crush.CorruptFrameError),
        (frame.encode_block_header(True, 0, 0, 0), crush.CorruptFrameError),  # empty block
        (frame.encode_block_header(True, 65, 65, 0), crush.CorruptFrameError),  # > block size
        (frame.encode_block_header(True, 10, 9, 0), crush.CorruptFrameError),  # raw, stored != size
        (frame.encode_block_header(False, 10, 10, 0), crush.CorruptFrameError),  # not smaller
        (frame.encode_block_header(False, 10, 11, 0), crush.CorruptFrameError),
        (frame.encode_block_header(False, 10, 0, 0), crush.CorruptFrameError),
        (frame.encode_block_header(False, 10, 2**32 - 1, 0), crush.CorruptFrameError),
        (frame.encode_block_header(False, 10, 5, 0) + b"1234", crush.TruncatedFrameError),
        (frame.encode_block_header(True, 10, 10, 0), crush.TruncatedFrameError),
        (b"\x01" * 12, crush.TruncatedFrameError),
        (b"", crush.TruncatedFrameError),
    ],
)
def test_read_record_rejects(record: bytes, error: type[Exception]) -> None:
    header = frame.FrameHeader(0, 64, crush.FileInfo(), 13)
    with pytest.raises(error):
        frame.read_record(frame.BytesSource(record), header)


# --- header rejection -------------------------------------------------------------------


def _with_crc(head: bytes) -> bytes:
    return head + struct.pack("<I", zlib.crc32(head))


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", crush.TruncatedFrameError, "truncated"),
        (b"CR\x01\x00\x00\x10\x00\x00", crush.TruncatedFrameError, "truncated"),
        (frame.encode_header(0, 16)[:-1], crush.TruncatedFrameError, "checksum"),
        (b"PK\x03\x04" + bytes(20), crush.FormatError, "not a crush frame"),
        (_with_crc(b"CR\x03\x00\x00\x10\x00\x00\x00"), crush.FormatError, "upgrade"),
        (_with_crc(b"CR\x00\x00\x00\x10\x00\x00\x00"), crush.FormatError, "version 0"),
        (_with_crc(b"CR\x01\x00\x08\x10\x00\x00\x00"), crush.CorruptFrameError, "flags"),
        (_with_crc(b"CR\x01\x00\x80\x10\x00\x00\x00"), crush.CorruptFrameError, "flags"),
        (_with_crc(b"CR\x01\x00\x00\x00\x00\x00\x00"), crush.CorruptFrameError, "block size"),
        (_with_crc(b"CR\x01\x00\x00\x01\x00\x00\x04"), crush.CorruptFrameError, "block size"),
        (_with_crc(b"CR\x01\x00\x01\x10\x00\x00\x00\x00\x00"), crush.CorruptFrameError, "name"),
        (_with_crc(b"CR\x01\x00\x01\x10\x00\x00\x00\x01\x10"), crush.CorruptFrameError, "name"),
        (b"CR\x01\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00", crush.CorruptFrameError, "CRC32"),
    ],
)
def test_read_header_rejects(data: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        _header(data)


def test_wrong_magic_is_format_error_not_corruption() -> None:
    with pytest.raises(crush.FormatError) as info:
        crush.decompress(b"PK\x03\x04" + bytes(20))  # zip: no format crush reads
    assert not isinstance(info.value, crush.CorruptFrameError)
    assert isinstance(info.value, OSError)


# --- fuzzing the parsers: only FormatError subclasses --------------------------------------


@given(st.binary(max_size=64))
def test_read_header_random_bytes_raise_only_format_errors(data: bytes) -> None:
    try:
        header = _header(data)
    except crush.FormatError:
        return
    assert 1 <= header.block_size <= MAX


@given(
    prefix=st.binary(min_size=6, max_size=6),
    tail=st.binary(max_size=40),
    fix_crc=st.booleans(),
)
def test_read_header_random_fields_raise_only_format_errors(
    prefix: bytes, tail: bytes, fix_crc: bool
) -> None:
    # Start with a valid magic and version so the fuzzer reaches flags, sizes and fields.
    data = b"CR\x01" + prefix + tail
    if fix_crc:
        data += struct.pack("<I", zlib.crc32(data))
    try:
        header = _header(data)
    except crush.FormatError:
        return
    assert header.size <= len(data)
    name = header.info.name
    assert name is None or 1 <= len(name.encode("utf-8", "surrogateescape")) <= 4096


@given(block_size=st.integers(1, MAX), data=st.binary(max_size=80))
def test_read_record_random_bytes_raise_only_format_errors(block_size: int, data: bytes) -> None:
    header = frame.FrameHeader(0, block_size, crush.FileInfo(), 13)
    src = frame.BytesSource(data)
    try:
        while True:
            record = frame.read_record(src, header)
            if isinstance(record, frame.EndRecord):
                break
            assert 1 <= record.size <= block_size
            stored = len(record.payload)
            assert stored == record.size if record.raw else 1 <= stored < record.size
    except crush.FormatError:
        pass


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=200))  # b"" is empty content
def test_decompress_random_bytes_raises_only_crush_errors(data: bytes) -> None:
    for candidate in (data, b"CR\x01" + data):
        with pytest.raises(crush.CrushError):
            crush.decompress(candidate, threads=1)


# --- crc32_combine ------------------------------------------------------------------------


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_crc32_combine_matches_zlib(a: bytes, b: bytes) -> None:
    assert frame.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@given(st.lists(st.binary(max_size=100), max_size=8))
def test_crc32_combine_folds_blocks_like_the_content_crc(chunks: list[bytes]) -> None:
    crc = 0
    for chunk in chunks:
        crc = frame.crc32_combine(crc, zlib.crc32(chunk), len(chunk))
    assert crc == zlib.crc32(b"".join(chunks))


@pytest.mark.parametrize("length", [0, 1, 7, 4096, 65537, 1 << 20, MAX])
def test_crc32_combine_long_lengths(length: int) -> None:
    a = b"prefix bytes"
    b = bytes(length)
    assert frame.crc32_combine(zlib.crc32(a), zlib.crc32(b), length) == zlib.crc32(a + b)


@settings(deadline=None)
@given(data=st.binary(max_size=2000), block_size=st.integers(1, 300))
def test_frames_carry_block_and_content_crcs(data: bytes, block_size: int) -> None:
    blob = crush.compress(data, plugin="deflate", block_size=block_size, threads=1)
    report = crush.inspect(blob).frames[0]
    chunks = [data[i : i + block_size] for i in range(0, len(data), block_size)]
    assert report.block_crcs == tuple(zlib.crc32(c) for c in chunks)
    assert report.content_crc == zlib.crc32(data)
    assert report.original_size == len(data)
    _, records, end = _records(blob)
    assert [r.size for r in records] == [len(c) for c in chunks]
    for record, chunk in zip(records, chunks, strict=True):
        if record.raw:
            assert bytes(record.payload) == chunk
        else:
            assert len(record.payload) < len(chunk)
    assert (end.total_size, end.crc) == (len(data), zlib.crc32(data))


def test_streamed_frame_has_short_blocks_at_flush() -> None:
    # FORMAT.md: blocks are 1..block_size bytes anywhere in a frame; a flush()
    # of crush.open() ends a block early, and readers accept it.
    buf = io.BytesIO()
    with crush.open(buf, "wb", plugin="deflate", block_size=64) as f:
        f.write(b"a" * 100)
        f.flush()
        f.write(b"b" * 100)
    blob = buf.getvalue()
    _, records, end = _records(blob)
    assert [r.size for r in records] == [64, 36, 64, 36]
    assert end.total_size == 200
    assert crush.decompress(blob) == b"a" * 100 + b"b" * 100


# --- the worked example in docs/FORMAT.md ---------------------------------------------------

EXAMPLE_CONTENT = b"hello hello hello hello"
EXAMPLE_INFO = crush.FileInfo(name="a.txt", mtime_ns=1_700_000_000_123_456_789, mode=0o644)


def _format_md_example() -> bytes:
    text = FORMAT_MD.read_text(encoding="utf-8")
    blocks = re.findall(r"^```crush-hexdump\n(.*?)^```$", text, flags=re.M | re.S)
    assert len(blocks) == 1, "docs/FORMAT.md needs exactly one ```crush-hexdump block"
    out = bytearray()
    for line in blocks[0].splitlines():
        if not line.startswith("0x"):
            continue
        offset, hex_bytes, _note = (part.strip() for part in line.split("|", 2))
        assert int(offset, 16) == len(out), f"FORMAT.md dump: offset {offset} is not contiguous"
        out += bytes.fromhex(hex_bytes)
    return bytes(out)


def test_format_md_example_decodes() -> None:
    blob = _format_md_example()
    assert crush.decompress(blob) == EXAMPLE_CONTENT
    report = crush.inspect(blob).frames[0]
    assert (report.plugin, report.block_size, report.blocks, report.raw_blocks) == (
        "deflate",
        16,
        2,
        1,
    )
    assert report.info == EXAMPLE_INFO
    assert report.compressed_size == len(blob) == 88


# The example's DEFLATE bytes are stdlib zlib's (a reader can reproduce them
# with Python alone); crush's default backend makes other, equally valid ones.
STDLIB_DEFLATE = crush.Registry([DeflatePlugin(backend="zlib")], default="deflate")


def test_format_md_example_is_what_crush_writes() -> None:
    documented = _format_md_example()
    _, records, _ = _records(documented)
    compressed = [r for r in records if not r.raw]
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    if bytes(compressed[0].payload) != co.compress(EXAMPLE_CONTENT[:16]) + co.flush():
        pytest.skip(f"this zlib ({zlib.ZLIB_RUNTIME_VERSION}) makes other DEFLATE bytes")
    produced = make_golden.example_frame(version=1)
    assert produced.hex(" ") == documented.hex(" "), (
        "docs/FORMAT.md's worked example drifted from crush; regenerate it with "
        "`.venv/bin/python tools/make_golden.py --format-example`"
    )


def test_format_md_states_the_example_checks() -> None:
    blob = _format_md_example()
    assert zlib.crc32(blob[0x00:0x1C]) == 0x39730308
    assert zlib.decompress(blob[0x2D:0x37], wbits=-15) == b"hello hello hell"
    assert frame.crc32_combine(0x235CFD84, 0x170CB7DF, 7) == 0x8D3D51E3
    assert zlib.crc32(EXAMPLE_CONTENT) == 0x8D3D51E3
    plain = make_golden.compress(EXAMPLE_CONTENT, "deflate", 16, version=1,
                                 registry=STDLIB_DEFLATE)
    assert len(plain) == 69
    assert plain[:9] == bytes.fromhex("43 52 01 00 00 10 00 00 00")


# --- concatenation, trailing bytes, empty input ---------------------------------------------


def test_concatenated_frames_decode_to_the_concatenation() -> None:
    a = b"first frame " * 50
    b = bytes(range(256)) * 3
    blob = (
        crush.compress(a, plugin="deflate", block_size=100)
        + crush.compress(b, plugin="zstd", block_size=64, file_info=crush.FileInfo(name="b"))
        + crush.compress(b"", plugin="lz4")
        + crush.compress(a, plugin="bz2")
    )
    assert crush.decompress(blob) == a + b + a
    assert crush.decompress(blob, threads=1) == a + b + a
    report = crush.inspect(blob)
    assert [f.plugin for f in report.frames] == ["deflate", "zstd", "lz4", "bz2"]
    assert report.original_size == 2 * len(a) + len(b)
    assert report.compressed_size == len(blob)


GOOD = crush.compress(b"some content " * 20, plugin="deflate", block_size=64)


@pytest.mark.parametrize(
    "trailer",
    [
        b"C",
        b"CR",
        b"CR\x01",
        b"trailing garbage after the frame",
        b"CR\x02" + bytes(20),
        GOOD[:-1],
        GOOD[: len(GOOD) // 2],
        GOOD[:13],
    ],
)
def test_trailing_bytes_after_a_frame_raise_format_error(trailer: bytes) -> None:
    with pytest.raises(crush.FormatError):
        crush.decompress(GOOD + trailer)
    with pytest.raises(crush.FormatError):
        crush.inspect(GOOD + trailer)


@pytest.mark.parametrize("trailer", [b"x", b"trailing garbage", b"\x00\x00junk", b"\x01" * 40])
def test_trailing_garbage_is_named_as_such(trailer: bytes) -> None:
    # Never "truncated ... download it again": the frame before was whole.
    for call in (crush.decompress, crush.inspect,
                 lambda blob: crush.open(io.BytesIO(blob)).read()):
        with pytest.raises(crush.FormatError, match="trailing garbage after the last") as info:
            call(GOOD + trailer)
        assert not isinstance(info.value, crush.TruncatedFrameError)


@given(pads=st.lists(st.integers(0, 70_000), min_size=1, max_size=3))
@settings(max_examples=25, deadline=None)
def test_zero_padding_after_and_between_frames_is_skipped(pads: list[int]) -> None:
    # As gzip (tapes and block devices pad with zeros); a frame never starts with 0.
    blob = b"".join(GOOD + bytes(n) for n in pads)
    content = b"some content " * 20 * len(pads)
    assert crush.decompress(blob) == content
    assert crush.open(io.BytesIO(blob)).read() == content
    with crush.open(io.BytesIO(blob)) as f:  # the seek index walks the padding too
        assert f.seek(0, io.SEEK_END) == len(content)
    assert len(crush.inspect(blob).frames) == len(pads)


def test_empty_input_is_empty_content() -> None:
    # As gzip.decompress(b"") and reading an empty .gz file.
    assert crush.decompress(b"") == b""
    assert crush.open(io.BytesIO(b"")).read() == b""
    out = io.BytesIO()
    assert crush.decompress_stream(io.BytesIO(b""), out).bytes_out == 0
    assert out.getvalue() == b""


def test_truncation_is_an_eof_error_too() -> None:
    # Code written for gzip catches EOFError.
    with pytest.raises(EOFError):
        crush.decompress(GOOD[:-4])
    assert issubclass(crush.TruncatedFrameError, EOFError)
    assert issubclass(crush.TruncatedFrameError, OSError)


# --- max_output_size ------------------------------------------------------------------------


def test_max_output_size_allows_exactly_the_content() -> None:
    data = b"abc" * 100
    blob = crush.compress(data, block_size=64)
    assert crush.decompress(blob, max_output_size=len(data)) == data
    with pytest.raises(crush.OutputLimitError) as info:
        crush.decompress(blob, max_output_size=len(data) - 1)
    assert info.value.limit == len(data) - 1
    assert crush.decompress(crush.compress(b""), max_output_size=0) == b""


def test_max_output_size_counts_every_frame() -> None:
    part = b"x" * 100
    blob = crush.compress(part) + crush.compress(part)
    assert crush.decompress(blob, max_output_size=200) == part * 2
    with pytest.raises(crush.OutputLimitError):
        crush.decompress(blob, max_output_size=150)


class _SpyDeflate:
    """Deflate under its own id that records every decompress() call."""

    name = "deflate"
    plugin_id = 0x00
    metadata = DeflatePlugin.metadata

    def __init__(self) -> None:
        self.calls = 0
        self._inner = DeflatePlugin()

    def compress(self, data: object, level: int, cancel: object) -> bytes:
        return self._inner.compress(data, level, cancel)  # type: ignore[arg-type]

    def decompress(self, data: object, size: int, cancel: object) -> bytes:
        self.calls += 1
        return self._inner.decompress(data, size, cancel)  # type: ignore[arg-type]

    def detect(self, header: bytes) -> bool:
        return True


def _bomb(blocks: int) -> bytes:
    """Return a frame whose blocks each declare 64 MiB but store one byte."""
    record = frame.encode_block_header(False, MAX, 1, 0) + b"\x00"
    return frame.encode_header(0, MAX) + record * blocks + frame.encode_end(MAX * blocks, 0)


@pytest.mark.parametrize("threads", [1, 2])
def test_max_output_size_is_enforced_before_decoding(threads: int) -> None:
    spy = _SpyDeflate()
    registry = crush.Registry([spy])  # type: ignore[list-item]
    tracemalloc.start()
    try:
        with pytest.raises(crush.OutputLimitError) as info:
            crush.decompress(_bomb(3), max_output_size=1 << 20, threads=threads, registry=registry)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.limit == 1 << 20
    assert spy.calls == 0, "a block was decoded although its declared size is over the limit"
    assert peak < 1 << 20, f"decoding allocated {peak} bytes before refusing"


def test_declared_sizes_without_limit_fail_cleanly() -> None:
    # Without a limit the forged blocks are handed to deflate, which rejects them.
    with pytest.raises(crush.CrushError):
        crush.decompress(_bomb(2), threads=1)


# --- plugins named in the header ---------------------------------------------------------


def test_builtin_plugin_missing_from_registry_is_named() -> None:
    blob = crush.compress(b"zstd data " * 20, plugin="zstd")
    registry = crush.Registry([DeflatePlugin()])
    with pytest.raises(crush.PluginNotFoundError) as info:
        crush.decompress(blob, registry=registry)
    message = str(info.value)
    assert "'zstd'" in message
    assert "plugins.toml" in message
    assert info.value.plugin == "zstd"
    assert info.value.plugin_id == 0x01
    assert isinstance(info.value, LookupError)
    # inspect() reports the frame instead of refusing it.
    report = crush.inspect(blob, registry=registry).frames[0]
    assert (report.plugin, report.plugin_id, report.metadata) == ("zstd", 0x01, None)


def test_unknown_third_party_plugin_id_is_reported() -> None:
    # 0x9f: a third-party id no table names (0x80 is the registered snappy example).
    blob = frame.encode_header(0x9F, 64) + frame.encode_end(0, 0)
    with pytest.raises(crush.PluginNotFoundError) as info:
        crush.decompress(blob)
    message = str(info.value)
    assert "0x9f" in message
    assert "plugins.toml" in message
    assert info.value.plugin_id == 0x9F
    assert info.value.plugin is None
    report = crush.inspect(blob).frames[0]
    assert (report.plugin, report.plugin_id, report.blocks) == (None, 0x9F, 0)


def test_plugin_id_byte_is_the_fourth_byte() -> None:
    for plugin in crush.list_plugins():
        blob = crush.compress(b"abc", plugin=plugin.name)
        assert blob[:4] == b"CR\x02" + bytes([plugin.plugin_id])
        assert frame.is_frame_start(blob)
