"""The block table of a crush file: content size and every block's place, from the footers.

:func:`read_index` reads a v2 frame's footer with one read at the end of
the input (two when the footer does not fit the first guess), then the
frame's header, and moves to the frame before it through the footer's
frame size, so concatenated frames cost a few reads each whatever their
size. Frames without a usable footer (v1 frames, or a damaged footer) are
walked record by record, which checks everything the footers would have
said. The table keeps 12 bytes per block (the footer's own index), so a
file of a million blocks needs about 12 MiB.
"""

from __future__ import annotations

import bisect
import io
import sys
from array import array
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import Final
from typing import NamedTuple
from typing import final
from typing import overload

from . import frame
from . import frame_v2
from ._source import FileSource
from .contract import Buffer
from .errors import CorruptFrameError
from .errors import CrushError

_STRIDE: Final = 64
"""Blocks between two stored offsets: lookups walk at most this many index entries."""
_GUESS: Final = 64 << 10
"""Bytes read from the end at first: most footers fit, larger ones take one more read."""
_MIN_HEADER: Final = frame.PREFIX_SIZE + 4
_MAX_HEADER: Final = frame.PREFIX_SIZE + 2 + frame.MAX_NAME_LENGTH + 8 + 4 + 4


@final
class BlockEntry(NamedTuple):
    """One block: where its record starts in the input and where its content goes.

    ``offset`` is the file offset of its record header (relative to where
    the crush data starts), ``stored_size`` the bytes after that header,
    ``content_offset`` and ``size`` its place in the decoded stream, ``crc``
    the CRC32 of its content, ``raw`` whether it is stored uncompressed,
    ``frame`` the number of its frame.
    """

    offset: int
    record_size: int
    stored_size: int
    content_offset: int
    size: int
    crc: int
    raw: bool
    frame: int


@final
class Column(Sequence[int]):
    """A read-only sequence of one field of an index (compares equal to a list or tuple)."""

    __slots__ = ("_words",)

    def __init__(self, words: Sequence[int]) -> None:
        self._words = words

    def __len__(self) -> int:
        return len(self._words)

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[int]: ...
    def __getitem__(self, i: int | slice) -> int | Sequence[int]:
        return self._words[i]

    def __iter__(self) -> Iterator[int]:
        return iter(self._words)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Column({list(self._words)!r})"


def _words(entries: Buffer) -> Sequence[int]:
    view = memoryview(entries).cast("B")
    if sys.byteorder == "little" and len(view) % 4 == 0:
        return view.cast("I")
    words = array("I", bytes(view))  # pragma: no cover - big-endian hosts
    words.byteswap()  # pragma: no cover
    return words  # pragma: no cover


@final
class FrameIndex:
    """The blocks of one frame: its header, totals and index entries.

    ``offset`` is where the frame starts, ``size`` its length in bytes,
    ``total_size`` and ``crc`` its content's size and CRC32 as stored,
    ``content_offset`` the decoded offset of its first byte and
    ``first_block`` the number of its first block in the whole table.
    Immutable; safe to share between threads.
    """

    __slots__ = ("_content", "_files", "_record", "_words", "content_offset", "crc", "first_block",
                 "header", "offset", "size", "total_size")

    def __init__(self, offset: int, header: frame.FrameHeader, *, size: int, total_size: int,
                 crc: int, entries: Buffer, first_block: int, content_offset: int) -> None:
        self.offset = offset
        self.size = size
        self.header = header
        self.total_size = total_size
        self.crc = crc
        self.first_block = first_block
        self.content_offset = content_offset
        self._words = _words(entries)
        record = frame_v2.RECORD_SIZE if header.version != 1 else frame.RECORD_SIZE
        sizes, stored = self._words[0::3], self._words[1::3]
        # Offsets of every _STRIDE-th block; a lookup walks from the nearest one.
        self._content = array("Q", [content_offset])
        self._files = array("Q", [offset + header.size])
        for start in range(0, len(sizes) - _STRIDE, _STRIDE):
            self._content.append(self._content[-1] + sum(sizes[start : start + _STRIDE]))
            self._files.append(self._files[-1] + _STRIDE * record
                               + sum(stored[start : start + _STRIDE]))
        self._record = record

    def __len__(self) -> int:
        return len(self._words) // 3

    @property
    def sizes(self) -> Column:
        """Content size of each block."""
        return Column(self._words[0::3])

    @property
    def stored_sizes(self) -> Column:
        """Stored size of each block."""
        return Column(self._words[1::3])

    @property
    def crcs(self) -> Column:
        """Stored CRC32 of each block's content."""
        return Column(self._words[2::3])

    def entry(self, i: int, number: int) -> BlockEntry:
        """Return block *i* of this frame (*number* is the frame's place in the file)."""
        if not 0 <= i < len(self):
            raise IndexError(i)
        base = i - i % _STRIDE
        content, offset = self._content[base // _STRIDE], self._files[base // _STRIDE]
        words = self._words
        for j in range(base, i):
            content += words[3 * j]
            offset += self._record + words[3 * j + 1]
        size, stored, crc = words[3 * i], words[3 * i + 1], words[3 * i + 2]
        return BlockEntry(offset, self._record, stored, content, size, crc, stored == size,
                          number)

    def find(self, content_offset: int) -> int:
        """Return the number (in this frame) of the block holding *content_offset*."""
        i = (bisect.bisect_right(self._content, content_offset) - 1) * _STRIDE
        content = self._content[i // _STRIDE]
        words = self._words
        while i < len(self) - 1 and content + words[3 * i] <= content_offset:
            content += words[3 * i]
            i += 1
        return i


@final
class BlockIndex(Sequence[BlockEntry]):
    """Every block of a crush input, in order: ``index[i]`` is a :class:`BlockEntry`.

    ``size`` is the decoded size, ``compressed_size`` the input's size,
    ``frames`` the :class:`FrameIndex` of each concatenated frame.
    Immutable; safe to share between threads.
    """

    __slots__ = ("_firsts", "_starts", "compressed_size", "frames", "size")

    def __init__(self, frames: Sequence[FrameIndex], compressed_size: int) -> None:
        self.frames = tuple(frames)
        self.size = sum(f.total_size for f in self.frames)
        self.compressed_size = compressed_size
        self._firsts = [f.first_block for f in self.frames]
        self._starts = [f.content_offset for f in self.frames]

    def __len__(self) -> int:
        return sum(len(f) for f in self.frames)

    @overload
    def __getitem__(self, i: int) -> BlockEntry: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[BlockEntry]: ...
    def __getitem__(self, i: int | slice) -> BlockEntry | Sequence[BlockEntry]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        number = bisect.bisect_right(self._firsts, i) - 1
        if number < 0:
            raise IndexError(i)
        found = self.frames[number]
        return found.entry(i - found.first_block, number)

    def find(self, content_offset: int) -> BlockEntry | None:
        """Return the block holding decoded offset *content_offset* (None at or past the end)."""
        if not 0 <= content_offset < self.size:
            return None
        number = bisect.bisect_right(self._starts, content_offset) - 1
        # Empty frames share their content offset with the next frame.
        while not len(self.frames[number]) or (
                content_offset >= self.frames[number].content_offset
                + self.frames[number].total_size):
            number += 1
        found = self.frames[number]
        return found.entry(found.find(content_offset), number)


class _Input:
    """Random access to the crush bytes of a buffer or a seekable binary file."""

    def __init__(self, data: Any) -> None:
        if hasattr(data, "read"):
            self._fp: Any = data
            self._base = data.tell()
            self.size = data.seek(0, io.SEEK_END) - self._base
            self._view: memoryview | None = None
        else:
            self._fp = None
            self._base = 0
            self._view = memoryview(data).cast("B")
            self.size = len(self._view)

    def read_at(self, offset: int, n: int) -> Buffer:
        """Return the *n* bytes at *offset* (fewer only at the end)."""
        if self._view is not None:
            return self._view[offset : offset + n]
        self._fp.seek(self._base + offset)
        parts = []
        while n > 0:
            chunk = self._fp.read(n)
            if not chunk:
                break
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def source(self, offset: int, end: int) -> frame.Source:
        """Return a :class:`~crush.frame.Source` reading from *offset* up to *end*."""
        if self._view is not None:
            src = frame.BytesSource(self._view[:end])
            src.read_exact(offset, "the frames before")
            return src
        self._fp.seek(self._base + offset)
        return FileSource(_Bounded(self._fp, end - offset), offset)


class _Bounded:
    """A file object that reads at most *limit* more bytes (the rest belongs to later frames)."""

    def __init__(self, fp: Any, limit: int) -> None:
        self._fp = fp
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data: bytes = self._fp.read(n) if n else b""
        self._left -= len(data)
        return data


def _from_footer(src: _Input, end: int) -> tuple[int, frame.FrameHeader, frame_v2.Footer] | None:
    """Return (offset, header, footer) of the v2 frame ending at *end*, or None if none does."""
    if end < frame_v2.MIN_FOOTER_SIZE + _MIN_HEADER:
        return None
    tail = src.read_at(max(0, end - _GUESS), min(end, _GUESS))
    found = frame_v2.parse_trailer(memoryview(tail)[-frame_v2.TRAILER_SIZE:])
    if found is None:
        return None
    count, frame_size = found
    size = frame_v2.footer_size(count)
    if not size + _MIN_HEADER <= frame_size <= end:
        return None  # cannot be true; the record walk will say what is wrong
    footer = (memoryview(tail)[-size:] if size <= len(tail)
              else src.read_at(end - size, size))
    start = end - frame_size
    try:
        header = frame.read_header(frame.BytesSource(src.read_at(start, _MAX_HEADER)))
        if header.version == 1:
            return None
        return start, header, frame_v2.parse_footer(footer, header, end - size)
    except CrushError:
        return None


def _footer_before(
    src: _Input, end: int
) -> tuple[int, frame.FrameHeader, frame_v2.Footer] | None:
    """Return what :func:`_from_footer` finds at *end*, or past zero padding before it."""
    located = _from_footer(src, end)
    if located is None:
        # Only when a footer is found there: a v1 end marker may end in zeros.
        unpadded = _before_zeros(src, end)
        if unpadded != end:
            located = _from_footer(src, unpadded)
    return located


def _before_zeros(src: _Input, end: int) -> int:
    """Return the offset just past the last non-zero byte before *end*."""
    while end > 0:
        tail = bytes(src.read_at(max(0, end - _GUESS), min(end, _GUESS)))
        kept = len(tail.rstrip(b"\0"))
        end -= len(tail) - kept
        if kept:
            break
    return end


def _walk(reader: frame.Source) -> list[FrameIndex]:
    """Index the frames of *reader* (up to its end) by reading every record."""
    frames: list[FrameIndex] = []
    first_block = content_offset = 0
    # Zero padding between and after frames is skipped, as the decoder does;
    # other bytes after a frame are named trailing garbage.
    while not frames or frame.more_frames(reader):
        offset = reader.tell()
        header = frame.read_header(reader, following=bool(frames))
        tally = frame_v2.Tally(header.size) if header.version != 1 else None
        entries = bytearray()
        while True:
            record = (frame.read_record(reader, header) if tally is None
                      else frame_v2.read_record(reader, header, tally))
            if isinstance(record, frame.EndRecord):
                break
            entries += frame_v2.index_entry(record.size, len(record.payload), record.crc)
        done = FrameIndex(offset, header, size=reader.tell() - offset,
                          total_size=record.total_size, crc=record.crc, entries=bytes(entries),
                          first_block=first_block, content_offset=content_offset)
        if done.total_size != sum(done.sizes):
            raise CorruptFrameError(
                f"crush frame end marker at offset {record.offset} declares "
                f"{record.total_size} bytes, its blocks hold {sum(done.sizes)}",
                offset=record.offset)
        frames.append(done)
        first_block += len(done)
        content_offset += done.total_size
    return frames


def read_index(data: Buffer | Any, /) -> BlockIndex:
    """Return the :class:`BlockIndex` of the crush frame(s) in *data*, without decoding.

    *data* is a bytes-like object or a binary file positioned at the first
    frame (its position is changed); a file that cannot seek is walked
    record by record to its end. The decoded size and every
    block's offset come from the frames' v2 footers: one or two reads at
    the end of each frame, whatever its size, plus its header. Frames
    without a footer (v1) or with one that does not check out are walked
    record by record, which raises the same :class:`crush.FormatError`
    subclasses as :func:`crush.decompress` for damage. Block contents are
    not read, so only :func:`crush.decompress` proves them intact.
    """
    seekable = getattr(data, "seekable", None)
    if hasattr(data, "read") and not (seekable is not None and seekable()):
        source = FileSource(data)
        walked = _walk(source)
        return BlockIndex(walked, source.tell())
    src = _Input(data)
    found: list[tuple[int, frame.FrameHeader, frame_v2.Footer]] = []
    end = src.size
    while end > 0 and (located := _footer_before(src, end)) is not None:
        found.append(located)
        end = located[0]
    frames = _walk(src.source(0, end)) if end > 0 or not found else []
    blocks = sum(len(f) for f in frames)
    content = sum(f.total_size for f in frames)
    for start, header, footer in reversed(found):
        done = FrameIndex(start, header, size=footer.frame_size, total_size=footer.total_size,
                          crc=footer.crc, entries=footer.entries, first_block=blocks,
                          content_offset=content)
        frames.append(done)
        blocks += len(done)
        content += done.total_size
    return BlockIndex(frames, src.size)


__all__ = ["BlockEntry", "BlockIndex", "Column", "FrameIndex", "read_index"]
