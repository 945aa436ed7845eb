"""Streaming: ``crush.open()`` file objects and stream-to-stream copies.

Memory is bounded by the block size times the blocks in flight, whatever
the input size: a reader grows by at most (3 x threads + 1) x block size
(README, "Files and streams"; ``tools/bench/stream.py`` measures it).
Both directions run through the same engine as the in-memory API
(:class:`~crush.engine.Compressor`, :class:`~crush.engine.FrameDecoder`),
so framing exists once.

Deadlines on streams apply per call (each ``write``, ``flush``, ``read``,
``seek``, ``close``) and, in :func:`compress_stream` and
:func:`decompress_stream`, per block: a stream that keeps making progress
never times out, a stuck plugin does.
"""

from __future__ import annotations

import atexit
import bisect
import codecs
import io
import itertools
import os
import sys
import time
import weakref
from collections import deque
from collections.abc import Generator
from collections.abc import Iterator
from typing import IO
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import Literal
from typing import NamedTuple
from typing import final

from . import engine
from . import frame
from ._source import FileSource
from ._source import read_full
from ._source import readinto_full
from .contract import Buffer
from .contract import CancelToken
from .contract import Plugin
from .errors import CancelledError
from .errors import CrushError
from .errors import warn
from .options import Level
from .options import Options
from .options import check_block_size
from .options import options
from .options import resolve_level
from .registry import Isolation
from .registry import Registry

if TYPE_CHECKING:  # rsyncable cutting, seek tables and selection load only when used
    from . import chunking
    from . import seektable
    from .formats.file import FormatReader
    from .selection import Prefer

_READ_BUFFER: Final = 64 << 10

BinaryFile = IO[bytes] | io.BufferedIOBase | io.RawIOBase


_at_exit: Final[weakref.WeakValueDictionary[int, io.IOBase]] = weakref.WeakValueDictionary()
_registered: Final = itertools.count()


def finalise_at_exit(file: io.IOBase) -> None:
    """Close *file* at interpreter exit if it is still open then.

    Like gzip's, a writer left open is finalised (``IOBase.__del__`` ->
    ``close()``), but a crush writer needs the worker pool, whose daemon
    threads stop running once interpreter shutdown begins. atexit handlers
    run before that, so writers still open are closed there: the end marker
    is written and the file reads back whole. Only a weak reference is
    kept: a writer dropped earlier is finalised by CPython as usual.
    """
    _at_exit[next(_registered)] = file


@atexit.register
def _close_at_exit() -> None:
    # Newest first: a text wrapper flushes into its CrushFile before that closes.
    for key in sorted(_at_exit.keys(), reverse=True):
        file = _at_exit.get(key)
        if file is None or file.closed:
            continue
        try:
            file.close()
        except Exception as exc:  # nobody is left to catch it at exit
            warn("could not finish %r at interpreter exit: %s", file, exc)


@final
class _BlockIndex:
    """Where each block read so far starts, in content order (for seeking).

    Its own object, so the decoder reporting blocks to it holds no
    reference back to the reader (no cycle: a dropped reader is freed, and
    closed, at once rather than by the cyclic GC, perhaps at interpreter exit).
    """

    __slots__ = ("offsets", "starts")

    def __init__(self) -> None:
        self.starts: list[engine.BlockStart] = []
        self.offsets: list[int] = []  # content offsets of starts, for bisect

    def add(self, start: engine.BlockStart) -> None:
        """Record *start* unless a block at or past it is known already."""
        if not self.offsets or start.content_offset > self.offsets[-1]:
            self.starts.append(start)
            self.offsets.append(start.content_offset)


_NO_BLOCK: Final = memoryview(b"")


def _seekable(fp: Any) -> bool:
    # gzip accepts file objects with only read() (or write()): so does crush.
    seekable = getattr(fp, "seekable", None)
    return bool(seekable()) if seekable is not None else False


class _Reader(io.RawIOBase):
    """Decoded content as a raw stream, with an index of blocks for seeking."""

    def __init__(self, fp: Any, opts: Options, max_output_size: int | None) -> None:
        self._fp = fp
        self._opts = opts
        self._limit = max_output_size
        self.can_rewind = _seekable(fp)
        """Whether backward seeks work (forward ones always do)."""
        self._start = fp.tell() if self.can_rewind else 0
        self._index = _BlockIndex()
        self._pos = 0
        self._eof_at: int | None = None
        self._error: BaseException | None = None
        self._table: seektable.BlockIndex | None = None
        self._table_tried = False
        self._decoder: engine.FrameDecoder | None = None
        self._blocks: Generator[Buffer, None, None] | None = None
        self._open(None)

    @property
    def mtime(self) -> int | None:
        """The mtime (seconds) of the last frame header read, or None."""
        header = self._decoder.header if self._decoder is not None else None
        if header is None or header.info.mtime_ns is None:
            return None
        return header.info.mtime_ns // 1_000_000_000

    def _stop(self) -> None:
        # Closing the generator runs its finally clause now: read-ahead jobs
        # are cancelled here, not whenever the generator happens to be freed.
        if self._blocks is not None:
            self._blocks.close()
            self._blocks = None
        if self._decoder is not None:
            self._decoder.close()

    def _open(self, resume: engine.BlockStart | None) -> None:
        self._stop()
        base = resume.file_offset if resume else 0
        if self.can_rewind:
            self._fp.seek(self._start + base)
        self._decoder = engine.FrameDecoder(
            FileSource(self._fp, base), self._opts, self._limit,
            resume=resume, on_block=self._index.add,
        )
        self._blocks = self._decoder.blocks()
        self._block: memoryview = _NO_BLOCK
        self._pos = resume.content_offset if resume else 0
        self._error = None

    def _next_block(self) -> bool:
        # After an error the decoder's generator is finished and would read
        # as a clean end of file: keep raising until a seek reopens it.
        if self._error is not None:
            raise self._error
        assert self._blocks is not None
        try:
            self._block = memoryview(next(self._blocks)).cast("B")
        except StopIteration:
            self._eof_at = self._pos
            return False
        except Exception as exc:
            self._error = exc
            raise
        except BaseException:
            self._error = CancelledError("an earlier read was interrupted; seek to resume")
            raise
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        # Forward seeks decode ahead, so they work on unseekable input too
        # (gzip's _PaddedFile does the same); _jump refuses backward ones.
        return True

    def _rearm(self) -> None:
        assert self._decoder is not None, "closed"
        self._decoder.rearm()

    def readinto(self, buffer: Any) -> int:
        self._rearm()
        while not self._block:
            if not self._next_block():
                return 0
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._block))
        view[:n] = self._block[:n]
        # An empty slice would still pin the whole block while the next decodes.
        self._block = self._block[n:] if n < len(self._block) else _NO_BLOCK
        self._pos += n
        return n

    def readall(self) -> bytes:
        parts = [bytes(self._block)]
        self._pos += len(self._block)
        self._block = _NO_BLOCK
        self._rearm()
        while self._next_block():
            parts.append(bytes(self._block))
            self._pos += len(self._block)
            self._block = _NO_BLOCK
            self._rearm()
        return b"".join(parts)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            if self._eof_at is None and (table := self._seek_table()) is not None:
                self._eof_at = table.size
            if self._eof_at is None:
                if self.can_rewind:
                    self._skip_to(None)
                else:
                    self._discard(sys.maxsize)  # decode forward to the end
            assert self._eof_at is not None
            offset += self._eof_at
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        target = max(0, offset)
        if target < self._pos or not self._in_current_block(target):
            self._jump(target)
        self._discard(target - self._pos)
        return self._pos

    def _in_current_block(self, target: int) -> bool:
        return target <= self._pos + len(self._block)

    def _jump(self, target: int) -> None:
        if not self.can_rewind:
            if target < self._pos:
                raise io.UnsupportedOperation("cannot seek backward on an unseekable file")
            return  # decode forward
        if self._jump_by_table(target):
            return
        offsets = self._index.offsets
        if not offsets or target >= offsets[-1]:
            self._skip_to(target)
        i = bisect.bisect_right(offsets, target) - 1
        if i < 0:
            self._open(None)
            return
        start = self._index.starts[i]
        if start.content_offset <= self._pos <= target:
            return  # already in or before that block: reading forward is cheaper
        self._open(start)

    def _seek_table(self) -> seektable.BlockIndex | None:
        # Built once, from the frames' footers (see crush.read_index), at the
        # first seek that needs it; the file position is restored for the
        # live decoder. None when the input has no usable table.
        if not self._table_tried and self.can_rewind:
            self._table_tried = True
            here = self._fp.tell()
            try:
                self._fp.seek(self._start)
                from . import seektable

                self._table = seektable.read_index(self._fp)
            except CrushError:
                pass  # damaged somewhere: seeks walk the records, as for a stream
            finally:
                self._fp.seek(here)
        return self._table

    def _jump_by_table(self, target: int) -> bool:
        table = self._seek_table()
        if table is None or not len(table):
            return False
        entry = table.find(target) or table[len(table) - 1]
        if entry.content_offset <= self._pos <= target:
            return True  # already in or before that block: reading forward is cheaper
        self._open(engine.resume_point(table, entry))
        return True

    def _skip_to(self, target: int | None) -> None:
        # Walk block records past the furthest known block, reading sizes and
        # stored CRCs but not decompressing, until *target* (None: the end).
        # Stop the live decoder first: the walk moves the file under it.
        self._stop()
        starts = self._index.starts
        if starts:
            last = starts[-1]
            self._fp.seek(self._start + last.next_offset)
            src = FileSource(self._fp, last.next_offset)
            header = last.header
            offset = last.content_offset + last.size
            total = last.frame_total + last.size
            crc: int | None = (None if last.frame_crc is None else
                               frame.crc32_combine(last.frame_crc, last.crc, last.size))
        else:
            self._fp.seek(self._start)
            src = FileSource(self._fp, 0)
            header = frame.read_header(src)
            offset = total = crc = 0
        while target is None or offset <= target:
            here = src.tell()
            record = frame.read_record(src, header)
            if isinstance(record, frame.EndRecord):
                if not frame.more_frames(src):
                    self._eof_at = offset
                    break
                header = frame.read_header(src, following=True)
                total = crc = 0
                continue
            self._index.add(engine.BlockStart(here, src.tell(), offset, record.size,
                                              record.crc, header, total, crc))
            offset += record.size
            total += record.size
            crc = None if crc is None else frame.crc32_combine(crc, record.crc, record.size)
        # The walk moved the file under the live decoder: restart it at the
        # furthest block found (the one holding *target*, or the last).
        self._open(starts[-1] if starts else None)

    def _discard(self, n: int) -> None:
        buf = bytearray(min(n, 1 << 20) or 1)
        while n > 0:
            got = self.readinto(memoryview(buf)[: min(n, len(buf))])
            if not got:
                return
            n -= got

    def close(self) -> None:
        if not self.closed:
            self._stop()
            self._block = _NO_BLOCK
        super().close()


def _open_reader(fp: Any, opts: Options, max_output_size: int | None) -> _Reader | FormatReader:
    """Return the raw reader for *fp*: a standard format by its magic, else crush frames."""
    from .formats import run
    from .formats.file import FormatReader

    fp, head = run.head_of(fp)
    fmt = run.sniff(head)
    if fmt is not None:
        return FormatReader(fp, fmt, opts, max_output_size)
    return _Reader(fp, opts, max_output_size)


def _format_compressor(name: str | None, level: Level, opts: Options,
                       info: frame.FileInfo | None) -> Any:
    """Return the unit compressor for a standard format *name*, None for crush frames."""
    if name is None:
        return None
    from .formats import run

    return run.compressor(name, level, opts, info=info)


def _writer(opts: Options, block_size: int, *, format: str | None, plugin: str | None,
            level: Level, prefer: Prefer | None, weights: tuple[float, float] | None,
            info: frame.FileInfo | None, rsyncable: bool,
            ) -> tuple[Any, int, chunking.Cutter | None]:
    """Return the compressor of a writer, its block size and its content-defined cutter.

    Every option is checked here, before any output exists. A standard
    *format* sets its own block size; *rsyncable* applies to crush frames.
    """
    unit = _format_compressor(format, level, opts, info)
    if unit is not None:
        return unit, unit.fmt.block_size(block_size), None
    from . import chunking
    from .selection import chooser

    chosen = chooser(plugin=plugin, level=level, prefer=prefer, weights=weights,
                     registry=opts.registry)
    # A preset is resolved once the first block chose the plugin; its name
    # means the same to every plugin, so check it now.
    resolve_level(chosen if isinstance(chosen, Plugin) else opts.registry.default, level)
    cutter = chunking.Cutter(block_size) if rsyncable else None
    compressor = engine.Compressor(
        chosen, level, opts, info=info,
        block_size=chunking.max_block(block_size) if cutter else block_size)
    return compressor, block_size, cutter


@final
class CrushFile(io.BufferedIOBase):
    """A crush-compressed file: binary reads decode, writes encode (see :func:`open`).

    Reading decodes concatenated frames as one stream, prefetching and
    decoding up to ``threads`` blocks ahead in parallel. Writing keeps up to
    ``threads`` blocks in flight and writes them in order; ``close()`` writes
    the end marker. If a write fails (plugin error, timeout) the file is
    closed without an end marker, so what was written is detectable as
    truncated rather than silently short.

    Seeking (read mode) costs: backward or to any block read before, one
    block's decode after jumping straight to it (an index of block offsets
    is built while reading); forward past what was read, reading the block
    records' headers of the skipped blocks (no decompression) and one
    block's decode. ``seek`` needs a seekable underlying file to move
    backward. Not thread-safe: use one object per thread.
    """

    def __init__(
        self,
        file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | BinaryFile,
        mode: str = "rb",
        *,
        plugin: str | None = None,
        level: Level = None,
        prefer: Prefer | None = None,
        weights: tuple[float, float] | None = None,
        threads: int | None = None,
        timeout: float | None = None,
        cancel: CancelToken | None = None,
        block_size: int | None = None,
        file_info: frame.FileInfo | None = None,
        max_output_size: int | None = None,
        isolation: Isolation | None = None,
        registry: Registry | None = None,
        rsyncable: bool = False,
        format: str | None = None,  # zstd and crabz name it so
    ) -> None:
        if mode not in ("r", "rb", "w", "wb", "x", "xb", "a", "ab"):
            raise ValueError(f"invalid mode: {mode!r}")
        self._fp: Any = None  # closed until the file is open
        self._opts = options(registry, threads, timeout, cancel, isolation)
        self.mode: Literal["rb", "wb"] = "rb" if mode[0] == "r" else "wb"
        self._broken = False
        self._owns_fp = isinstance(file, str | bytes | os.PathLike)
        if not self._owns_fp:
            need = "read" if self.mode == "rb" else "write"
            if not callable(getattr(file, need, None)):
                raise TypeError(f"file must be a path or a binary file object with {need}(), "
                                f"not {type(file).__name__}")
        if self.mode == "wb":
            # Validate every option (and build the compressor) before a path
            # is created or truncated: a bad option must not destroy a file.
            self._block_size = check_block_size(block_size)
            self._file_info = file_info
            self._pending = bytearray()
            self._written = 0
            # Content-defined blocks (see crush.chunking); flush() still ends one.
            self._compressor, self._block_size, self._cutter = _writer(
                self._opts, self._block_size, format=format, plugin=plugin, level=level,
                prefer=prefer, weights=weights, info=file_info, rsyncable=rsyncable)
        try:
            if self._owns_fp:
                # Closed in close(); the object outlives this method.
                self._fp = io.open(file, mode[0] + "b")  # type: ignore[arg-type]  # noqa: SIM115, UP020
                self.name: str | bytes | int = os.fspath(file)  # type: ignore[arg-type]
            else:
                self._fp = file
                self.name = getattr(file, "name", "")
            if self.mode == "rb":
                self._raw = _open_reader(self._fp, self._opts, max_output_size)
                self._reader = io.BufferedReader(self._raw, _READ_BUFFER)
        except BaseException:
            if self.mode == "wb":
                self._compressor.close()
            if self._owns_fp and self._fp is not None:
                self._fp.close()
            self._fp = None
            raise
        if self.mode == "wb":
            finalise_at_exit(self)

    # -- common --------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def _check_mode(self, want: str) -> None:
        self._check_open()
        if self.mode != want:
            import errno

            verb = "read" if want == "rb" else "write"
            raise OSError(errno.EBADF, f"{verb}() on {'write' if want == 'rb' else 'read'}-only "
                          "CrushFile object")

    @property
    def closed(self) -> bool:
        """Return True once closed."""
        return self._fp is None

    def readable(self) -> bool:
        """Return True in read mode."""
        self._check_open()
        return self.mode == "rb"

    def writable(self) -> bool:
        """Return True in write mode."""
        self._check_open()
        return self.mode == "wb"

    def seekable(self) -> bool:
        """Return True in read mode over a seekable file.

        Forward seeks work on any file, in write mode too (they write zeros,
        like gzip); backward ones need this to be True.
        """
        self._check_open()
        return self.mode == "rb" and self._raw.can_rewind

    @property
    def mtime(self) -> int | None:
        """The mtime (whole seconds) stored in the frame, or None (as gzip's ``mtime``).

        Reading: of the last frame header read so far (None before the first
        read). Writing: from *file_info*.
        """
        if self.mode == "rb":
            return self._raw.mtime
        ns = self._file_info.mtime_ns if self._file_info else None
        return None if ns is None else ns // 1_000_000_000

    def fileno(self) -> int:
        """Return the underlying file's descriptor (if it has one)."""
        self._check_open()
        return int(self._fp.fileno())

    def close(self) -> None:
        """Flush and write the end marker (write mode), then close; safe to repeat."""
        fp = self._fp
        if fp is None:
            return
        try:
            if self.mode == "wb":
                try:
                    if not self._broken:
                        self._compressor.rearm()
                        self._submit_pending()
                        self._emit(self._compressor.finish())
                finally:
                    self._compressor.close()
            else:
                self._reader.close()
        finally:
            self._fp = None
            if self._owns_fp:
                fp.close()

    # -- reading -------------------------------------------------------------

    def read(self, size: int | None = -1) -> bytes:
        """Return up to *size* decoded bytes (all that is left for -1 or None)."""
        self._check_mode("rb")
        return self._reader.read(size)

    def read1(self, size: int = -1) -> bytes:
        """Return up to *size* bytes with at most one read of the underlying stream."""
        self._check_mode("rb")
        return self._reader.read1(size)

    def readinto(self, buffer: Any) -> int:
        """Read into *buffer*; return the number of bytes read."""
        self._check_mode("rb")
        return self._reader.readinto(buffer)

    def readinto1(self, buffer: Any) -> int:
        """Read into *buffer* with at most one underlying read."""
        self._check_mode("rb")
        return self._reader.readinto1(buffer)

    def peek(self, size: int = 0) -> bytes:
        """Return buffered bytes without advancing (at least one unless at EOF)."""
        self._check_mode("rb")
        return self._reader.peek(size)

    def readline(self, size: int | None = -1) -> bytes:
        """Return the next line, including its newline."""
        self._check_mode("rb")
        return self._reader.readline(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to decoded offset *offset*; see the class docstring for the cost.

        In write mode only forward seeks work, and write zeros up to
        *offset* (as gzip does).
        """
        self._check_open()
        if self.mode == "wb":
            return self._seek_forward(offset, whence)
        if whence in (io.SEEK_SET, io.SEEK_CUR) and not self._raw.can_rewind:
            # The read buffer could serve a short backward seek: refuse them
            # all, as seekable() says, not only those past the buffer.
            here = self._reader.tell()
            if (offset if whence == io.SEEK_SET else here + offset) < here:
                raise io.UnsupportedOperation("cannot seek backward on an unseekable file")
        return self._reader.seek(offset, whence)

    def _seek_forward(self, offset: int, whence: int) -> int:
        if whence == io.SEEK_CUR:
            offset += self._written
        elif whence != io.SEEK_SET:
            raise ValueError("seek from the end is not supported in write mode")
        if offset < self._written:
            raise OSError("negative seek in write mode")
        zeros = bytes(min(offset - self._written, self._block_size))
        while self._written < offset:
            self.write(memoryview(zeros)[: offset - self._written])
        return self._written

    def tell(self) -> int:
        """Return the current decoded offset (read) or bytes written so far (write)."""
        self._check_open()
        if self.mode == "rb":
            return self._reader.tell()
        return self._written

    # -- writing -------------------------------------------------------------

    def write(self, data: Buffer) -> int:  # type: ignore[override]
        """Compress and write *data*; return its length in bytes."""
        self._check_mode("wb")
        if self._broken:
            raise ValueError("cannot write: an earlier write failed and the frame was abandoned")
        view = memoryview(data).cast("B")
        size = self._block_size
        self._compressor.rearm()
        try:
            if self._cutter is not None:
                for piece in self._cutter.feed(view):
                    self._emit(self._compressor.feed(piece))
                self._written += len(view)
                return len(view)
            start = 0
            if self._pending:
                take = min(size - len(self._pending), len(view))
                self._pending += view[:take]
                start = take
                if len(self._pending) == size:
                    self._submit_pending()
            # Full blocks straight from the caller's buffer; each is copied
            # once, since the caller may reuse its buffer after we return.
            while len(view) - start >= size:
                self._emit(self._compressor.feed(bytes(view[start : start + size])))
                start += size
            self._pending += view[start:]
        except BaseException:
            self._broken = True
            raise
        self._written += len(view)
        return len(view)

    def flush(self) -> None:
        """Compress what is buffered into a (possibly short) block and write everything."""
        self._check_open()
        if self.mode == "wb" and not self._broken:
            self._compressor.rearm()
            try:
                self._submit_pending()
                self._emit(self._compressor.drain())
            except BaseException:
                self._broken = True
                raise
            if hasattr(self._fp, "flush"):
                self._fp.flush()

    def _submit_pending(self) -> None:
        if self._cutter is not None:
            for piece in self._cutter.finish():
                self._emit(self._compressor.feed(piece))
        if self._pending:
            block = bytes(self._pending)
            self._pending.clear()
            self._emit(self._compressor.feed(block))

    def _emit(self, parts: list[Buffer]) -> None:
        for part in parts:
            self._fp.write(part)

    def __repr__(self) -> str:
        return f"<crush.CrushFile name={self.name!r} mode={self.mode!r}>"

    def __iter__(self) -> Iterator[bytes]:
        # The file itself, not its buffered reader: ``for line in
        # crush.open(p)`` must keep the file (whose finaliser closes the
        # reader) alive for the whole loop.
        self._check_mode("rb")
        return self

    def __next__(self) -> bytes:
        """Return the next line (iteration reads lines)."""
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def open(
    file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | BinaryFile,
    mode: str = "rb",
    *,
    plugin: str | None = None,
    level: Level = None,
    prefer: Prefer | None = None,
    weights: tuple[float, float] | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    cancel: CancelToken | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    block_size: int | None = None,
    file_info: frame.FileInfo | None = None,
    max_output_size: int | None = None,
    isolation: Isolation | None = None,
    registry: Registry | None = None,
    rsyncable: bool = False,
    format: str | None = None,  # zstd and crabz name it so
) -> CrushFile | io.TextIOWrapper:
    """Open a crush-compressed file in binary or text mode, like :func:`gzip.open`.

    *file* is a path (str, bytes, PathLike) or a binary file object. *mode*
    is ``r``, ``rb``, ``w``, ``wb``, ``x``, ``xb``, ``a``, ``ab`` (binary,
    default ``rb``) or ``rt``, ``wt``, ``xt``, ``at`` (text). Binary modes
    return a :class:`CrushFile`; text modes wrap it in
    :class:`io.TextIOWrapper` with *encoding*, *errors* and *newline*.
    ``a`` appends a new frame; reading decodes all frames as one stream.
    Reading detects standard formats (gzip, zstd, xz, bz2, lz4) by their
    magic bytes; *format* writes one (``"gzip"``, ``"bgzf"``, ``"zstd"``).
    The other options are those of :func:`crush.compress` and
    :func:`crush.decompress` (*rsyncable* for writing: the blocks are those
    :func:`crush.compress` cuts, except that ``flush()`` also ends one).
    """
    if "t" in mode:
        if "b" in mode:
            raise ValueError(f"invalid mode: {mode!r}")
        binary_mode = mode.replace("t", "")
    else:
        if encoding is not None:
            raise ValueError("argument 'encoding' not supported in binary mode")
        if errors is not None:
            raise ValueError("argument 'errors' not supported in binary mode")
        if newline is not None:
            raise ValueError("argument 'newline' not supported in binary mode")
        binary_mode = mode
    binary = CrushFile(
        file, binary_mode, plugin=plugin, level=level, prefer=prefer, weights=weights,
        threads=threads, timeout=timeout,
        cancel=cancel, block_size=block_size, file_info=file_info,
        max_output_size=max_output_size, isolation=isolation, registry=registry,
        rsyncable=rsyncable, format=format,
    )
    if "t" in mode:
        encoding = io.text_encoding(encoding)
        text = io.TextIOWrapper(binary, encoding, errors, newline)
        if binary.mode == "wb":
            _write_bom(binary, text.encoding)
            finalise_at_exit(text)
        return text
    return binary


def _write_bom(binary: CrushFile, encoding: str) -> None:
    # io.TextIOWrapper writes the BOM of utf-16 and utf-32 only when its
    # buffer is seekable and at offset 0, and a writer is not seekable
    # (CPython gh-80485 hits bz2 and lzma the same way): write it here when
    # the file starts with this frame. Appending after data writes none, so
    # the frames read back as one text.
    if codecs.lookup(encoding).name not in ("utf-16", "utf-32"):
        return
    fp = binary._fp
    if fp.seekable() and fp.tell() != 0:
        return
    binary.write("".encode(encoding))


@final
class StreamStats(NamedTuple):
    """What a stream copy did: bytes read and written, the plugin, seconds taken."""

    bytes_in: int
    bytes_out: int
    plugin: str
    seconds: float


def compress_stream(
    src: BinaryFile,
    dst: BinaryFile,
    /,
    *,
    plugin: str | None = None,
    level: Level = None,
    prefer: Prefer | None = None,
    weights: tuple[float, float] | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    cancel: CancelToken | None = None,
    block_size: int | None = None,
    file_info: frame.FileInfo | None = None,
    isolation: Isolation | None = None,
    registry: Registry | None = None,
    rsyncable: bool = False,
    format: str | None = None,  # zstd and crabz name it so
) -> StreamStats:
    """Compress everything *src* yields into one crush frame written to *dst*.

    Memory stays at about block size x (threads + 1) (x 8 more with
    *rsyncable*). The deadline applies per block. Neither file is closed.
    Options as for :func:`crush.compress`; the blocks are those
    :func:`crush.compress` makes of the same bytes. *format* writes a
    standard format instead (``plugin`` in the result then names the
    format; *rsyncable* does not apply).
    """
    started = time.perf_counter()
    opts = options(registry, threads, timeout, cancel, isolation)
    size = check_block_size(block_size)
    compressor, size, cutter = _writer(opts, size, format=format, plugin=plugin, level=level,
                                       prefer=prefer, weights=weights, info=file_info,
                                       rsyncable=rsyncable)
    write = dst.write
    bytes_in = bytes_out = 0
    try:
        if cutter is None and isinstance(compressor, engine.Compressor):
            bytes_in, bytes_out = _feed_reusing(src, write, compressor, size)
        else:
            bytes_in, bytes_out = _feed(src, write, compressor, size, cutter)
        compressor.rearm()
        for part in compressor.finish():
            bytes_out += len(part)
            write(part)
    finally:
        compressor.close()
    if isinstance(compressor, engine.Compressor):
        assert compressor.plugin is not None  # finish() chose one at the latest
        name = compressor.plugin.name
    else:
        name = compressor.fmt.name
    return StreamStats(bytes_in, bytes_out, name, time.perf_counter() - started)


def _feed(src: BinaryFile, write: Any, compressor: Any, size: int,
          cutter: chunking.Cutter | None) -> tuple[int, int]:
    """Feed all of *src* to *compressor* (cut by *cutter*, if any); return bytes in and out.

    Each block is a fresh bytes object: the cutter and the standard formats'
    compressors may keep pieces of it past the call.
    """
    bytes_in = bytes_out = 0
    while block := read_full(src, size):
        bytes_in += len(block)
        compressor.rearm()
        for piece in cutter.feed(block) if cutter else (block,):
            for part in compressor.feed(piece):
                bytes_out += len(part)
                write(part)
    if cutter is not None:
        compressor.rearm()
        for part in [p for piece in cutter.finish() for p in compressor.feed(piece)]:
            bytes_out += len(part)
            write(part)
    return bytes_in, bytes_out


def _feed_reusing(src: BinaryFile, write: Any, compressor: engine.Compressor, size: int
                  ) -> tuple[int, int]:
    """Feed all of *src* to *compressor* through a few reused buffers; return bytes in and out.

    Each block is read with ``readinto`` into a buffer that is refilled once
    the compressor has returned that block's frame bytes and they are
    written (a raw block's payload is the buffer itself), so no block costs
    fresh memory and its page faults. At most threads + 1 buffers exist.
    Returns (0, 0) for an empty *src*, leaving the end to the caller.
    """
    spare: list[bytearray] = []
    held: deque[bytearray] = deque()
    bytes_in = bytes_out = 0
    while True:
        buffer = spare.pop() if spare else bytearray(size)
        got = readinto_full(src, buffer)
        if not got:
            return bytes_in, bytes_out
        bytes_in += got
        compressor.rearm()
        held.append(buffer)
        for part in compressor.feed(memoryview(buffer)[:got]):
            bytes_out += len(part)
            write(part)
        while len(held) > compressor.pending:
            spare.append(held.popleft())


def decompress_stream(
    src: BinaryFile,
    dst: BinaryFile,
    /,
    *,
    max_output_size: int | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    cancel: CancelToken | None = None,
    isolation: Isolation | None = None,
    registry: Registry | None = None,
) -> StreamStats:
    """Decode every crush frame *src* yields and write the content to *dst*.

    Blocks are decoded ahead in parallel; memory grows by at most
    (3 x threads + 1) x block size (see the README). The deadline applies
    per block. Neither file is closed.
    ``plugin`` in the result names the first frame's plugin.
    """
    started = time.perf_counter()
    opts = options(registry, threads, timeout, cancel, isolation)
    from .formats import run

    src, head = run.head_of(src)
    fmt = run.sniff(head)
    if fmt is not None:
        return _decompress_format(src, dst, fmt, opts, max_output_size=max_output_size,
                                  started=started)
    source = FileSource(src)
    first: list[str] = []

    def note(start: engine.BlockStart) -> None:
        if not first:
            found = opts.registry.find_id(start.header.plugin_id)
            first.append(found.name if found else f"0x{start.header.plugin_id:02x}")

    # reuse: write(b) must not keep b past its return (the io contract), so
    # each block can be decoded into the buffer the one before it was.
    decoder = engine.FrameDecoder(source, opts, max_output_size, on_block=note, reuse=True)
    bytes_out = 0
    blocks = decoder.blocks()
    try:
        for block in blocks:
            dst.write(block)
            bytes_out += len(block)
            # Let go of this block before the next is taken: the loop
            # variable would otherwise hold it while the next one decodes.
            del block
            decoder.rearm()
    finally:
        blocks.close()
        decoder.close()
    if not first:
        first.append("")
    return StreamStats(source.tell(), bytes_out, first[0], time.perf_counter() - started)


def _decompress_format(src: BinaryFile, dst: BinaryFile, fmt: Any, opts: Options, *,
                       max_output_size: int | None, started: float) -> StreamStats:
    from .formats import run

    decoder = run.decode_file(src, fmt, opts, max_output_size)
    bytes_out = 0
    try:
        for piece in decoder:
            dst.write(piece)
            bytes_out += len(piece)
            decoder.rearm()
    finally:
        decoder.close()
    return StreamStats(decoder.consumed, bytes_out, fmt.name, time.perf_counter() - started)


__all__ = ["CrushFile", "StreamStats", "compress_stream", "decompress_stream", "open"]
