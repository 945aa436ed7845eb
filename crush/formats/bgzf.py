"""BGZF (.gz): htslib's blocked gzip (SAMv1 section 4.1), with the optional ``.gzi`` index.

Every member holds at most 65280 content bytes and carries the ``BC``
subfield with its length minus one; the file ends with the standard
28-byte empty member. Readers of any gzip accept it; crush, bgzip and
samtools decode its members in parallel and seek with the ``.gzi`` index
(``bgzip -r``): a u64 count, then (stored offset, content offset) u64
pairs for every member after the first.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Final
from typing import final

from ..errors import CorruptFrameError
from .gzip import DEFAULT_LEVEL
from .gzip import GzipReading
from .gzip import crc32
from .gzip import deflate
from .index import BlockIndex

if TYPE_CHECKING:
    from ..contract import Buffer
    from ..frame import FileInfo

BLOCK_SIZE: Final = 0xFF00
"""Content bytes per member, as bgzip writes (BGZF_BLOCK_SIZE)."""
MAX_MEMBER: Final = 1 << 16
_HEADER: Final = struct.Struct("<4sIBBHHHH")  # magic+flags, mtime, xfl, os, xlen, BC, 2, bsize-1
EOF_BLOCK: Final = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_TRAILER: Final = struct.Struct("<II")
_U64: Final = struct.Struct("<Q")
_PAIR: Final = struct.Struct("<QQ")


def member(block: Buffer, level: int) -> bytes:
    """Return one BGZF member holding *block* (at most 65280 bytes)."""
    body = deflate(block, level)
    if len(body) + 26 > MAX_MEMBER:  # incompressible: stored deflate always fits
        body = deflate(block, 0)
    total = len(body) + 26
    head = _HEADER.pack(b"\x1f\x8b\x08\x04", 0, 0, 0xFF, 6, 0x4342, 2, total - 1)
    return head + body + _TRAILER.pack(crc32(block), len(block))


def gzi(index: BlockIndex) -> bytes:
    """Return the ``.gzi`` bytes for *index* (as ``bgzip -r`` writes them)."""
    pairs = list(zip(index.stored[1:], index.content[1:], strict=True))
    return _U64.pack(len(pairs)) + b"".join(_PAIR.pack(s, c) for s, c in pairs)


def read_gzi(data: bytes) -> BlockIndex:
    """Return the index a ``.gzi`` file holds; CorruptFrameError if it is malformed."""
    if len(data) < 8:
        raise CorruptFrameError("the .gzi index is shorter than its 8-byte count", offset=0)
    (count,) = _U64.unpack_from(data)
    if len(data) != 8 + 16 * count:
        raise CorruptFrameError(f"the .gzi index declares {count} entries but holds "
                                f"{len(data)} bytes", offset=0)
    pairs = [_PAIR.unpack_from(data, 8 + 16 * i) for i in range(count)]
    stored = (0, *(s for s, _ in pairs))
    content = (0, *(c for _, c in pairs))
    if any(b <= a for a, b in itertools.pairwise(stored)) or any(
            b < a for a, b in itertools.pairwise(content)):
        raise CorruptFrameError("the .gzi index offsets are not ascending", offset=0)
    return BlockIndex(stored, content, None)


def make_gzi(data: Buffer) -> bytes:
    """Return the ``.gzi`` index of the BGZF file *data*, as ``bgzip -r`` makes it.

    Walks the member headers (BSIZE) and trailers (ISIZE) without
    decompressing; raises CorruptFrameError for a member without BSIZE.
    """
    from .gzip import sized_member
    from .source import Input

    inp = Input(data)
    sizes: list[tuple[int, int]] = []
    while not inp.at_eof():
        unit = sized_member(inp, "bgzf")
        if unit is None:
            raise CorruptFrameError(f"the member at offset {inp.tell()} is not BGZF (no BSIZE)",
                                    offset=inp.tell())
        if unit.size:  # bgzip -r leaves out the empty EOF member
            sizes.append((len(unit.payload), unit.size))
    return gzi(BlockIndex.from_sizes(sizes))


@final
class BgzfFormat(GzipReading):
    """BGZF: gzip members of at most 65280 bytes with BSIZE, and the EOF member.

    Reads like ``gzip`` (any gzip file). Stateless and thread-safe.
    """

    name = "bgzf"

    def encode_unit(self, block: Buffer, level: int | None, info: FileInfo | None) -> bytes:
        """Return one BGZF member (BGZF stores no name or mtime, as bgzip)."""
        return member(block, DEFAULT_LEVEL if level is None else level)

    def finish(self, sizes: Sequence[tuple[int, int]]) -> bytes:
        """Return the standard empty EOF member."""
        return EOF_BLOCK

    def block_size(self, asked: int) -> int:
        """Return at most 65280, BGZF's member content size."""
        return min(asked, BLOCK_SIZE)
