"""CRC32 for blocks and content, from the fastest implementation available.

Every block is checksummed, so for fast codecs the CRC is a large part of
crush's own cost: the standard library's zlib runs at about 2-3 GB/s here,
zlib-ng's vectorised CRC32 (``pip install zlib-ng``, a dependency of crush)
at about 19 GB/s, which keeps lz4's overhead in the low percent. Both
compute the same CRC-32 (ISO-HDLC) and release the GIL on large buffers.

:func:`crc32_combine` derives the CRC of A+B from the CRCs of A and B, so
blocks are checksummed in parallel and the content CRC follows in order;
zlib-ng has it in C (0.3 us a call). The import happens on first use
(``import zlib_ng`` costs about 3.5 ms), so ``import crush`` does not pay.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from .contract import Buffer

_crc32: Callable[[Buffer, int], int] | None = None
_combine: Callable[[int, int, int], int] | None = None


def crc32(data: Buffer, value: int = 0) -> int:
    """Return the CRC32 of *data*, continuing from *value*. Thread-safe."""
    impl = _crc32 or _load()[0]
    return impl(data, value)


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """Return the CRC32 of A+B given CRC32(A), CRC32(B) and len(B). Thread-safe."""
    impl = _combine or _load()[1]
    return impl(crc1, crc2, length2)


def _load() -> tuple[Callable[[Buffer, int], int], Callable[[int, int, int], int]]:
    global _crc32, _combine  # chosen once, on first use
    try:
        from zlib_ng.zlib_ng import crc32 as fast
        from zlib_ng.zlib_ng import crc32_combine as combine
    except ImportError:  # pragma: no cover - zlib-ng is a dependency
        from zlib import crc32 as fast

        combine = _combine_by_zeros
    _crc32, _combine = fast, combine
    return fast, combine


def _combine_by_zeros(crc1: int, crc2: int, length2: int) -> int:
    """crc32_combine for copies without zlib-ng, from the standard library's CRC alone.

    A CRC is affine in its start value, so shifting CRC(A) past len(B)
    bytes is ``crc32(zeros, crc1) ^ crc32(zeros, 0)``; CRC(B) is added by
    xor. Costs two passes over len(B) zero bytes: a fallback, not the rule.
    """
    import zlib

    if crc1 == 0:
        return crc2  # shifting a zero CRC yields zero (the first block)
    zeros = _zeros(length2)
    return zlib.crc32(zeros, crc1) ^ zlib.crc32(zeros) ^ crc2


@lru_cache(maxsize=4)
def _zeros(length: int) -> bytes:
    return bytes(length)
