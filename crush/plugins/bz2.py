"""bz2: bzip2 via the standard library's bz2 module."""

from __future__ import annotations

from typing import Final
from typing import final

from ..contract import Buffer
from ..contract import CancelToken
from ..contract import PluginMetadata
from ._util import check_size


@final
class Bz2Plugin:
    """bzip2 streams, one per block. Stateless and thread-safe."""

    name: Final = "bz2"
    plugin_id: Final = 0x05
    metadata: Final = PluginMetadata(
        version="libbz2",
        description="bzip2 via the standard library; good ratio on text, slow",
        throughput=12.0,
        ratio=0.28,
        min_level=1,
        max_level=9,
        default_level=9,
        fast=1,
        balanced=6,
        best=9,
    )

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return one bzip2 stream of *data* at *level* (1-9, the block size in 100 kB)."""
        import bz2

        return bz2.compress(data, level)

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the *size* bytes one bzip2 stream decodes to."""
        import bz2

        decoder = bz2.BZ2Decompressor()
        out = decoder.decompress(data, max_length=size)
        if not decoder.eof or decoder.unused_data:
            raise ValueError("bz2 block is damaged or does not end where the frame says")
        return check_size(self.name, out, size)

    def detect(self, header: bytes) -> bool:
        """Accept any input: bz2 is general-purpose."""
        return True
