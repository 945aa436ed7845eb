"""crc32 and crc32_combine: zlib-ng's, and the fallback for copies without it."""

from __future__ import annotations

import zlib

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from crush import checksum
from crush import frame

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)


@PROPERTY
@given(a=st.binary(max_size=300), b=st.binary(max_size=3000))
def test_both_combines_match_the_crc_of_the_concatenation(a: bytes, b: bytes) -> None:
    expected = zlib.crc32(a + b)
    for combine in (checksum.crc32_combine, checksum._combine_by_zeros):
        assert combine(zlib.crc32(a), zlib.crc32(b), len(b)) == expected


def test_the_combine_is_zlib_ngs_and_frame_reexports_it() -> None:
    from zlib_ng import zlib_ng

    checksum.crc32(b"")  # loads the implementation
    assert checksum._combine is zlib_ng.crc32_combine
    assert frame.crc32_combine is checksum.crc32_combine


def test_the_fallback_folds_a_mebibyte_block() -> None:
    a, b = b"x" * 1000, bytes(range(256)) * 4096
    assert checksum._combine_by_zeros(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
