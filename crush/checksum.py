"""CRC32 for blocks and content, from the fastest implementation available.

Every block is checksummed, so for fast codecs the CRC is a large part of
crush's own cost: the standard library's zlib runs at about 2-3 GB/s here,
zlib-ng's vectorised CRC32 (``pip install zlib-ng``, a dependency of crush)
at about 19 GB/s, which keeps lz4's overhead in the low percent. Both
compute the same CRC-32 (ISO-HDLC) and release the GIL on large buffers.
The import happens on first use, so ``import crush`` does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable

from .contract import Buffer

_impl: Callable[[Buffer, int], int] | None = None


def crc32(data: Buffer, value: int = 0) -> int:
    """Return the CRC32 of *data*, continuing from *value*. Thread-safe."""
    impl = _impl or _load()
    return impl(data, value)


def _load() -> Callable[[Buffer, int], int]:
    global _impl  # noqa: PLW0603 - chosen once, on first use
    try:
        from zlib_ng.zlib_ng import crc32 as fast
    except ImportError:  # pragma: no cover - zlib-ng is a dependency
        from zlib import crc32 as fast
    _impl = fast
    return fast
