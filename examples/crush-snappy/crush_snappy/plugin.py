"""snappy: Snappy's raw block format via cramjam, as a third-party crush plugin (id 0x80).

Snappy (Google) is the codec of Parquet, Kafka and Hadoop: fast, modest
ratio, no levels. A raw Snappy block starts with its uncompressed length
(a varint), so a block declared larger or smaller than the crush frame
says is refused before anything is decoded.
"""

from __future__ import annotations

from typing import Final
from typing import final

from crush.contract import Buffer
from crush.contract import CancelToken
from crush.contract import PluginMetadata


@final
class SnappyPlugin:
    """Raw Snappy blocks (no framing format: crush frames and checksums). Stateless, thread-safe.

    Snappy compresses a 1 MiB block in about a millisecond, so one
    ``cancel.check()`` before each call keeps cancellation prompt.
    """

    name: Final = "snappy"
    plugin_id: Final = 0x80  # third-party range; registered in crush's docs/PLUGINS.md
    metadata: Final = PluginMetadata(
        version="cramjam",  # codec_version() below gives its version for reports
        description="Snappy raw blocks (cramjam); very fast, modest ratio",
        throughput=450.0,  # guesses until python -m tools.calibrate measures them
        ratio=0.50,
        min_level=0,
        max_level=0,
        default_level=0,
        fast=0,
        balanced=0,
        best=0,
    )

    def codec_version(self) -> str:
        """Return cramjam's version (an optional hook ``crush plugins`` shows)."""
        import cramjam

        return str(cramjam.__version__)

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return one raw Snappy block of *data* (Snappy has no levels; *level* is 0)."""
        import cramjam

        cancel.check()
        return bytes(cramjam.snappy.compress_raw(data))

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the *size* bytes one raw Snappy block decodes to, checking its length first."""
        import cramjam

        cancel.check()
        try:
            declared = cramjam.snappy.decompress_raw_len(data)
        except Exception as exc:  # cramjam raises its own error type for a bad varint
            raise ValueError(f"snappy block header is damaged: {exc}") from exc
        if declared != size:
            raise ValueError(f"snappy block declares {declared} bytes, the frame declares {size}")
        try:
            out = bytes(cramjam.snappy.decompress_raw(data))
        except Exception as exc:  # damaged block data
            raise ValueError(f"snappy block is damaged: {exc}") from exc
        if len(out) != size:
            raise ValueError(f"snappy block decoded to {len(out)} bytes, not {size}")
        return out

    def detect(self, header: bytes) -> bool:
        """Accept any input: Snappy is general-purpose."""
        return True
