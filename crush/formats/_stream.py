"""Shared pieces of format modules: the bounded stream loop and the read-only defaults.

:func:`drive` is CPython's ``DecompressReader`` loop (``Lib/_compression.py``)
for any decompressor object with ``decompress(data, max_length)``, ``eof``,
``needs_input`` and ``unused_data`` (``lzma``, ``bz2``, ``lz4.frame``; zlib
through :class:`~crush.formats.gzip.ZlibMember`).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from ..errors import ConfigError
from ..errors import CorruptFrameError
from ..errors import CrushError
from ..errors import TruncatedFrameError
from .source import CHUNK

if TYPE_CHECKING:
    from ..contract import Buffer
    from ..frame import FileInfo
    from .contract import Budget
    from .contract import Unit
    from .index import BlockIndex
    from .source import Input


def corrupt(name: str, offset: int, exc: BaseException) -> CorruptFrameError:
    """Return the error for a unit the codec refused, with *exc* as its cause."""
    error = CorruptFrameError(f"{name} data at offset {offset} is corrupt: {exc}", offset=offset)
    error.__cause__ = exc
    return error


def drive(name: str, d: Any, inp: Input, budget: Budget) -> Iterator[bytes]:
    """Decode one unit from *inp* with decompressor *d*; put its unused input back."""
    start = inp.tell()
    while not d.eof:
        data = inp.read(CHUNK) if d.needs_input else b""
        try:
            out = d.decompress(data, budget())
        except CrushError:
            raise
        except Exception as exc:  # any codec's own error type means corrupt input
            raise corrupt(name, start, exc) from exc
        if out:
            yield out
        elif d.needs_input and not data and not d.eof:
            raise TruncatedFrameError(
                f"{name} data is truncated: the unit at offset {start} does not end before "
                "the input does", offset=inp.tell())
    inp.unread(bytes(d.unused_data or b""))


def skip_zeros(inp: Input) -> bool:
    """Skip zero bytes (padding after the last unit); return True at the end of input."""
    while True:
        data = inp.read(CHUNK)
        if not data:
            return True
        rest = data.lstrip(b"\0")
        if rest:
            inp.unread(rest)
            return False


class StreamOnly:
    """Defaults for a format that is read as a stream and never written."""

    writable = False

    def padding(self, inp: Input) -> bool:
        """Accept nothing between units: True only at the end of input."""
        return inp.at_eof()

    def whole_unit(self, inp: Input) -> Unit | None:
        """Return None: unit sizes are not declared up front."""
        return None

    def decode_unit(self, unit: Unit) -> bytes:
        """Never called: :meth:`whole_unit` returns no units."""
        raise NotImplementedError

    def index(self, inp: Input) -> BlockIndex | None:
        """Return None: the format has no seek table."""
        return None

    def encode_unit(self, block: Buffer, level: int | None, info: FileInfo | None) -> bytes:
        """Refuse: crush reads this format but does not write it."""
        raise ConfigError(f"crush reads {getattr(self, 'name', '?')} but does not write it")

    def finish(self, sizes: Sequence[tuple[int, int]]) -> bytes:
        """Return nothing (never written)."""
        return b""

    def block_size(self, asked: int) -> int:
        """Return *asked*."""
        return asked
