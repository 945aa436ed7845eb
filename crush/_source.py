"""A :class:`~crush.frame.Source` over a binary file object (readers of crush frames share it)."""

from __future__ import annotations

from typing import Any
from typing import Final

from .errors import TruncatedFrameError

READ_AHEAD: Final = 64 << 10
"""Bytes read at a time while skipping zero padding."""


def read_full(fp: Any, n: int) -> bytes:
    """Return *n* bytes from *fp*, fewer only at its end (pipes and sockets read short)."""
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


def readinto_full(fp: Any, buffer: bytearray) -> int:
    """Fill *buffer* from *fp* (``readinto`` where it has one); return the bytes read.

    Fewer than ``len(buffer)`` only at the end of *fp*. A file object whose
    ``readinto`` is missing or not implemented is read with ``read``.
    """
    readinto = getattr(fp, "readinto", None)
    view = memoryview(buffer)
    got = 0
    try:
        while got < len(buffer):
            if readinto is None:
                chunk = fp.read(len(buffer) - got)
                if not chunk:
                    break
                view[got : got + len(chunk)] = chunk
                got += len(chunk)
                continue
            try:
                n = readinto(view[got:])
            except NotImplementedError:  # io.RawIOBase subclasses that only define read()
                readinto = None
                continue
            if not n:
                break
            got += n
    finally:
        view.release()
    return got


class FileSource:
    """A :class:`~crush.frame.Source` over a binary file object.

    Offsets count from *base* (the file position where decoding started).
    Reads nothing ahead beyond one byte, except past zero padding.
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
            # Usually nothing is read ahead: then a payload is read once,
            # never copied into a second block-sized buffer by a join.
            more = read_full(self._fp, n - len(data))
            data = data + more if data else more
            if len(data) < n:
                raise TruncatedFrameError(
                    f"crush data is truncated: {what} needs {n} bytes at offset "
                    f"{self._pos}, the input ends after {len(data)}",
                    offset=self._pos + len(data),
                )
        elif len(data) > n:
            data, self._ahead = data[:n], data[n:]
        self._pos += n
        return data

    def at_eof(self) -> bool:
        """Return True when the file has no more bytes (reads one byte ahead)."""
        if not self._ahead:
            self._ahead = self._fp.read(1) or b""
        return not self._ahead

    def skip_zeros(self) -> None:
        """Move past zero bytes (reads ahead up to the first non-zero one)."""
        while self._ahead or not self.at_eof():
            rest = self._ahead.lstrip(b"\0")
            self._pos += len(self._ahead) - len(rest)
            self._ahead = rest
            if rest:
                return
            self._ahead = self._fp.read(READ_AHEAD) or b""

    def tell(self) -> int:
        """Return the offset of the next byte."""
        return self._pos
