"""The byte input every format reads from: a buffer or a binary file, with peek and unread."""

from __future__ import annotations

import io
from typing import Any
from typing import Final
from typing import final

from ..contract import Buffer
from ..errors import TruncatedFrameError

CHUNK: Final = 256 << 10
"""Bytes read from a file at a time (and the largest piece a stream decoder is fed)."""


@final
class Input:
    """Bytes of one compressed file, read forward, with look-ahead.

    Over a buffer (*data*) reads are slices; over a binary file (*fp*) they
    are file reads of at most :data:`CHUNK` bytes beyond what was asked.
    ``unread`` puts bytes back (a stream decoder's unused input). Offsets
    count from where reading started. Random access (:meth:`read_at`) works
    over a buffer or a seekable file. Not thread-safe.
    """

    __slots__ = ("_base", "_buf", "_fp", "_off", "_pos", "_view")

    def __init__(self, data: Buffer | None = None, fp: Any = None) -> None:
        self._view = memoryview(data).cast("B") if data is not None else None
        self._fp = fp
        # Pending bytes are _buf[_off:]: reads move _off instead of copying
        # the rest, so many small units cost no more than one large one.
        self._buf = b""
        self._off = 0
        self._pos = 0  # offset of the next byte handed out
        self._base = 0
        if fp is not None:
            try:
                self._base = fp.tell() if fp.seekable() else 0
            except (OSError, ValueError):
                self._base = 0

    def _fill(self, n: int) -> bool:
        """Make at least *n* bytes pending if the input has them; False at its end."""
        have = len(self._buf) - self._off
        if have >= n:
            return True
        parts = [self._buf[self._off :]]
        while have < n:
            if self._view is not None:
                start = self._pos + have
                chunk = bytes(self._view[start : start + max(n - have, CHUNK)])
            else:
                chunk = self._fp.read(max(n - have, CHUNK)) or b""
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self._buf = b"".join(parts)
        self._off = 0
        return have >= n

    def _take(self, n: int) -> bytes:
        data = self._buf[self._off : self._off + n]
        self._off += len(data)
        self._pos += len(data)
        return data

    def peek(self, n: int) -> bytes:
        """Return up to *n* next bytes without consuming them."""
        self._fill(n)
        return self._buf[self._off : self._off + n]

    def read(self, n: int) -> bytes:
        """Return the next bytes, at most *n* (and at least 1 unless at the end)."""
        if self._off >= len(self._buf):
            self._fill(1)
        return self._take(n)

    def read_exact(self, n: int, what: str) -> bytes:
        """Return exactly *n* bytes or raise TruncatedFrameError naming *what*."""
        if not self._fill(n):
            have = len(self._buf) - self._off
            raise TruncatedFrameError(
                f"compressed data is truncated: {what} needs {n} bytes at offset {self._pos}, "
                f"the input ends after {have}", offset=self._pos + have)
        return self._take(n)

    def unread(self, data: bytes) -> None:
        """Put *data* (the bytes just read) back in front of the input."""
        if data:
            self._buf = data + self._buf[self._off :]
            self._off = 0
            self._pos -= len(data)

    def at_eof(self) -> bool:
        """Return True when no bytes are left."""
        return not self._fill(1)

    def tell(self) -> int:
        """Return the offset of the next byte."""
        return self._pos

    def size(self) -> int | None:
        """Return the input's total size when it allows random access, else None."""
        if self._view is not None:
            return len(self._view)
        try:
            if not self._fp.seekable():
                return None
            here = self._fp.tell()
            end = int(self._fp.seek(0, io.SEEK_END))
            self._fp.seek(here)
        except (OSError, ValueError):
            return None
        return end - self._base

    def read_at(self, offset: int, n: int) -> bytes:
        """Return up to *n* bytes at *offset* without moving (random access only)."""
        if self._view is not None:
            return bytes(self._view[offset : offset + n])
        here = self._fp.tell()
        try:
            self._fp.seek(self._base + offset)
            return bytes(self._fp.read(n) or b"")
        finally:
            self._fp.seek(here)

    def jump(self, offset: int) -> None:
        """Continue reading at *offset* (random access only)."""
        self._buf = b""
        self._off = 0
        self._pos = offset
        if self._fp is not None:
            self._fp.seek(self._base + offset)
