"""A standard-format file as a raw stream, for ``crush.open``'s read mode.

Seeking jumps straight to a unit when the file has an index (zstd seek
table); otherwise forward seeks decode ahead and backward seeks re-read
from the start (as ``gzip.GzipFile`` does).
"""

from __future__ import annotations

import io
from typing import Any

from ..options import Options
from .contract import Format
from .decode import Decoder
from .source import Input


class FormatReader(io.RawIOBase):
    """Decoded content of *fp* in format *fmt*. Not thread-safe."""

    def __init__(self, fp: Any, fmt: Format, opts: Options, max_output_size: int | None) -> None:
        super().__init__()
        self._fp = fp
        self._fmt = fmt
        self._opts = opts
        self._limit = max_output_size
        self._start = fp.tell() if fp.seekable() else 0
        self._open(0)

    def _open(self, unit: int) -> None:
        if self._fp.seekable():
            self._fp.seek(self._start)
        inp = Input(fp=self._fp)
        index = getattr(self, "_decoder", None)
        self._decoder = Decoder(inp, self._fmt, self._opts, self._limit,
                                index=index.index if index is not None else None, start=unit)
        idx = self._decoder.index
        self._pos = idx.content[unit] if idx is not None and unit < len(idx.content) else 0
        self._pieces = iter(self._decoder)
        self._piece = memoryview(b"")

    def readable(self) -> bool:
        """Return True."""
        return True

    def seekable(self) -> bool:
        """Return True (backward seeks re-read unless indexed)."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read decoded bytes into *buffer*."""
        self._decoder.rearm()
        while not self._piece:
            piece = next(self._pieces, None)
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
        index = self._decoder.index
        if index is not None and index.content:
            unit = index.find(target)
            if not index.content[unit] <= self._pos <= target:
                self._decoder.close()
                self._open(unit)
        elif target < self._pos:
            if not self._fp.seekable():
                raise io.UnsupportedOperation("cannot seek backward on an unseekable file")
            self._decoder.close()
            self._open(0)
        buf = bytearray(1 << 16)
        while self._pos < target and self.readinto(memoryview(buf)[: target - self._pos]):
            pass
        return self._pos

    def close(self) -> None:
        """Cancel work ahead and close."""
        if not self.closed:
            self._decoder.close()
        super().close()
