"""The entry points the API and streams call: sniff, decode and encode any format.

The decoder, the encoder and the format table load when a standard format
is met or asked for: reading and writing crush frames (every CLI run on
``.crush`` files) only sniffs the magic and needs none of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

from ..frame import is_frame_start
from .detect import HEAD
from .detect import detect
from .detect import writer

if TYPE_CHECKING:
    from ..contract import Buffer
    from ..frame import FileInfo
    from ..options import Level
    from ..options import Options
    from .contract import Format
    from .decode import Decoder
    from .encode import UnitCompressor


def sniff(head: bytes) -> Format | None:
    """Return the standard format *head* starts with; None for crush frames or unknown bytes."""
    if is_frame_start(head):
        return None
    return detect(head)


def peek_file(fp: Any) -> bytes:
    """Return the first bytes of binary file *fp* without consuming them, if it can tell.

    Uses ``peek`` or a seek back; returns b"" for a file that allows neither.
    """
    try:
        if hasattr(fp, "peek"):
            return bytes(fp.peek(HEAD)[:HEAD])
        if _can_rewind(fp):
            here = fp.tell()
            head = fp.read(HEAD) or b""
            fp.seek(here)
            return bytes(head)
    except (OSError, ValueError):
        return b""
    return b""


class _Prepend:
    """A read-only file: *head* (bytes already read from *fp*), then the rest of *fp*."""

    def __init__(self, head: bytes, fp: Any) -> None:
        self._head = head
        self._fp = fp

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        if self._head:
            data = self._head if n < 0 else self._head[:n]
            self._head = self._head[len(data):]
            return data
        return bytes(self._fp.read(n) or b"")


def head_of(fp: Any) -> tuple[Any, bytes]:
    """Return a file reading like *fp* and its first bytes, consuming nothing of it.

    A file that can neither peek nor seek back is read from and wrapped.
    """
    head = peek_file(fp)
    if head or _can_rewind(fp):
        return fp, head
    head = bytes(fp.read(HEAD) or b"")
    return _Prepend(head, fp), head


def _can_rewind(fp: Any) -> bool:
    try:
        return hasattr(fp, "peek") or bool(fp.seekable())
    except (OSError, ValueError, AttributeError):  # a file object without seekable()
        return False


def decode_bytes(data: Buffer, fmt: Format, opts: Options,
                 max_output_size: int | None) -> Decoder:
    """Return a decoder of *data* in format *fmt*."""
    from .decode import Decoder
    from .source import Input

    return Decoder(Input(data), fmt, opts, max_output_size)


def decode_file(fp: Any, fmt: Format, opts: Options, max_output_size: int | None) -> Decoder:
    """Return a decoder of binary file *fp* in format *fmt*."""
    from .decode import Decoder
    from .source import Input

    return Decoder(Input(fp=fp), fmt, opts, max_output_size)


def compressor(name: str | None, level: Level, opts: Options, *, info: FileInfo | None,
               size_hint: int | None = None) -> UnitCompressor | None:
    """Return the unit compressor for format *name*; None for crush frames (the default)."""
    if name is None:
        return None
    from .encode import UnitCompressor

    fmt = writer(name)
    if fmt is None:
        return None
    return UnitCompressor(fmt, level, opts, info=info, size_hint=size_hint)


def blocks(view: memoryview, size: int) -> Iterator[memoryview]:
    """Yield *view* in pieces of *size* bytes."""
    for start in range(0, len(view), size):
        yield view[start : start + size]
