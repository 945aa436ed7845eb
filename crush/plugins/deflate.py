"""deflate: raw DEFLATE (RFC 1951) via the standard library's zlib. The default plugin."""

from __future__ import annotations

import zlib
from typing import Final
from typing import final

from ..contract import Buffer
from ..contract import CancelToken
from ..contract import PluginMetadata
from ._util import check_size


@final
class DeflatePlugin:
    """Raw DEFLATE blocks (no zlib or gzip wrapper; crush checksums blocks itself).

    Stateless: every call makes its own zlib object, so one instance serves
    any number of threads.
    """

    name: Final = "deflate"
    plugin_id: Final = 0x00
    metadata: Final = PluginMetadata(
        version=zlib.ZLIB_RUNTIME_VERSION,
        description="raw DEFLATE via the standard library (zlib); always available",
        throughput=40.0,
        ratio=0.33,
        min_level=0,
        max_level=9,
        default_level=6,
        fast=1,
        balanced=6,
        best=9,
    )

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return *data* as one raw DEFLATE stream at zlib *level* (0-9)."""
        co = zlib.compressobj(level, zlib.DEFLATED, -15)
        return co.compress(data) + co.flush()

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the *size* bytes a raw DEFLATE stream decodes to."""
        do = zlib.decompressobj(-15)
        # max_length=0 would mean "no limit"; ask for one byte so an empty
        # block that is not empty is refused without inflating it.
        out = do.decompress(data, max(size, 1))
        if not do.eof or do.unconsumed_tail or do.unused_data:
            raise ValueError("deflate block is damaged or does not end where the frame says")
        return check_size(self.name, out, size)

    def detect(self, header: bytes) -> bool:
        """Accept any input: deflate is general-purpose."""
        return True
