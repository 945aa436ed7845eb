"""fsspec: ``compression="crush"`` and the ``crush::`` filesystem for splittable reads.

Two ways in, for two jobs:

- **Compression** (streaming, one reader per file): after :func:`register`,
  ``fsspec.open("f.csv.crush", "rt", compression="infer")`` (or
  ``compression="crush"``) decodes, and ``"wt"`` encodes; Dask's
  ``to_csv(..., compression="crush")`` writes through it. Dask refuses
  ``blocksize`` for compressed files, so this way one file is one partition.
- **Filesystem** (random access): ``crush::file:///data/big.csv.crush`` (or
  ``crush::s3://bucket/big.csv.crush``) is a read-only filesystem holding
  one file, the decompressed content, with its true size and cheap seeks
  (jump to the block that holds the offset, decode from there). Dask's
  ``read_csv(..., blocksize="64MiB")`` then splits one crush file into many
  partitions. The file is listed as the outer name without ``.crush``;
  the empty path (what a ``crush::URL`` chain opens) names it too.

Registration: fsspec finds the filesystem through the ``fsspec.specs``
entry point (importing this module only when ``crush::`` is first used).
fsspec has no entry point group for compressions, so importing this module
registers the compression too, and :func:`register` does both explicitly:
call it once in frozen or vendored apps, or rely on the Dask worker plugin
(:mod:`crush.integrations.dask`) on workers.

Threads: both ways decode with ``threads`` blocks in parallel; when not
given, the ``CRUSH_THREADS`` environment variable, else crush's default
(every CPU). Inside Dask workers set 1 (the worker plugin does).
"""

from __future__ import annotations

import bisect
import io
import os
from collections.abc import Iterator
from typing import Any
from typing import Final
from typing import NamedTuple
from typing import final

import fsspec
from fsspec.archive import AbstractArchiveFileSystem
from fsspec.utils import tokenize

from .. import engine
from .. import seektable
from .._source import FileSource
from ..contract import Buffer
from ..errors import ConfigError
from ..options import Options
from ..options import options
from ..stream import CrushFile
from ..stream import open as crush_open

PROTOCOL: Final = "crush"
"""The name of the compression and of the filesystem protocol."""
EXTENSION: Final = "crush"
"""The file extension ``compression="infer"`` maps to crush."""
_READ_BUFFER: Final = 64 << 10


def threads_from_env(threads: int | None = None) -> int | None:
    """Return *threads*, else ``CRUSH_THREADS`` from the environment, else None (crush's default).

    Raises ConfigError for a ``CRUSH_THREADS`` that is not an int >= 1.
    """
    if threads is not None:
        return threads
    text = os.environ.get("CRUSH_THREADS", "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"CRUSH_THREADS must be an int >= 1, got {text!r}")
    return value


def open_compressed(infile: Any, mode: str = "rb", **kwargs: Any) -> CrushFile:
    """Wrap the binary file *infile* in a :class:`~crush.CrushFile`: fsspec's compression callback.

    fsspec passes *mode* as ``"r"`` or ``"w"`` (text modes are its own
    wrapper around this binary one), other callers ``"rb"``/``"wb"``; both
    work. *kwargs* go to :func:`crush.open` (``plugin``, ``level``,
    ``threads``, ...). Closing the result does not close *infile*.
    """
    kwargs["threads"] = threads_from_env(kwargs.get("threads"))
    opened = crush_open(infile, mode[:1] + "b", **kwargs)
    assert isinstance(opened, CrushFile)  # a binary mode gives the binary file
    return opened


def register() -> None:
    """Register the ``crush`` compression (extension ``.crush``) and the ``crush`` protocol.

    Safe to call more than once. Refuses (ValueError) when another library
    already registered a different ``crush`` compression or extension,
    rather than silently replacing it.
    """
    from fsspec.compression import compr
    from fsspec.compression import register_compression
    from fsspec.utils import compressions

    current = compr.get(PROTOCOL)
    if current is not open_compressed or compressions.get(EXTENSION) != PROTOCOL:
        # Replace only our own entry (a reloaded module makes a new callback);
        # fsspec raises ValueError for anyone else's name or extension.
        ours = current is not None and getattr(current, "__module__", None) == __name__
        register_compression(PROTOCOL, open_compressed, EXTENSION, force=ours)
    fsspec.register_implementation(PROTOCOL, CrushFileSystem)


@final
class BlockTable(NamedTuple):
    """Where every block of a crush file starts: the index behind seeks and the size.

    ``blocks[i]`` resumes decoding at block *i* (see
    :class:`~crush.engine.BlockStart`), ``starts[i]`` is its content offset
    (for bisecting) and ``size`` the decompressed size of the whole file.
    """

    blocks: tuple[engine.BlockStart, ...]
    starts: tuple[int, ...]
    size: int

    def block_at(self, offset: int) -> engine.BlockStart:
        """Return the block holding content *offset* (0 <= offset < size)."""
        return self.blocks[bisect.bisect_right(self.starts, offset) - 1]


def block_table(fp: Any) -> BlockTable:
    """Return the :class:`BlockTable` of the crush file *fp* (seekable, binary, read from 0).

    One read of each v2 frame's footer (the seek table, see
    :func:`crush.read_index`); v1 frames are walked record by record,
    seeking past the payloads. No decompression. Raises
    :class:`~crush.CrushError` subclasses for a malformed file.
    """
    fp.seek(0)
    index = seektable.read_index(fp)
    blocks = [engine.resume_point(index, entry) for entry in index]
    return BlockTable(tuple(blocks), tuple(b.content_offset for b in blocks), index.size)


class _BlockReader(io.RawIOBase):
    """The decoded content of one crush file as a seekable raw stream over a :class:`BlockTable`.

    A seek only moves the position; the next read starts a decoder at the
    block holding it (every block CRC is still checked, and the frame CRC
    at each end marker). Owns and closes *fp*. Not thread-safe.
    """

    def __init__(self, fp: Any, table: BlockTable, opts: Options) -> None:
        self.name = ""
        self._fp = fp
        self._table = table
        self._opts = opts
        self._pos = 0
        self._decoder: engine.FrameDecoder | None = None
        self._blocks: Iterator[Buffer] = iter(())
        self._block = memoryview(b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self._table.size
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        target = max(0, offset)
        ahead = target - self._pos
        if 0 <= ahead <= len(self._block):
            self._block = self._block[ahead:]  # still inside the decoded block
        else:
            self._stop()
        self._pos = target
        return target

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._table.size:
            return 0
        try:
            if self._decoder is None:
                self._start()
            assert self._decoder is not None
            self._decoder.rearm()
            while not self._block:
                self._block = memoryview(next(self._blocks)).cast("B")
        except BaseException:
            # The decoder's generator is spent after an error: start over at
            # the same offset on the next read rather than report a clean end.
            self._stop()
            raise
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._block))
        view[:n] = self._block[:n]
        self._block = self._block[n:]
        self._pos += n
        return n

    def _start(self) -> None:
        start = self._table.block_at(self._pos)
        self._fp.seek(start.file_offset)
        self._decoder = engine.FrameDecoder(FileSource(self._fp, start.file_offset),
                                            self._opts, resume=start)
        self._blocks = iter(self._decoder)
        first = memoryview(next(self._blocks)).cast("B")
        self._block = first[self._pos - start.content_offset :]

    def _stop(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
        self._decoder = None
        self._blocks = iter(())
        self._block = memoryview(b"")

    def close(self) -> None:
        if not self.closed:
            try:
                self._stop()
            finally:
                self._fp.close()
        super().close()


class CrushFileSystem(AbstractArchiveFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """A read-only fsspec filesystem whose one file is a crush file's decompressed content.

    *fo* is the crush file (a URL or path, opened with *target_protocol*
    and *target_options*, as fsspec's chained URLs pass them). *threads*
    is how many blocks each open file decodes in parallel (default: see
    :func:`threads_from_env`). The block table is built on first use and
    rebuilt when the crush file's size changes. Instances are cached and
    pickled by fsspec (a Dask worker rebuilds the table once). Open files
    are not thread-safe; the filesystem is.
    """

    protocol = PROTOCOL
    root_marker = ""

    def __init__(
        self,
        fo: str = "",
        *,
        target_protocol: str | None = None,
        target_options: dict[str, Any] | None = None,
        threads: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(fo, str) or not fo:
            raise ValueError("the crush filesystem needs fo, the crush file's URL or path")
        target_options = dict(target_options or {})
        if target_protocol is None:
            self._target, self._path = fsspec.core.url_to_fs(fo, **target_options)
        else:
            self._target = fsspec.filesystem(target_protocol, **target_options)
            self._path = self._target._strip_protocol(fo)
        self.fo = self._path
        base = self._path.rstrip("/").rsplit("/", 1)[-1]
        self._name = base.removesuffix("." + EXTENSION) or base
        self._opts = options(None, threads_from_env(threads), None, None)
        self._table: tuple[int, BlockTable] | None = None
        self.dir_cache: dict[str, dict[str, Any]] | None = None

    def table(self) -> BlockTable:
        """Return the crush file's :class:`BlockTable` (cached while its size is unchanged)."""
        stored = int(self._target.size(self._path))
        if self._table is None or self._table[0] != stored:
            with self._target.open(self._path, "rb") as fp:
                self._table = (stored, block_table(fp))
            self.dir_cache = None
        return self._table[1]

    def ukey(self, path: str) -> str:
        """Return a key that changes when the crush file does (Dask caches results by it)."""
        return str(tokenize(self._resolve(path), self._target.ukey(self._path)))

    def _get_dirs(self) -> None:
        size = self.table().size
        if self.dir_cache is None:
            self.dir_cache = {self._name: {"name": self._name, "size": size, "type": "file"}}

    def _resolve(self, path: str) -> str:
        path = self._strip_protocol(path)
        # A "crush::URL" chain opens the empty path: the one file.
        return self._name if path in ("", "/") else path

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Return the one file's details (its ``size`` is the decompressed size)."""
        return dict(super().info(self._resolve(path), **kwargs))

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> io.BufferedReader:
        if mode != "rb":
            raise NotImplementedError(f"the crush filesystem is read-only; got mode {mode!r}")
        if self._resolve(path) != self._name:
            raise FileNotFoundError(path)
        table = self.table()
        fp = self._target.open(self._path, "rb")
        try:
            raw = _BlockReader(fp, table, self._opts)
        except BaseException:
            fp.close()
            raise
        raw.name = self._name  # BufferedReader.name reads it; pandas and Dask show it
        return io.BufferedReader(raw, _READ_BUFFER)


# fsspec has no entry point group for compressions: whoever loads this module
# (the fsspec.specs entry point on first "crush::" use, the Dask worker
# plugin, an explicit import) gets compression="crush" too.
register()
