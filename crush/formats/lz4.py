"""LZ4 frame (.lz4): concatenated frames, read as one bounded stream."""

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
class Lz4Format(StreamOnly):
    """Read LZ4 frames; content and block checksums verified by liblz4 when present."""

    name: Final = "lz4"
    magic: Final = (b"\x04\x22\x4d\x18",)
    suffix: Final = ".lz4"

    def stream_unit(self, inp: Input, budget: Budget) -> Iterator[bytes]:
        """Decode one LZ4 frame."""
        import lz4.frame

        return drive(self.name, lz4.frame.LZ4FrameDecompressor(), inp, budget)
