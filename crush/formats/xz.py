"""xz (.xz): multi-stream files with stream padding, read as one bounded stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Final
from typing import final

from ._stream import StreamOnly
from ._stream import drive
from ._stream import skip_zeros

if TYPE_CHECKING:
    from .contract import Budget
    from .source import Input


@final
class XzFormat(StreamOnly):
    """Read xz: each stream's index and check (CRC32/CRC64/SHA-256) verified by liblzma."""

    name: Final = "xz"
    magic: Final = (b"\xfd7zXZ\x00",)
    suffix: Final = ".xz"

    def padding(self, inp: Input) -> bool:
        """Skip stream padding (zero bytes) between and after streams."""
        return skip_zeros(inp)

    def stream_unit(self, inp: Input, budget: Budget) -> Iterator[bytes]:
        """Decode one xz stream."""
        import lzma

        return drive(self.name, lzma.LZMADecompressor(lzma.FORMAT_XZ), inp, budget)
