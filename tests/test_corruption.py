"""Damaged frames raise crush errors and never return wrong data, for every plugin.

For each compiled-in plugin a small multi-block frame (compressed and raw
blocks) is damaged in every way a single byte can be — XOR 0xFF and XOR 0x01
at every offset — and truncated at every length. Decoding it — with
crush.decompress, crush.open (reading, and seeking), crush.decompress_stream
— must raise a :class:`crush.CrushError` subclass, never another exception
and never other data. One exception is inherent in the format (docs/FORMAT.md, "What the
checks cover"): CRC32s cover the *uncompressed* content, so a flip inside a
compressed payload that the codec ignores (padding bits, an oversized
window field) decodes to the original content; that is accepted, and only
there.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush import frame

BLOCK_SIZE = 64
PLUGINS = sorted(p.name for p in crush.list_plugins())


def _content() -> bytes:
    rng = random.Random(20240229)
    text = b"the quick brown fox jumps over the lazy dog; " * 3  # compresses
    noise = rng.randbytes(BLOCK_SIZE)  # one whole block that no codec can shrink
    return text[:128] + noise + (b"abcd" * 40)[:108]


CONTENT = _content()


def _via_decompress(blob: bytes) -> bytes:
    return crush.decompress(blob, threads=1)


def _via_open(blob: bytes) -> bytes:
    with crush.open(io.BytesIO(blob), "rb", threads=1) as f:
        return f.read()


def _via_seek(blob: bytes) -> bytes:
    # Seeking forward skips blocks by their records, then back to the start.
    with crush.open(io.BytesIO(blob), "rb", threads=1) as f:
        f.seek(200)
        tail = f.read()
        f.seek(0)
        return f.read(200) + tail


def _via_stream(blob: bytes) -> bytes:
    out = io.BytesIO()
    crush.decompress_stream(io.BytesIO(blob), out, threads=1)
    return out.getvalue()


DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "decompress": _via_decompress,
    "open": _via_open,
    "seek": _via_seek,
    "decompress_stream": _via_stream,
}


def _frame(plugin: str) -> bytes:
    return crush.compress(CONTENT, plugin=plugin, block_size=BLOCK_SIZE, threads=1)


def _compressed_payload_offsets(blob: bytes) -> set[int]:
    """Return the offsets in *blob* that hold a compressed block's plugin output."""
    src = frame.BytesSource(blob)
    header = frame.read_header(src)
    offsets: set[int] = set()
    while True:
        record = frame.read_record(src, header)
        if isinstance(record, frame.EndRecord):
            return offsets
        if not record.raw:
            start = record.offset + frame.RECORD_SIZE
            offsets.update(range(start, start + len(record.payload)))


def _flips(blob: bytes, mask: int) -> Iterator[tuple[int, bytes]]:
    for pos in range(len(blob)):
        damaged = bytearray(blob)
        damaged[pos] ^= mask
        yield pos, bytes(damaged)


@pytest.fixture(scope="module", params=PLUGINS)
def plugin_frame(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    plugin: str = request.param
    return plugin, _frame(plugin)


def test_frame_has_compressed_and_raw_blocks(plugin_frame: tuple[str, bytes]) -> None:
    plugin, blob = plugin_frame
    report = crush.inspect(blob).frames[0]
    assert report.plugin == plugin
    assert report.blocks == 5
    if crush.get_plugin(plugin).metadata.ratio < 1:
        assert 1 <= report.raw_blocks < report.blocks
    else:  # the store plugin keeps every block raw
        assert report.raw_blocks == report.blocks
    for decode in DECODERS.values():
        assert decode(blob) == CONTENT


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("mask", [0xFF, 0x01])
def test_every_byte_flip_is_detected(
    plugin_frame: tuple[str, bytes], mask: int, decoder: str
) -> None:
    plugin, blob = plugin_frame
    decode = DECODERS[decoder]
    tolerated = _compressed_payload_offsets(blob)
    problems: list[str] = []
    for pos, damaged in _flips(blob, mask):
        try:
            out = decode(damaged)
        except crush.CrushError:
            continue
        except Exception as exc:  # any other type is the failure under test
            problems.append(f"offset {pos}: raised {type(exc).__name__}: {exc}")
            continue
        if out != CONTENT:
            problems.append(f"offset {pos}: returned {len(out)} bytes of WRONG data")
        elif pos not in tolerated:
            problems.append(f"offset {pos}: damage outside a compressed payload went unnoticed")
    assert not problems, f"{plugin}, {decoder}, XOR 0x{mask:02x}:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("mask", [0xFF, 0x01])
def test_inspect_of_flipped_frames_raises_only_crush_errors(
    plugin_frame: tuple[str, bytes], mask: int
) -> None:
    plugin, blob = plugin_frame
    problems: list[str] = []
    for pos, damaged in _flips(blob, mask):
        try:
            crush.inspect(damaged)  # may succeed: inspect does not check payloads
        except crush.CrushError:
            continue
        except Exception as exc:  # any other type is the failure under test
            problems.append(f"offset {pos}: raised {type(exc).__name__}: {exc}")
    assert not problems, f"{plugin}, XOR 0x{mask:02x}:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("decoder", [*DECODERS, "inspect"])
def test_every_truncation_is_detected(plugin_frame: tuple[str, bytes], decoder: str) -> None:
    plugin, blob = plugin_frame
    decode = DECODERS.get(decoder, crush.inspect)
    problems: list[str] = []
    # No bytes at all is empty content, as for gzip (docs/FORMAT.md); inspect
    # still refuses it, as there is no frame to report.
    for length in range(0 if decoder == "inspect" else 1, len(blob)):
        try:
            decode(blob[:length])
        except crush.TruncatedFrameError:
            continue
        except Exception as exc:  # any other type is the failure under test
            problems.append(f"length {length}: raised {type(exc).__name__}: {exc}")
            continue
        problems.append(f"length {length}: returned instead of raising")
    assert not problems, f"{plugin}, {decoder}:\n" + "\n".join(problems[:20])


def test_header_and_end_marker_damage_is_a_format_error(
    plugin_frame: tuple[str, bytes],
) -> None:
    # The header CRC32 and the end marker's size and CRC32 are crush's own
    # checks: damage there is a format error (an OSError), never blamed on
    # the plugin. (A damaged record header is not covered by a CRC of its
    # own: it can hand the plugin a wrong payload, which the plugin rejects.)
    _, blob = plugin_frame
    header = frame.read_header(frame.BytesSource(blob))
    structural = [*range(header.size), *range(len(blob) - frame.RECORD_SIZE, len(blob))]
    for mask in (0xFF, 0x01):
        for pos in structural:
            damaged = bytearray(blob)
            damaged[pos] ^= mask
            with pytest.raises(crush.FormatError):
                crush.decompress(bytes(damaged), threads=1)


def test_damage_is_detected_on_the_worker_pool(plugin_frame: tuple[str, bytes]) -> None:
    # Over 64 KiB with threads=2, blocks decode on the worker pool: errors
    # must come back from the workers as the same crush errors.
    plugin, _ = plugin_frame
    rng = random.Random(7)
    content = (CONTENT * 300)[: 80 << 10]
    blob = crush.compress(content, plugin=plugin, block_size=4096, threads=2)
    src = frame.BytesSource(blob)
    header = frame.read_header(src)
    positions = {*range(header.size), len(blob) - 1}
    while True:
        record = frame.read_record(src, header)
        if isinstance(record, frame.EndRecord):
            break
        positions.update(range(record.offset, record.offset + frame.RECORD_SIZE))
    positions = set(rng.sample(sorted(positions), 30)) | {
        rng.randrange(len(blob)) for _ in range(20)
    }
    tolerated = _compressed_payload_offsets(blob)
    for pos in sorted(positions):
        damaged = bytearray(blob)
        damaged[pos] ^= 0xFF
        try:
            out = crush.decompress(bytes(damaged), threads=2)
        except crush.CrushError:
            continue
        assert out == content, f"{plugin}: offset {pos} returned wrong data"
        assert pos in tolerated, f"{plugin}: damage at offset {pos} went unnoticed"
    for length in sorted(rng.sample(range(len(blob)), 20)):
        with pytest.raises(crush.TruncatedFrameError):
            crush.decompress(blob[:length], threads=2)


def test_concatenated_frames_truncated_anywhere_but_the_boundary() -> None:
    first = _frame("deflate")
    blob = first + _frame("zstd")
    for length in range(len(blob)):
        if length in (0, len(first)):
            # A frame boundary is a valid end: nothing, or the first frame alone
            # (docs/FORMAT.md).
            assert crush.decompress(blob[:length], threads=1) == (CONTENT if length else b"")
            continue
        with pytest.raises(crush.TruncatedFrameError):
            crush.decompress(blob[:length], threads=1)


@settings(max_examples=300, deadline=None)
@given(
    plugin=st.sampled_from(PLUGINS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1, max_size=6),
)
def test_multi_byte_damage_never_yields_wrong_data(
    plugin: str, edits: list[tuple[int, int]]
) -> None:
    blob = bytearray(_frame(plugin))
    for pos, mask in edits:
        blob[pos % len(blob)] ^= mask
    try:
        out = crush.decompress(bytes(blob), threads=1)
    except crush.CrushError:
        return
    assert out == CONTENT
