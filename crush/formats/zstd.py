"""zstd (.zst): multi-frame files, skippable frames, and the seekable format's seek table.

crush writes one frame per block (content size and checksum in each) and
ends the file with the seek table of facebook/zstd
``contrib/seekable_format``: a skippable frame (magic 0x184D2A5E) holding
(compressed, decompressed) u32 sizes per frame and a 9-byte footer (frame
count, descriptor, magic 0x8F92EAB1). With a seek table and random access
the frames are whole units (parallel decode, seeking); otherwise the file
is decoded as one bounded stream, skippable frames skipped by libzstd.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import final

from ..errors import CorruptFrameError
from ..errors import CrushError
from ..errors import TruncatedFrameError
from ._stream import corrupt
from .contract import Unit
from .index import BlockIndex

if TYPE_CHECKING:
    from ..contract import Buffer
    from ..frame import FileInfo
    from .contract import Budget
    from .source import Input

FRAME_MAGIC: Final = b"\x28\xb5\x2f\xfd"
SKIPPABLE: Final = tuple(bytes([0x50 + i]) + b"\x2a\x4d\x18" for i in range(16))
SEEK_TABLE_FRAME: Final = 0x184D2A5E
SEEKABLE_MAGIC: Final = 0x8F92EAB1
DEFAULT_LEVEL: Final = 3
MAX_FRAME: Final = 1 << 32
_FOOTER: Final = struct.Struct("<IBI")  # frames, descriptor, magic
_SKIP: Final = struct.Struct("<II")  # magic, frame size
_ENTRY: Final = struct.Struct("<II")
_U32: Final = struct.Struct("<I")
_PIECE: Final = 1 << 20


def seek_table(sizes: Sequence[tuple[int, int]]) -> bytes:
    """Return the seek table frame for frames of (compressed, decompressed) *sizes*."""
    body = b"".join(_ENTRY.pack(c, d) for c, d in sizes) + _FOOTER.pack(len(sizes), 0,
                                                                         SEEKABLE_MAGIC)
    return _SKIP.pack(SEEK_TABLE_FRAME, len(body)) + body


def read_seek_table(tail: bytes, size: int, fetch: Any) -> BlockIndex | None:
    """Return the frames' index from a file of *size* bytes ending in *tail* (9+ bytes).

    *fetch(offset, n)* reads the table. None when the file has no seek table
    or its table does not describe exactly the bytes before it.
    """
    if len(tail) < _FOOTER.size:
        return None
    frames, descriptor, magic = _FOOTER.unpack(tail[-_FOOTER.size :])
    if magic != SEEKABLE_MAGIC or descriptor & 0x7C:
        return None
    entry = 12 if descriptor & 0x80 else 8
    table = frames * entry + _FOOTER.size
    start = size - table - _SKIP.size
    if start < 0:
        return None
    raw = fetch(start, table + _SKIP.size - _FOOTER.size)
    skip_magic, frame_size = _SKIP.unpack_from(raw)
    if skip_magic != SEEK_TABLE_FRAME or frame_size != table:
        return None
    sizes = [_ENTRY.unpack_from(raw, _SKIP.size + i * entry) for i in range(frames)]
    index = BlockIndex.from_sizes(sizes)
    if sum(c for c, _ in sizes) != start or any(c == 0 for c, _ in sizes):
        return None
    return index


class _Pull:
    """A file-like view of an :class:`Input` for libzstd's stream reader.

    Follows the frame layout of the bytes passing through (frame header,
    block headers, checksum, skippable frames) without decoding, so an
    input that ends inside a frame is known to be truncated: libzstd's
    stream reader would end quietly there.
    """

    def __init__(self, inp: Input) -> None:
        self._inp = inp
        self._head = b""
        self._want = 4  # header bytes to collect before the next decision
        self._state = "magic"
        self._skip = 0
        self._checksum = 0

    @property
    def complete(self) -> bool:
        """True when the bytes so far end exactly at a frame boundary."""
        return self._state == "magic" and not self._head and not self._skip

    def read(self, n: int = -1) -> bytes:
        data = self._inp.read(n if n > 0 else 1 << 20)
        self._walk(data)
        return data

    def _walk(self, data: bytes) -> None:
        at = 0
        while at < len(data):
            if self._skip:
                step = min(self._skip, len(data) - at)
                self._skip -= step
                at += step
                continue
            take = min(self._want - len(self._head), len(data) - at)
            self._head += data[at : at + take]
            at += take
            if len(self._head) == self._want:
                head, self._head = self._head, b""
                self._step(head)

    def _step(self, head: bytes) -> None:
        if self._state == "magic":
            if head == FRAME_MAGIC:
                self._state, self._want = "fhd", 1
            else:  # a skippable frame (anything else libzstd refuses itself)
                self._state, self._want = "skip", 4
        elif self._state == "skip":
            self._skip = _U32.unpack(head)[0]
            self._state, self._want = "magic", 4
        elif self._state == "fhd":
            fhd = head[0]
            single = fhd & 0x20
            fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
            self._skip = (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + fcs
            self._checksum = 4 if fhd & 4 else 0
            self._state, self._want = "block", 3
        else:  # block header
            value = int.from_bytes(head, "little")
            self._skip = 1 if (value >> 1) & 3 == 1 else value >> 3
            if value & 1:
                self._skip += self._checksum
                self._state, self._want = "magic", 4


@final
class ZstdFormat:
    """zstd frames: read any zstd file; write one frame per block plus a seek table.

    Stateless and thread-safe (each call makes its own zstd context).
    """

    name: Final = "zstd"
    magic: Final = (FRAME_MAGIC, *SKIPPABLE)
    suffix: Final = ".zst"
    writable: Final = True

    def padding(self, inp: Input) -> bool:
        """Accept nothing between frames: True only at the end of input."""
        return inp.at_eof()

    def whole_unit(self, inp: Input) -> Unit | None:
        """Return None: frame sizes come from the seek table (:meth:`index`)."""
        return None

    def index(self, inp: Input) -> BlockIndex | None:
        """Return the seek table's index of a random-access *inp*, if it has one."""
        size = inp.size()
        if size is None or size < _FOOTER.size:
            return None
        return read_seek_table(inp.read_at(size - _FOOTER.size, _FOOTER.size), size,
                               inp.read_at)

    def decode_unit(self, unit: Unit) -> bytes:
        """Return the content of one frame, which must decode to *unit.size* bytes."""
        import zstandard

        try:
            reader = zstandard.ZstdDecompressor().stream_reader(unit.payload,
                                                                read_across_frames=False)
            # In pieces: the size comes from the seek table, which may lie;
            # what is allocated follows what the frame really holds.
            parts = []
            got = 0
            while got <= unit.size:
                piece = reader.read(min(unit.size + 1 - got, _PIECE))
                if not piece:
                    break
                parts.append(piece)
                got += len(piece)
            out = b"".join(parts)
            extra = reader.read(1) if got <= unit.size else b"x"
        except CrushError:
            raise
        except Exception as exc:  # zstandard.ZstdError: corrupt frame
            raise corrupt(self.name, unit.offset, exc) from exc
        if len(out) != unit.size or extra:
            raise CorruptFrameError(
                f"zstd frame at offset {unit.offset} does not decode to the {unit.size} bytes "
                "the seek table declares", offset=unit.offset)
        return bytes(out)

    def stream_unit(self, inp: Input, budget: Budget) -> Iterator[bytes]:
        """Decode every remaining frame as one bounded stream (skippable frames skipped)."""
        import zstandard

        start = inp.tell()
        pull = _Pull(inp)
        reader = zstandard.ZstdDecompressor().stream_reader(
            pull, read_across_frames=True)  # type: ignore[arg-type]  # read() is all it uses
        try:
            while True:
                out = reader.read(budget())
                if not out:
                    break
                yield out
        except CrushError:
            raise
        except Exception as exc:  # zstandard.ZstdError: corrupt or truncated frame
            raise corrupt(self.name, start, exc) from exc
        if not pull.complete:
            raise TruncatedFrameError(f"zstd data is truncated: the frame before offset "
                                      f"{inp.tell()} is not complete", offset=inp.tell())

    def encode_unit(self, block: Buffer, level: int | None, info: FileInfo | None) -> bytes:
        """Return one zstd frame holding *block*, with its content size and checksum."""
        import zstandard

        cctx = zstandard.ZstdCompressor(level=DEFAULT_LEVEL if level is None else level,
                                        write_checksum=True, write_content_size=True)
        return cctx.compress(block)

    def finish(self, sizes: Sequence[tuple[int, int]]) -> bytes:
        """Return the seek table for the frames written."""
        return seek_table(sizes)

    def block_size(self, asked: int) -> int:
        """Return *asked*."""
        return asked

