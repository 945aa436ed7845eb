"""A standard-format file as a raw stream, for ``crush.open``'s read mode.

Seeking jumps straight to a unit when the file has an index: a zstd seek
table, a BGZF ``.gzi`` file next to the file, or the units whose sizes
their headers declare (BGZF, crush's gzip), remembered as they are read.
Otherwise forward seeks decode ahead and backward seeks re-read from the
start (as ``gzip.GzipFile`` does).
"""

from __future__ import annotations

import bisect
import io
import os
from typing import Any
from typing import Final

from ..errors import CrushError
from ..options import Options
from .bgzf import read_gzi
from .contract import Format
from .decode import Decoder
from .gzip import read_info
from .index import BlockIndex
from .source import Input

_MAX_GZI: Final = 1 << 30


def _gzi_beside(fp: Any) -> BlockIndex | None:
    """Return the ``.gzi`` index next to the file *fp* was opened from, if one is readable."""
    name = getattr(fp, "name", None)
    if not isinstance(name, str | bytes):
        return None
    path = os.fsdecode(name) + ".gzi"
    try:
        if os.path.getsize(path) > _MAX_GZI:
            return None
        with open(path, "rb") as f:
            return read_gzi(f.read())
    except (OSError, CrushError):
        return None  # an unreadable index only costs speed


_INFO_HEAD: Final = 4096
"""Bytes of a gzip header read for its name and mtime (a stored name is at most 4 KiB)."""


def _seekable(fp: Any) -> bool:
    try:
        return bool(fp.seekable())
    except (OSError, ValueError, AttributeError):
        return False


class FormatReader(io.RawIOBase):
    """Decoded content of *fp* in format *fmt*. Not thread-safe."""

    def __init__(self, fp: Any, fmt: Format, opts: Options, max_output_size: int | None) -> None:
        super().__init__()
        self._fp = fp
        self._fmt = fmt
        self._opts = opts
        self._limit = max_output_size
        self.can_rewind = _seekable(fp)
        """Whether backward seeks work (they re-read the file, or jump by an index)."""
        self._start = fp.tell() if self.can_rewind else 0
        self.mtime: int | None = None
        """The mtime (seconds) a gzip header stores, as gzip's ``mtime`` (None elsewhere)."""
        if self.can_rewind and fmt.name in ("gzip", "bgzf"):
            info = read_info(bytes(fp.read(_INFO_HEAD) or b""))
            fp.seek(self._start)
            if info is not None and info.mtime_ns is not None:
                self.mtime = info.mtime_ns // 1_000_000_000
        self._units: list[tuple[int, int]] = []  # (content offset, stored offset), ascending
        gzi = _gzi_beside(fp) if self.can_rewind else None
        if gzi is not None:
            self._units = list(zip(gzi.content, gzi.stored, strict=True))
        self._index: BlockIndex | None = None
        self._open(0, None)

    def _remember(self, stored: int, content: int) -> None:
        if not self._units or content > self._units[-1][0]:
            self._units.append((content, stored))

    def _open(self, unit: int, resume: tuple[int, int] | None) -> None:
        if self.can_rewind:
            self._fp.seek(self._start)
        self._decoder = Decoder(Input(fp=self._fp), self._fmt, self._opts, self._limit,
                                index=self._index, start=unit, resume=resume,
                                on_unit=self._remember)
        idx = self._index = self._decoder.index
        if idx is not None and unit < len(idx.content):
            self._pos = idx.content[unit]
        else:
            self._pos = resume[1] if resume else 0
        self._pieces = iter(self._decoder)
        self._piece = memoryview(b"")
        self._error: Exception | None = None

    def readable(self) -> bool:
        """Return True."""
        return True

    def seekable(self) -> bool:
        """Return True: forward seeks decode ahead on any input; backward ones need ``can_rewind``.

        (They re-read the file unless an index knows the unit; ``CrushFile.seekable()``
        reports ``can_rewind``.)
        """
        return True

    def readinto(self, buffer: Any) -> int:
        """Read decoded bytes into *buffer*."""
        self._decoder.rearm()
        while not self._piece:
            # After an error the generator is finished and would read as a
            # clean end of file: keep raising until a seek reopens it.
            if self._error is not None:
                raise self._error
            try:
                piece = next(self._pieces, None)
            except Exception as exc:
                self._error = exc
                raise
            if piece is None:
                return 0
            self._piece = memoryview(piece).cast("B")
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._piece))
        view[:n] = self._piece[:n]
        self._piece = self._piece[n:]
        self._pos += n
        return n

    def tell(self) -> int:
        """Return the decoded offset."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to decoded offset *offset*."""
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            while self.readinto(bytearray(1 << 20)):
                pass
            offset += self._pos
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        target = max(0, offset)
        self._jump(target)
        buf = bytearray(1 << 16)
        while self._pos < target and self.readinto(memoryview(buf)[: target - self._pos]):
            pass
        return self._pos

    def _jump(self, target: int) -> None:
        # After an error the decoder is finished: any seek starts a new one.
        broken = self._error is not None
        index = self._index
        if index is not None and index.content:
            unit = index.find(target)
            if broken or not index.content[unit] <= self._pos <= target:
                self._decoder.close()
                self._open(unit, None)
            return
        if not self.can_rewind:
            if target < self._pos:
                raise io.UnsupportedOperation("cannot seek backward on an unseekable file")
            return
        i = bisect.bisect_right(self._units, (target, float("inf"))) - 1
        if i >= 0:
            content, stored = self._units[i]
            if broken or not content <= self._pos <= target:
                self._decoder.close()
                self._open(0, (stored, content))
        elif broken or target < self._pos:
            self._decoder.close()
            self._open(0, None)

    def close(self) -> None:
        """Cancel work ahead and close."""
        if not self.closed:
            self._decoder.close()
        super().close()
