"""brotli: Brotli via the ``brotli`` package (``pip install brotli``)."""

from __future__ import annotations

from typing import Final
from typing import final

from ..contract import Buffer
from ..contract import CancelToken
from ..contract import PluginMetadata
from ._util import check_size


@final
class BrotliPlugin:
    """Brotli streams, one per block. Stateless and thread-safe."""

    name: Final = "brotli"
    plugin_id: Final = 0x03
    metadata: Final = PluginMetadata(
        version="brotli",
        description="Brotli (Google brotli); high ratio on text, slow at top levels",
        throughput=60.0,
        ratio=0.28,
        min_level=0,
        max_level=11,
        default_level=5,
        fast=1,
        balanced=5,
        best=11,
    )

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return one Brotli stream of *data* at quality *level* (0-11)."""
        import brotli

        return bytes(brotli.compress(bytes(data), quality=level))

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the *size* bytes one Brotli stream decodes to.

        The output buffer is capped at *size* + 1 so a hostile stream cannot
        expand beyond what the frame declared.
        """
        import brotli

        decoder = brotli.Decompressor()
        out = decoder.process(bytes(data), output_buffer_limit=size + 1)
        if not decoder.is_finished():
            raise ValueError("brotli block is damaged or longer than the frame declares")
        return check_size(self.name, bytes(out), size)

    def detect(self, header: bytes) -> bool:
        """Accept any input: brotli is general-purpose."""
        return True
