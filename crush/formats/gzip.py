"""gzip (.gz): single- and multi-member files (gzip, pigz, BGZF, ``cat a.gz b.gz``).

Members whose header declares their size -- BGZF's ``BC`` subfield
(BSIZE) or the ``CZ`` subfield crush writes (the member's length) -- are
whole units, decoded in parallel; any other member is decoded as a bounded
stream. zlib checks every member's CRC32 and ISIZE. Zero padding after a
member is skipped, as gzip does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import final

from ..errors import CorruptFrameError
from ..errors import CrushError
from ..frame import MAX_BLOCK_SIZE
from ..frame import FileInfo
from ._stream import corrupt
from ._stream import drive
from ._stream import skip_zeros
from .contract import Unit

if TYPE_CHECKING:
    from ..contract import Buffer
    from ..plugins.deflate import DeflatePlugin
    from .contract import Budget
    from .index import BlockIndex
    from .source import Input

MAGIC: Final = b"\x1f\x8b\x08"
FEXTRA: Final = 0x04
FNAME: Final = 0x08
_RESERVED: Final = 0xE0
SIZE_ID: Final = b"CZ"
"""The extra subfield crush writes: the member's total length, u32 little-endian."""
BGZF_ID: Final = b"BC"
BGZF_MAX: Final = 1 << 16
OS_UNIX: Final = 3
DEFAULT_LEVEL: Final = 6
_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_TRAILER: Final = struct.Struct("<II")  # crc32, isize


@cache
def _inflater() -> Any:
    """Return the fastest installed zlib-compatible module: ISA-L's inflate, else zlib-ng's."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency; vendored copies may lack it
        from zlib_ng import zlib_ng

        return zlib_ng
    return isal_zlib


@final
class ZlibMember:
    """zlib's gzip decoder with the ``needs_input`` of the other decompressors."""

    __slots__ = ("_d", "_tail")

    def __init__(self) -> None:
        self._d = _inflater().decompressobj(31)
        self._tail = b""

    @property
    def eof(self) -> bool:
        """True after the member's trailer."""
        return bool(self._d.eof)

    @property
    def needs_input(self) -> bool:
        """True when all input given so far was consumed."""
        return not self._tail

    @property
    def unused_data(self) -> bytes:
        """Bytes after the member's trailer."""
        return bytes(self._d.unused_data)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        """Return at most *max_length* bytes of output for *data* (after any held input)."""
        out = self._d.decompress(self._tail + data if self._tail else data, max_length)
        self._tail = bytes(self._d.unconsumed_tail)
        return bytes(out)


def extra_fields(head: bytes) -> dict[bytes, bytes] | None:
    """Return the extra subfields of the member header *head* starts with (None if absent).

    *head* needs the fixed 10 bytes, XLEN and the extra field; a damaged
    subfield list raises CorruptFrameError.
    """
    if len(head) < 12 or not head[3] & FEXTRA:
        return None
    (xlen,) = _U16.unpack_from(head, 10)
    extra = head[12 : 12 + xlen]
    if len(extra) < xlen:
        return None
    fields: dict[bytes, bytes] = {}
    at = 0
    while at + 4 <= xlen:
        (length,) = _U16.unpack_from(extra, at + 2)
        fields.setdefault(bytes(extra[at : at + 2]), bytes(extra[at + 4 : at + 4 + length]))
        at += 4 + length
    return fields


def read_info(head: bytes) -> FileInfo | None:
    """Return the name and mtime a gzip header stores (as gzip -N uses), if readable."""
    if len(head) < 10 or not head.startswith(MAGIC):
        return None
    flags = head[3]
    (mtime,) = _U32.unpack_from(head, 4)
    at = 10
    if flags & FEXTRA:
        if len(head) < 12:
            return None
        at += 2 + _U16.unpack_from(head, 10)[0]
    name = None
    if flags & FNAME:
        end = head.find(b"\0", at)
        if end < 0:
            return None
        name = head[at:end].decode("latin-1") or None
    return FileInfo(name=name, mtime_ns=mtime * 1_000_000_000 if mtime else None)


def _member_header(level: int, info: FileInfo | None, size_field: bytes) -> bytes:
    flags = FEXTRA
    mtime = 0
    name = b""
    if info is not None:
        if info.name is not None:
            flags |= FNAME
            name = info.name.encode("latin-1", "replace").replace(b"\0", b"_") + b"\0"
        if info.mtime_ns is not None and 0 < info.mtime_ns // 1_000_000_000 < 1 << 32:
            mtime = info.mtime_ns // 1_000_000_000
    xfl = 2 if level >= 9 else 4 if level == 1 else 0
    return (MAGIC + bytes([flags]) + _U32.pack(mtime) + bytes([xfl, OS_UNIX])
            + _U16.pack(len(size_field)) + size_field + name)


def deflate(block: Buffer, level: int) -> bytes:
    """Return *block* as raw DEFLATE at *level* (0-9) with the deflate plugin's backends.

    The same level map as ``crush -m deflate`` (ISA-L for 1, libdeflate for
    2-9, zlib-ng or zlib where those are missing; see
    :data:`crush.plugins.deflate.LEVELS`), so ``-F gzip`` is as fast as
    crush's own deflate frames.
    """
    backend, native = _deflater().backend_for(level)
    return bytes(backend.compress(block, native))


@cache
def _deflater() -> DeflatePlugin:
    from ..plugins.deflate import DeflatePlugin

    return DeflatePlugin()


def crc32(block: Buffer) -> int:
    """Return the CRC32 of *block*."""
    from zlib_ng import zlib_ng

    return int(zlib_ng.crc32(block))


def decode_member(unit: Unit, name: str) -> bytes:
    """Return the content of the whole member *unit*, checking CRC32, ISIZE and its end."""
    d = ZlibMember()
    try:
        # One byte of room beyond the declared size: a member that holds
        # more than it declares is refused without inflating the rest.
        out = d.decompress(unit.payload, unit.size + 1)
    except CrushError:
        raise
    except Exception as exc:  # zlib.error and friends mean corrupt input
        raise corrupt(name, unit.offset, exc) from exc
    if not d.eof or d.unused_data or len(out) != unit.size:
        raise CorruptFrameError(
            f"{name} member at offset {unit.offset} does not decode to the {unit.size} bytes "
            "its trailer declares, or does not end where its header says", offset=unit.offset)
    return out


def sized_member(inp: Input, name: str) -> Unit | None:
    """Read the next member whole if its header declares its length (BGZF or crush)."""
    head = inp.peek(12)
    if len(head) == 12 and head[3] & FEXTRA:
        head = inp.peek(12 + _U16.unpack_from(head, 10)[0])
    fields = extra_fields(head)
    if not fields:
        return None
    offset = inp.tell()
    if len(fields.get(BGZF_ID, b"")) == 2:
        total = _U16.unpack(fields[BGZF_ID])[0] + 1
        most = BGZF_MAX
    elif len(fields.get(SIZE_ID, b"")) == 4:
        total = _U32.unpack(fields[SIZE_ID])[0]
        most = MAX_BLOCK_SIZE
    else:
        return None
    if total < len(head) + 8:
        raise CorruptFrameError(f"{name} member at offset {offset} declares an impossible "
                                f"length {total}", offset=offset)
    payload = inp.read_exact(total, f"the {name} member")
    (_, size) = _TRAILER.unpack_from(payload, total - 8)
    if size > most:
        raise CorruptFrameError(f"{name} member at offset {offset} declares {size} bytes, "
                                f"more than {most}", offset=offset)
    return Unit(payload, size, offset)


class GzipReading:
    """Reading any gzip file, shared by the ``gzip`` and ``bgzf`` formats."""

    magic: Final = (MAGIC,)
    suffix: Final = ".gz"
    writable: Final = True
    name: str = "gzip"

    def padding(self, inp: Input) -> bool:
        """Skip zero padding after a member (gzip accepts it); True at the end."""
        return skip_zeros(inp)

    def whole_unit(self, inp: Input) -> Unit | None:
        """Return the next member whole when its header declares its length."""
        return sized_member(inp, self.name)

    def decode_unit(self, unit: Unit) -> bytes:
        """Return a whole member's checked content."""
        return decode_member(unit, self.name)

    def stream_unit(self, inp: Input, budget: Budget) -> Iterator[bytes]:
        """Decode the next member as a bounded stream."""
        return drive(self.name, ZlibMember(), inp, budget)

    def index(self, inp: Input) -> BlockIndex | None:
        """Return None: units are found from their headers as they are read."""
        return None


@final
class GzipFormat(GzipReading):
    """gzip: multi-member files every gzip reader accepts, one member per block.

    Each member carries a ``CZ`` extra subfield with its length, so crush
    decodes them in parallel; the first member stores the name and mtime.
    Stateless and thread-safe.
    """

    name = "gzip"

    def encode_unit(self, block: Buffer, level: int | None, info: FileInfo | None) -> bytes:
        """Return one gzip member holding *block*."""
        level = DEFAULT_LEVEL if level is None else level
        body = deflate(block, level)
        head = _member_header(level, info, SIZE_ID + _U16.pack(4) + _U32.pack(0))
        total = len(head) + len(body) + 8
        head = head[:16] + _U32.pack(total) + head[20:]
        return head + body + _TRAILER.pack(crc32(block), len(block) & 0xFFFFFFFF)

    def finish(self, sizes: Sequence[tuple[int, int]]) -> bytes:
        """Return nothing: a gzip file ends with its last member."""
        return b""

    def block_size(self, asked: int) -> int:
        """Return *asked*: members may be as long as crush blocks."""
        return asked
