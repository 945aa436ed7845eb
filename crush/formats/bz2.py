"""bzip2 (.bz2): multi-stream files (pbzip2, lbzip2, ``cat``), read as one bounded stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Final
from typing import final

from ._stream import StreamOnly
from ._stream import drive

if TYPE_CHECKING:
    from .contract import Budget
    from .source import Input


@final
class Bz2Format(StreamOnly):
    """Read bzip2: every block's and stream's CRC verified by libbz2."""

    name: Final = "bz2"
    magic: Final = tuple(b"BZh" + bytes([d]) for d in b"123456789")
    suffix: Final = ".bz2"

    def stream_unit(self, inp: Input, budget: Budget) -> Iterator[bytes]:
        """Decode one bzip2 stream."""
        import bz2

        return drive(self.name, bz2.BZ2Decompressor(), inp, budget)
