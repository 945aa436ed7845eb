"""lzma: raw LZMA2 via the standard library's lzma module."""

from __future__ import annotations

from typing import Any
from typing import Final
from typing import final

from ..contract import Buffer
from ..contract import CancelToken
from ..contract import PluginMetadata
from ._util import check_size

_MIN_DICT: Final = 1 << 12
_MAX_DICT: Final = 1 << 26
_PRESET_DICT: Final = (
    1 << 18, 1 << 20, 1 << 21, 1 << 22, 1 << 22, 1 << 23, 1 << 23, 1 << 24, 1 << 25, 1 << 26,
)


def _dict_size(n: int) -> int:
    # A dictionary larger than the block is wasted memory (preset 9 would
    # allocate 674 MiB to compress a 1 MiB block), so clamp it to the next
    # power of two >= the block size. The decoder derives the same bound from
    # the block's declared size, so no dictionary size needs storing.
    return max(_MIN_DICT, min(_MAX_DICT, 1 << max(0, n - 1).bit_length()))


@final
class LzmaPlugin:
    """Raw LZMA2 streams (no .xz container), one per block. Thread-safe."""

    name: Final = "lzma"
    plugin_id: Final = 0x04
    metadata: Final = PluginMetadata(
        version="liblzma",
        description="LZMA2 via the standard library; best ratio, slowest",
        throughput=5.0,
        ratio=0.25,
        min_level=0,
        max_level=9,
        default_level=6,
        fast=0,
        balanced=6,
        best=9,
    )

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return one raw LZMA2 stream of *data* at preset *level* (0-9)."""
        import lzma

        dict_size = min(_PRESET_DICT[level], _dict_size(len(data)))
        filters: list[dict[str, Any]] = [
            {"id": lzma.FILTER_LZMA2, "preset": level, "dict_size": dict_size}
        ]
        return lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters)

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the *size* bytes one raw LZMA2 stream decodes to."""
        import lzma

        filters: list[dict[str, Any]] = [{"id": lzma.FILTER_LZMA2, "dict_size": _dict_size(size)}]
        decoder = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
        try:
            out = decoder.decompress(data, max_length=size)
        except lzma.LZMAError as exc:
            raise ValueError(f"lzma block is damaged: {exc}") from exc
        if not decoder.eof or decoder.unused_data:
            raise ValueError("lzma block is damaged or does not end where the frame says")
        return check_size(self.name, out, size)

    def detect(self, header: bytes) -> bool:
        """Accept any input: lzma is general-purpose."""
        return True
