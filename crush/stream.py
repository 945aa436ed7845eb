"""Streaming: ``crush.open()`` file objects and stream-to-stream copies.

Memory is bounded by the block size times the blocks in flight, whatever
the input size. Both directions run through the same engine as the
in-memory API (:class:`~crush.engine.Compressor`,
:class:`~crush.engine.FrameDecoder`), so framing exists once.

Deadlines on streams apply per call (each ``write``, ``flush``, ``read``,
``seek``, ``close``) and, in :func:`compress_stream` and
:func:`decompress_stream`, per block: a stream that keeps making progress
never times out, a stuck plugin does.
"""

from __future__ import annotations

import bisect
import codecs
import io
import os
import sys
import time
from collections.abc import Iterator
from typing import IO
from typing import Any
from typing import Final
from typing import Literal
from typing import NamedTuple
from typing import final

from . import engine
from . import frame
from .contract import Buffer
from .contract import CancelToken
from .errors import CancelledError
from .errors import TruncatedFrameError
from .options import Level
from .options import Options
from .options import check_block_size
from .options import options
from .registry import Isolation
from .registry import Registry
from .selection import Prefer
from .selection import chooser

_READ_BUFFER: Final = 64 << 10

BinaryFile = IO[bytes] | io.BufferedIOBase | io.RawIOBase


@final
class FileSource:
    """A :class:`~crush.frame.Source` over a binary file object.

    Offsets count from *base* (the file position where decoding started).
    Not thread-safe.
    """

    __slots__ = ("_ahead", "_fp", "_pos")

    def __init__(self, fp: Any, base: int = 0) -> None:
        self._fp = fp
        self._pos = base
        self._ahead = b""

    def read_exact(self, n: int, what: str) -> bytes:
        """Return exactly *n* bytes or raise TruncatedFrameError naming *what*."""
        data = self._ahead
        self._ahead = b""
        if len(data) < n:
            parts = [data]
            got = len(data)
            while got < n:
                chunk = self._fp.read(n - got)
                if not chunk:
                    raise TruncatedFrameError(
                        f"crush data is truncated: {what} needs {n} bytes at offset "
                        f"{self._pos}, the input ends after {got}",
                        offset=self._pos + got,
                    )
                parts.append(chunk)
                got += len(chunk)
            data = b"".join(parts)
        elif len(data) > n:
            data, self._ahead = data[:n], data[n:]
        self._pos += n
        return data

    def at_eof(self) -> bool:
        """Return True when the file has no more bytes (reads one byte ahead)."""
        if not self._ahead:
            self._ahead = self._fp.read(1) or b""
        return not self._ahead

    def tell(self) -> int:
        """Return the offset of the next byte."""
        return self._pos


def _read_full(fp: Any, n: int) -> bytes:
    # Pipes and sockets return short reads; a block should be full-sized.
    data = fp.read(n)
    if not data or len(data) == n:
        return data or b""
    parts = [data]
    got = len(data)
    while got < n:
        chunk = fp.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


class _Reader(io.RawIOBase):
    """Decoded content as a raw stream, with an index of blocks for seeking."""

    def __init__(self, fp: Any, opts: Options, max_output_size: int | None) -> None:
        self._fp = fp
        self._opts = opts
        self._limit = max_output_size
        self._start = fp.tell() if fp.seekable() else 0
        self._index: list[engine.BlockStart] = []
        self._starts: list[int] = []  # content offsets of _index, for bisect
        self._pos = 0
        self._eof_at: int | None = None
        self._error: BaseException | None = None
        self._open(None)

    def _open(self, resume: engine.BlockStart | None) -> None:
        base = resume.file_offset if resume else 0
        if self._fp.seekable():
            self._fp.seek(self._start + base)
        self._decoder = engine.FrameDecoder(
            FileSource(self._fp, base), self._opts, self._limit,
            resume=resume, on_block=self._remember,
        )
        self._blocks = iter(self._decoder)
        self._block: memoryview = memoryview(b"")
        self._pos = resume.content_offset if resume else 0
        self._error = None

    def _next_block(self) -> bool:
        # After an error the decoder's generator is finished and would read
        # as a clean end of file: keep raising until a seek reopens it.
        if self._error is not None:
            raise self._error
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

    def _remember(self, start: engine.BlockStart) -> None:
        if not self._starts or start.content_offset > self._starts[-1]:
            self._index.append(start)
            self._starts.append(start.content_offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        # Forward seeks decode ahead, so they work on unseekable input too
        # (gzip's _PaddedFile does the same); _jump refuses backward ones.
        return True

    def readinto(self, buffer: Any) -> int:
        self._decoder.rearm()
        while not self._block:
            if not self._next_block():
                return 0
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._block))
        view[:n] = self._block[:n]
        self._block = self._block[n:]
        self._pos += n
        return n

    def readall(self) -> bytes:
        parts = [bytes(self._block)]
        self._pos += len(self._block)
        self._block = memoryview(b"")
        self._decoder.rearm()
        while self._next_block():
            parts.append(bytes(self._block))
            self._pos += len(self._block)
            self._block = memoryview(b"")
            self._decoder.rearm()
        return b"".join(parts)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            if self._eof_at is None:
                if self._fp.seekable():
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
        if not self._fp.seekable():
            if target < self._pos:
                raise io.UnsupportedOperation("cannot seek backward on an unseekable file")
            return  # decode forward
        if not self._starts or target >= self._starts[-1]:
            self._skip_to(target)
        i = bisect.bisect_right(self._starts, target) - 1
        if i < 0:
            self._open(None)
            return
        start = self._index[i]
        if start.content_offset <= self._pos <= target:
            return  # already in or before that block: reading forward is cheaper
        self._decoder.close()
        self._open(start)

    def _skip_to(self, target: int | None) -> None:
        # Walk block records past the furthest known block, reading sizes and
        # stored CRCs but not decompressing, until *target* (None: the end).
        if self._index:
            last = self._index[-1]
            self._fp.seek(self._start + last.next_offset)
            src = FileSource(self._fp, last.next_offset)
            header = last.header
            offset = last.content_offset + last.size
            total = last.frame_total + last.size
            crc = frame.crc32_combine(last.frame_crc, last.crc, last.size)
        else:
            self._fp.seek(self._start)
            src = FileSource(self._fp, 0)
            header = frame.read_header(src)
            offset = total = crc = 0
        while target is None or offset <= target:
            here = src.tell()
            record = frame.read_record(src, header)
            if isinstance(record, frame.EndRecord):
                if src.at_eof():
                    self._eof_at = offset
                    break
                header = frame.read_header(src)
                total = crc = 0
                continue
            self._remember(engine.BlockStart(here, src.tell(), offset, record.size,
                                             record.crc, header, total, crc))
            offset += record.size
            total += record.size
            crc = frame.crc32_combine(crc, record.crc, record.size)
        # The walk moved the file under the live decoder: restart it at the
        # furthest block found (the one holding *target*, or the last).
        self._decoder.close()
        self._open(self._index[-1] if self._index else None)

    def _discard(self, n: int) -> None:
        buf = bytearray(min(n, 1 << 20) or 1)
        while n > 0:
            got = self.readinto(memoryview(buf)[: min(n, len(buf))])
            if not got:
                return
            n -= got

    def close(self) -> None:
        if not self.closed:
            self._decoder.close()
        super().close()


def _open_reader(fp: Any, opts: Options, max_output_size: int | None) -> io.RawIOBase:
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
        format: str | None = None,  # zstd and crabz name it so
    ) -> None:
        if mode not in ("r", "rb", "w", "wb", "x", "xb", "a", "ab"):
            raise ValueError(f"invalid mode: {mode!r}")
        self._fp: Any = None  # closed until the file is open
        self._opts = options(registry, threads, timeout, cancel, isolation)
        self.mode: Literal["rb", "wb"] = "rb" if mode[0] == "r" else "wb"
        self._broken = False
        if self.mode == "wb":
            # Validate every option (and build the compressor) before a path
            # is created or truncated: a bad option must not destroy a file.
            self._block_size = check_block_size(block_size)
            self._pending = bytearray()
            self._written = 0
            self._compressor: Any = _format_compressor(format, level, self._opts, file_info)
            if self._compressor is not None:
                self._block_size = self._compressor.fmt.block_size(self._block_size)
            else:
                chosen = chooser(plugin=plugin, level=level, prefer=prefer, weights=weights,
                                 registry=self._opts.registry)
                self._compressor = engine.Compressor(
                    chosen, level, self._opts, block_size=self._block_size, info=file_info
                )
        self._owns_fp = isinstance(file, str | bytes | os.PathLike)
        try:
            if self._owns_fp:
                # Closed in close(); the object outlives this method.
                self._fp = io.open(file, mode[0] + "b")  # type: ignore[arg-type]  # noqa: SIM115, UP020
                self.name: str | bytes | int = os.fspath(file)  # type: ignore[arg-type]
            elif hasattr(file, "read") or hasattr(file, "write"):
                self._fp = file
                self.name = getattr(file, "name", "")
            else:
                raise TypeError(f"file must be a path or a binary file object, not "
                                f"{type(file).__name__}")
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
        """Return True in read mode over a seekable file (forward seeks work on any)."""
        self._check_open()
        return self.mode == "rb" and bool(self._fp.seekable())

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
        """Move to decoded offset *offset*; see the class docstring for the cost."""
        self._check_mode("rb")
        return self._reader.seek(offset, whence)

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
        self._check_mode("rb")
        return iter(self._reader)


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
    :func:`crush.decompress`.
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
        max_output_size=max_output_size, isolation=isolation, registry=registry, format=format,
    )
    if "t" in mode:
        encoding = io.text_encoding(encoding)
        text = io.TextIOWrapper(binary, encoding, errors, newline)
        if binary.mode == "wb":
            _write_bom(binary, text.encoding)
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
    format: str | None = None,  # zstd and crabz name it so
) -> StreamStats:
    """Compress everything *src* yields into one crush frame written to *dst*.

    Memory stays at about block size x (threads + 1). The deadline applies
    per block. Neither file is closed. Options as for :func:`crush.compress`;
    *format* writes a standard format instead (``plugin`` in the result
    then names the format).
    """
    started = time.perf_counter()
    opts = options(registry, threads, timeout, cancel, isolation)
    size = check_block_size(block_size)
    compressor: Any = _format_compressor(format, level, opts, file_info)
    if compressor is not None:
        size = compressor.fmt.block_size(size)
    else:
        chosen = chooser(plugin=plugin, level=level, prefer=prefer, weights=weights,
                         registry=opts.registry)
        compressor = engine.Compressor(chosen, level, opts, block_size=size, info=file_info)
    write = dst.write
    bytes_in = bytes_out = 0
    try:
        while block := _read_full(src, size):
            bytes_in += len(block)
            compressor.rearm()
            for part in compressor.feed(block):
                bytes_out += len(part)
                write(part)
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

    Blocks are decoded ahead in parallel; memory stays at about block size x
    (threads + 1). The deadline applies per block. Neither file is closed.
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

    decoder = engine.FrameDecoder(source, opts, max_output_size, on_block=note)
    bytes_out = 0
    try:
        for block in decoder:
            dst.write(block)
            bytes_out += len(block)
            decoder.rearm()
    finally:
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
