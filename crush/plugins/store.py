"""store: no compression, for data that is already compressed or random.

Automatic selection picks it when ``detect`` recognises a compressed
format by its magic bytes, or sees high-entropy data, so crush spends no
codec time on input that will not shrink. Its blocks are stored raw.
"""

from __future__ import annotations

import zlib
from typing import Final
from typing import final

from ..contract import Buffer
from ..contract import CancelToken
from ..contract import PluginMetadata
from ..frame import is_frame_start
from ._util import check_size

# (offset, magic, format) for formats that are already compressed.
MAGICS: Final = (
    (0, b"\x1f\x8b", "gzip"),
    (0, b"PK\x03\x04", "zip"),  # also jar, whl, docx, apk
    (0, b"PK\x05\x06", "zip"),  # empty archive
    (0, b"PK\x07\x08", "zip"),  # spanned archive
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"ID3", "mp3"),
    (4, b"ftyp", "mp4"),
    (0, b"\x28\xb5\x2f\xfd", "zstd"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z"),
    (0, b"\x04\x22\x4d\x18", "lz4"),
)

ENTROPY_SAMPLE: Final = 4096
INCOMPRESSIBLE: Final = 0.97
"""zlib level 1 on the sample must save less than 3 % for data to count as high-entropy."""


def compressed_format(header: bytes) -> str | None:
    """Return the name of the compressed format *header* starts with, or None."""
    for offset, magic, name in MAGICS:
        if header[offset : offset + len(magic)] == magic:
            return name
    if is_frame_start(header):
        return "crush"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "webp"
    if header[:3] == b"BZh" and header[3:4].isdigit() and header[3:4] != b"0":
        return "bz2"
    if len(header) >= 2 and header[0] == 0xFF and header[1] & 0xE0 == 0xE0:
        return "mp3"  # an MPEG audio frame sync without an ID3 tag
    return None


def high_entropy(header: bytes) -> bool:
    """Return True when a quick zlib pass over *header* cannot shrink it.

    zlib at level 1 on 4 KiB takes tens of microseconds and reliably tells
    random or encrypted bytes from anything a real codec would shrink.
    """
    sample = header[:ENTROPY_SAMPLE]
    if len(sample) < 256:
        return False
    return len(zlib.compress(sample, 1)) >= INCOMPRESSIBLE * len(sample)


@final
class StorePlugin:
    """Keeps blocks as they are (crush then stores them raw). Stateless, thread-safe."""

    name: Final = "store"
    plugin_id: Final = 0x06
    metadata: Final = PluginMetadata(
        version="1",
        description="no compression: for already-compressed or random data",
        throughput=10000.0,
        ratio=1.0,
        min_level=0,
        max_level=0,
        default_level=0,
        fast=0,
        balanced=0,
        best=0,
        formats=("gzip", "zip", "png", "jpeg", "gif", "webp", "mp3", "mp4", "zstd", "xz",
                 "bz2", "7z", "lz4", "crush", "high-entropy"),
    )

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> Buffer:
        """Return *data* itself: crush stores the block raw, without a copy."""
        return data

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the stored bytes (store frames normally hold only raw blocks)."""
        return check_size(self.name, bytes(data), size)

    def detect(self, header: bytes) -> bool:
        """Accept already-compressed formats (by magic) and high-entropy data."""
        return compressed_format(header) is not None or high_entropy(header)
