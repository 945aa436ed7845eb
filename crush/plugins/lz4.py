"""lz4: LZ4 *block* format via the ``lz4`` package (``pip install lz4``).

The block format, not the LZ4 frame format: the crush frame already records
each block's size and checksum, so the LZ4 frame's header, size field and
checksum would be pure overhead. Level 0 is LZ4's fast mode; 1-12 are LZ4HC
levels.
"""

from __future__ import annotations

from typing import Final
from typing import final

from ..contract import Buffer
from ..contract import CancelToken
from ..contract import PluginMetadata
from ._util import check_size


@final
class Lz4Plugin:
    """LZ4 blocks without a stored size. Stateless and thread-safe."""

    name: Final = "lz4"
    plugin_id: Final = 0x02
    metadata: Final = PluginMetadata(
        version="lz4",
        description="LZ4 block format (python-lz4); the fastest, lower ratio",
        throughput=500.0,
        ratio=0.45,
        min_level=0,
        max_level=12,
        default_level=0,
        fast=0,
        balanced=4,
        best=12,
    )

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return *data* as one LZ4 block: fast mode at level 0, LZ4HC at 1-12."""
        import lz4.block

        out: bytes
        if level <= 0:
            out = lz4.block.compress(data, mode="default", store_size=False)
        else:
            out = lz4.block.compress(
                data, mode="high_compression", compression=level, store_size=False
            )
        return out

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the *size* bytes one LZ4 block decodes to."""
        import lz4.block

        try:
            out = lz4.block.decompress(data, uncompressed_size=size)
        except lz4.block.LZ4BlockError as exc:
            raise ValueError(f"lz4 block is damaged: {exc}") from exc
        return check_size(self.name, out, size)

    def decompress_into(self, data: Buffer, out: memoryview, cancel: CancelToken) -> int:
        """Decode one LZ4 block straight into *out* (cramjam; else decode and copy)."""
        try:
            import cramjam
        except ImportError:  # pragma: no cover - cramjam is a dependency
            out[:] = self.decompress(data, len(out), cancel)
            return len(out)
        written: int = cramjam.lz4.decompress_block_into(data, out, output_len=len(out))
        return written

    def detect(self, header: bytes) -> bool:
        """Accept any input: lz4 is general-purpose."""
        return True
