"""Encode and decode what frame v2 adds to v1: checked records and the seek-table footer.

A v2 frame has v1's header (version byte 2). Each block record carries a
CRC32 of its own header fields and stored bytes after the content CRC32,
so every single-bit change anywhere in a record is detected before a codec
sees the payload. The end marker grows into a footer: the block count, an
index entry per block (content size, stored size, content CRC32) and a
fixed-size trailer (totals, the frame's length, a CRC32 of the footer and
a magic) that a reader finds from the last bytes of a file. See the v2
section of docs/FORMAT.md.

Pure functions and value types, like :mod:`crush.frame`: no threads, no
plugins, no files. Declared counts are never trusted into an allocation:
the index is read in bounded chunks and checked against what was read.
"""

from __future__ import annotations

import struct
import sys
from array import array
from typing import Final
from typing import NamedTuple
from typing import final

from . import checksum
from . import frame
from .contract import Buffer
from .errors import CorruptFrameError

VERSION: Final = 2
RECORD_SIZE: Final = 17
ENTRY_SIZE: Final = 12
TRAILER_SIZE: Final = 36
FOOTER_MAGIC: Final = b"CRIX"
FOOTER_HEAD_SIZE: Final = 9
"""The footer's first bytes: kind 00 and the u64 block count."""
MIN_FOOTER_SIZE: Final = FOOTER_HEAD_SIZE + TRAILER_SIZE

_RECORD: Final = struct.Struct("<BIIII")  # kind, size, stored size, content crc, record crc
_FOOTER_HEAD: Final = struct.Struct("<BQ")  # kind 00, block count
_ENTRY: Final = struct.Struct("<III")  # size, stored size, content crc32
_TRAILER: Final = struct.Struct("<QIQQI4s")  # total, content crc, count, frame size, crc, magic
assert _RECORD.size == RECORD_SIZE and _ENTRY.size == ENTRY_SIZE
assert _TRAILER.size == TRAILER_SIZE and _FOOTER_HEAD.size == FOOTER_HEAD_SIZE
_CHUNK_ENTRIES: Final = 4096
"""Index entries read per step while checking a footer: bounds memory whatever it declares."""


def encode_record(raw: bool, size: int, payload: Buffer, crc: int) -> bytes:
    """Return the 17-byte record header for a block of *size* content bytes stored as *payload*."""
    kind = frame.KIND_RAW if raw else frame.KIND_COMPRESSED
    head = struct.pack("<BIII", kind, size, len(memoryview(payload)), crc)
    if raw:
        # A raw payload is the content, whose CRC32 is *crc*: combining gives
        # the same record CRC32 without a second pass over the bytes.
        record_crc = frame.crc32_combine(checksum.crc32(head), crc, size)
    else:
        record_crc = checksum.crc32(payload, checksum.crc32(head))
    return head + struct.pack("<I", record_crc)


def index_entry(size: int, stored: int, crc: int) -> bytes:
    """Return the 12-byte index entry of a block."""
    return _ENTRY.pack(size, stored, crc)


@final
class Tally:
    """What a writer or reader saw of one frame's blocks: the footer must say the same.

    ``count`` blocks, ``index_crc`` the CRC32 of their index entries in
    order, ``length`` the frame's bytes so far (header and records). Not
    thread-safe.
    """

    __slots__ = ("count", "index_crc", "length")

    def __init__(self, header_size: int) -> None:
        self.count = 0
        self.index_crc = 0
        self.length = header_size

    def add(self, size: int, stored: int, crc: int) -> bytes:
        """Count one block; return its index entry."""
        entry = index_entry(size, stored, crc)
        self.index_crc = checksum.crc32(entry, self.index_crc)
        self.count += 1
        self.length += RECORD_SIZE + stored
        return entry


@final
class IndexWriter:
    """Build the records and the footer of one v2 frame as its blocks are written.

    Keeps 12 bytes per block for the footer's index. Not thread-safe.
    """

    __slots__ = ("_entries", "_tally")

    def __init__(self, header_size: int) -> None:
        self._tally = Tally(header_size)
        self._entries = bytearray()

    def record(self, raw: bool, size: int, payload: Buffer, crc: int) -> bytes:
        """Return the record header for the next block and note it for the index."""
        head = encode_record(raw, size, payload, crc)
        self._entries += self._tally.add(size, len(memoryview(payload)), crc)
        return head

    def footer(self, total_size: int, crc: int) -> bytes:
        """Return the footer that ends the frame: index and trailer."""
        count = self._tally.count
        size = self._tally.length + MIN_FOOTER_SIZE + len(self._entries)
        body = _FOOTER_HEAD.pack(frame.KIND_END, count) + self._entries
        body += struct.pack("<QIQQ", total_size, crc, count, size)
        return body + struct.pack("<I", checksum.crc32(body)) + FOOTER_MAGIC


@final
class Footer(NamedTuple):
    """A decoded, self-consistent footer.

    ``entries`` is the raw index (12 bytes per block: size, stored size,
    content CRC32, little-endian); ``frame_size`` the frame's length from
    its first magic byte to the footer's last byte.
    """

    total_size: int
    crc: int
    blocks: int
    frame_size: int
    entries: Buffer


def _bad(message: str, offset: int) -> CorruptFrameError:
    return CorruptFrameError(f"crush v2 footer at offset {offset} {message}", offset=offset)


def _check_entries(chunk: Buffer, block_size: int, offset: int) -> tuple[int, int]:
    """Return (sum of sizes, sum of stored sizes) of index entries after checking each one."""
    words = array("I")
    words.frombytes(bytes(chunk))
    if sys.byteorder == "big":  # pragma: no cover - the format is little-endian
        words.byteswap()
    sizes, stored = words[0::3], words[1::3]
    if sizes and (min(sizes) < 1 or max(sizes) > block_size):
        raise _bad(f"lists a block size outside 1-{block_size}", offset)
    if stored and (min(stored) < 1 or any(s > n for s, n in zip(stored, sizes, strict=True))):
        raise _bad("lists an impossible stored size", offset)
    return sum(sizes), sum(stored)


def read_record(src: frame.Source, header: frame.FrameHeader,
                tally: Tally | None = None) -> frame.BlockRecord | frame.EndRecord:
    """Decode the next v2 block record, or the footer, from *src*.

    A record's sizes are checked against *header* before its payload is
    read, and its record CRC32 before it is returned. A footer is read in
    bounded chunks and checked against its own CRC32 and, with *tally*
    (what the reader counted of this frame), against the blocks read.
    """
    offset = src.tell()
    record = src.read_exact(RECORD_SIZE, "a block record or the footer")
    kind = record[0]
    if kind == frame.KIND_END:
        return _read_footer(src, header, tally, offset, bytes(record))
    if kind not in (frame.KIND_COMPRESSED, frame.KIND_RAW):
        raise CorruptFrameError(f"unknown record kind 0x{kind:02x} at offset {offset}",
                                offset=offset)
    _, size, stored, crc, record_crc = _RECORD.unpack(record)
    raw = kind == frame.KIND_RAW
    if not 1 <= size <= header.block_size or (raw and stored != size) or (
            not raw and not 1 <= stored < size):
        raise CorruptFrameError(
            f"block at offset {offset} declares {size} bytes stored in {stored}, impossible "
            f"with block size {header.block_size}", offset=offset)
    payload = src.read_exact(stored, "a block's data")
    if checksum.crc32(payload, checksum.crc32(record[:13])) != record_crc:
        raise CorruptFrameError(
            f"block record at offset {offset} fails its record CRC32 check: its stored "
            "bytes or fields are damaged", offset=offset)
    if tally is not None:
        tally.add(size, stored, crc)
    return frame.BlockRecord(raw, size, crc, payload, offset)


def _read_footer(src: frame.Source, header: frame.FrameHeader, tally: Tally | None,
                 offset: int, first: bytes) -> frame.EndRecord:
    _, count = _FOOTER_HEAD.unpack(first[:FOOTER_HEAD_SIZE])
    if tally is not None and count != tally.count:
        raise _bad(f"declares {count} blocks, the frame holds {tally.count}", offset)
    crc = checksum.crc32(first[:FOOTER_HEAD_SIZE])
    # The record read took 8 bytes past the footer's head: index or trailer.
    pending = first[FOOTER_HEAD_SIZE:]
    left = count * ENTRY_SIZE
    index_crc = total = 0
    while left:
        take = min(left, _CHUNK_ENTRIES * ENTRY_SIZE)  # >= 12 > len(pending): always reads
        chunk = pending + bytes(src.read_exact(take - len(pending), "the footer index"))
        pending = b""
        left -= take
        crc = checksum.crc32(chunk, crc)
        index_crc = checksum.crc32(chunk, index_crc)
        total += _check_entries(chunk, header.block_size, offset)[0]
    trailer = pending + bytes(src.read_exact(TRAILER_SIZE - len(pending), "the footer trailer"))
    total_size, content_crc, count2, frame_size, footer_crc, magic = _TRAILER.unpack(trailer)
    if magic != FOOTER_MAGIC or checksum.crc32(trailer[:-8], crc) != footer_crc:
        raise _bad("fails its CRC32 check or lacks its magic", offset)
    if count2 != count or total != total_size:
        raise _bad(f"declares {total_size} bytes in {count2} blocks, its index "
                   f"{total} bytes in {count}", offset)
    if tally is not None and (index_crc != tally.index_crc
                              or frame_size != tally.length + MIN_FOOTER_SIZE + count * ENTRY_SIZE):
        raise _bad("does not match the frame's blocks", offset)
    return frame.EndRecord(total_size, content_crc, offset)


def parse_trailer(trailer: Buffer) -> tuple[int, int] | None:
    """Return (block count, frame size) from the last 36 bytes of a frame, or None.

    None means the bytes do not end with the footer magic (no v2 footer
    there); the values are unchecked until :func:`parse_footer` verifies
    the whole footer.
    """
    if len(trailer) != TRAILER_SIZE:
        return None
    _, _, count, frame_size, _, magic = _TRAILER.unpack(trailer)
    if magic != FOOTER_MAGIC:
        return None
    return count, frame_size


def footer_size(count: int) -> int:
    """Return the length of the footer of a frame of *count* blocks."""
    return MIN_FOOTER_SIZE + count * ENTRY_SIZE


def parse_footer(data: Buffer, header: frame.FrameHeader, offset: int) -> Footer:
    """Decode and check a whole footer (*data*, found at *offset*) of a frame with *header*.

    Checks its CRC32, magic, repeated count, every index entry against the
    header's block size, the index's sizes against the declared total, and
    the frame's length against the header and the stored sizes.
    """
    view = memoryview(data).cast("B")
    if len(view) < MIN_FOOTER_SIZE or view[0] != frame.KIND_END:
        raise _bad("does not start with an end marker", offset)
    (_, count) = _FOOTER_HEAD.unpack(view[:FOOTER_HEAD_SIZE])
    if footer_size(count) != len(view):
        raise _bad(f"declares {count} blocks, which do not fit its {len(view)} bytes", offset)
    trailer = view[-TRAILER_SIZE:]
    total_size, content_crc, count2, frame_size, footer_crc, magic = _TRAILER.unpack(trailer)
    if magic != FOOTER_MAGIC or checksum.crc32(view[:-8]) != footer_crc:
        raise _bad("fails its CRC32 check or lacks its magic", offset)
    entries = view[FOOTER_HEAD_SIZE:-TRAILER_SIZE]
    total = stored = 0
    step = _CHUNK_ENTRIES * ENTRY_SIZE
    for start in range(0, len(entries), step):
        got = _check_entries(entries[start : start + step], header.block_size, offset)
        total += got[0]
        stored += got[1]
    if count2 != count or total != total_size:
        raise _bad(f"declares {total_size} bytes in {count2} blocks, its index "
                   f"{total} bytes in {count}", offset)
    if frame_size != header.size + count * RECORD_SIZE + stored + len(view):
        raise _bad(f"declares a frame of {frame_size} bytes; its header and index "
                   f"add up to {header.size + count * RECORD_SIZE + stored + len(view)}",
                   offset)
    return Footer(total_size, content_crc, count, frame_size, entries)


__all__ = [
    "ENTRY_SIZE", "FOOTER_MAGIC", "MIN_FOOTER_SIZE", "RECORD_SIZE", "TRAILER_SIZE", "VERSION",
    "Footer", "IndexWriter", "Tally", "encode_record", "footer_size", "index_entry", "parse_footer",
    "parse_trailer", "read_record",
]
