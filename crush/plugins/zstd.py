"""zstd: Zstandard via the ``zstandard`` package (``pip install zstandard``)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING
from typing import Final
from typing import final

from ..contract import Buffer
from ..contract import CancelToken
from ..contract import PluginMetadata
from ._util import check_size

if TYPE_CHECKING:
    import zstandard


@final
class ZstdPlugin:
    """Zstandard frames, one per block, with the content size recorded.

    python-zstandard compressor objects are not thread-safe, so each thread
    keeps its own compressor per level and its own decompressor.
    """

    name: Final = "zstd"
    plugin_id: Final = 0x01
    metadata: Final = PluginMetadata(
        version="zstandard",
        description="Zstandard (python-zstandard); fast with a good ratio",
        throughput=250.0,
        ratio=0.30,
        min_level=-7,
        max_level=22,
        default_level=3,
        fast=1,
        balanced=3,
        best=19,
    )

    def __init__(self) -> None:
        self._local = threading.local()

    def _compressor(self, level: int) -> zstandard.ZstdCompressor:
        import zstandard

        cache: dict[int, zstandard.ZstdCompressor] | None = getattr(self._local, "c", None)
        if cache is None:
            cache = self._local.c = {}
        compressor = cache.get(level)
        if compressor is None:
            compressor = cache[level] = zstandard.ZstdCompressor(level=level)
        return compressor

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return one zstd frame of *data* at *level* (-7 to 22)."""
        return self._compressor(level).compress(data)

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the *size* bytes one zstd frame decodes to (never more).

        python-zstandard allocates the content size a frame header declares
        and ignores ``max_output_size`` when there is one, so a hostile
        header is refused before decoding. Bytes after the frame mean the
        block is damaged.
        """
        import zstandard

        declared = zstandard.frame_content_size(data)  # -1: the header records no size
        if declared not in (-1, size):
            raise ValueError(f"zstd block declares {declared} bytes, the frame declares {size}")
        decompressor: zstandard.ZstdDecompressor | None = getattr(self._local, "d", None)
        if decompressor is None:
            decompressor = self._local.d = zstandard.ZstdDecompressor()
        out = decompressor.decompress(data, max_output_size=size, allow_extra_data=False)
        return check_size(self.name, out, size)

    def decompress_into(self, data: Buffer, out: memoryview, cancel: CancelToken) -> int:
        """Decode one zstd frame straight into *out* (cramjam; else decode and copy).

        cramjam never writes past *out*, whatever the frame header declares,
        and refuses bytes after the frame.
        """
        try:
            import cramjam
        except ImportError:  # pragma: no cover - cramjam is a dependency
            out[:] = self.decompress(data, len(out), cancel)
            return len(out)
        written: int = cramjam.zstd.decompress_into(data, out)
        return written

    def detect(self, header: bytes) -> bool:
        """Accept any input: zstd is general-purpose."""
        return True
