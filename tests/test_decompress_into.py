"""crush.decompress_into and decompress(out=): decoding into one caller-owned buffer."""

from __future__ import annotations

import mmap

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush import _alloc

PLUGINS = [p.name for p in crush.list_plugins()]
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
CONTENT = (b"decode into one buffer " * 3000 + bytes(range(256)) * 40)[:80_000]


def blob_of(plugin: str, data: bytes = CONTENT, block_size: int = 16 << 10) -> bytes:
    return crush.compress(data, plugin=plugin, block_size=block_size)


@pytest.mark.parametrize("plugin", PLUGINS)
@pytest.mark.parametrize("threads", [1, 2])
def test_exact_and_larger_buffers_receive_the_content(plugin: str, threads: int) -> None:
    blob = blob_of(plugin)
    exact = bytearray(len(CONTENT))
    assert crush.decompress_into(blob, exact, threads=threads) == len(CONTENT)
    assert exact == CONTENT
    larger = bytearray(b"\xee" * (len(CONTENT) + 100))
    assert crush.decompress_into(blob, larger, threads=threads) == len(CONTENT)
    assert larger[: len(CONTENT)] == CONTENT
    assert larger[len(CONTENT) :] == b"\xee" * 100  # the rest is left untouched


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_too_small_buffer_is_refused_before_anything_is_written(plugin: str) -> None:
    out = bytearray(b"\xee" * (len(CONTENT) - 1))
    with pytest.raises(crush.OutputLimitError, match="holds only") as info:
        crush.decompress_into(blob_of(plugin), out)
    assert info.value.limit == len(CONTENT) - 1
    assert out == b"\xee" * (len(CONTENT) - 1)


@pytest.mark.parametrize("out", [b"x" * 100_000, memoryview(b"x" * 100_000)],
                         ids=["bytes", "memoryview of bytes"])
def test_read_only_buffers_are_a_type_error(out: bytes | memoryview) -> None:
    with pytest.raises(TypeError, match="writable"):
        crush.decompress_into(blob_of("deflate"), out)
    with pytest.raises(TypeError, match="writable"):
        crush.decompress(blob_of("deflate"), out=out)


def test_non_buffers_and_strided_buffers_are_refused() -> None:
    with pytest.raises(TypeError, match="bytes-like"):
        crush.decompress_into(blob_of("deflate"), [0] * 100_000)  # type: ignore[arg-type]
    strided = np.zeros(2 * len(CONTENT), dtype=np.uint8)[::2]
    with pytest.raises(crush.ConfigError, match="contiguous"):
        crush.decompress_into(blob_of("deflate"), strided)


@pytest.mark.parametrize("plugin", ["deflate", "zstd", "lz4"])
def test_numpy_arrays_of_any_shape_and_dtype(plugin: str) -> None:
    data = np.arange(40_000, dtype=np.float64).reshape(200, 200)
    blob = crush.compress(data, plugin=plugin, block_size=64 << 10)
    out = np.empty_like(data)
    assert crush.decompress_into(blob, out, threads=2) == data.nbytes
    np.testing.assert_array_equal(out, data)
    flat = np.zeros(data.nbytes + 8, dtype=np.uint8)
    view = crush.decompress(blob, out=flat)
    assert view.nbytes == data.nbytes and view.obj is not None
    assert bytes(view) == data.tobytes() and flat[: data.nbytes].tobytes() == data.tobytes()


def test_memoryview_slices_and_mmap() -> None:
    blob = blob_of("zstd")
    backing = bytearray(len(CONTENT) + 50)
    assert crush.decompress_into(blob, memoryview(backing)[25:]) == len(CONTENT)
    assert backing[:25] == bytes(25) and backing[25 : 25 + len(CONTENT)] == CONTENT
    with mmap.mmap(-1, len(CONTENT)) as mapped:
        assert crush.decompress_into(blob, mapped) == len(CONTENT)
        assert mapped[:] == CONTENT


def test_concatenated_frames_fill_one_buffer() -> None:
    parts = [CONTENT[:30_000], b"", CONTENT[30_000:], b"tail"]
    blob = b"".join(crush.compress(p, plugin=name, block_size=8 << 10)
                    for p, name in zip(parts, ["zstd", "lz4", "deflate", "store"], strict=True))
    out = bytearray(len(CONTENT) + 4)
    assert crush.decompress_into(blob, out, threads=2) == len(CONTENT) + 4
    assert out == CONTENT + b"tail"
    assert crush.decompress(blob) == CONTENT + b"tail"


def test_max_output_size_is_enforced_before_the_buffer_size() -> None:
    blob = blob_of("lz4")
    out = bytearray(len(CONTENT))
    with pytest.raises(crush.OutputLimitError) as info:
        crush.decompress_into(blob, out, max_output_size=len(CONTENT) - 1)
    assert info.value.limit == len(CONTENT) - 1
    assert crush.decompress_into(blob, out, max_output_size=len(CONTENT)) == len(CONTENT)
    with pytest.raises(crush.ConfigError, match="max_output_size"):
        crush.decompress_into(blob, out, max_output_size=-1)
    with pytest.raises(crush.ConfigError, match="max_output_size"):
        crush.decompress(blob, max_output_size="big")  # type: ignore[call-overload]


@pytest.mark.parametrize("cut", ["truncated", "flipped"])
def test_damaged_blobs_raise_what_decompress_raises(cut: str) -> None:
    blob = bytearray(blob_of("zstd"))
    if cut == "truncated":
        blob = blob[:-7]
    else:
        blob[len(blob) // 2] ^= 0x40
    with pytest.raises(crush.CrushError) as expected:
        crush.decompress(bytes(blob))
    with pytest.raises(type(expected.value)):
        crush.decompress_into(bytes(blob), bytearray(len(CONTENT)))


def test_damaged_structure_with_a_small_buffer_fails_with_the_damage_or_the_limit() -> None:
    blob = blob_of("deflate")[:-3]  # the structure walk fails: blocks are decoded in order
    with pytest.raises((crush.OutputLimitError, crush.TruncatedFrameError)):
        crush.decompress_into(blob, bytearray(1000))


@pytest.mark.parametrize("size", [0, 1, _alloc.IN_PLACE_MIN - 1, _alloc.IN_PLACE_MIN, 3 << 20])
def test_decompress_returns_real_bytes_at_every_size(size: int) -> None:
    data = (CONTENT * (size // len(CONTENT) + 1))[:size]
    for threads in (1, 2):
        out = crush.decompress(crush.compress(data, plugin="lz4"), threads=threads)
        assert type(out) is bytes and out == data
        assert hash(out) == hash(bytes(data))
        assert {out: 1}[data] == 1


def test_a_failed_in_place_decode_leaves_nothing_behind() -> None:
    data = CONTENT * 8
    blob = bytearray(crush.compress(data, plugin="zstd", block_size=64 << 10))
    blob[-40] ^= 0x01  # a late block's payload: earlier blocks were already written
    with pytest.raises(crush.CrushError):
        crush.decompress(bytes(blob), threads=2)
    assert crush.decompress(crush.compress(data, plugin="zstd")) == data


def test_process_isolation_decodes_into_the_buffer_too() -> None:
    blob = blob_of("zstd", CONTENT[:20_000], block_size=4096)
    out = bytearray(20_000)
    assert crush.decompress_into(blob, out, isolation="process", threads=2) == 20_000
    assert out == CONTENT[:20_000]


@PROPERTY
@given(data=st.binary(max_size=5000), plugin=st.sampled_from(PLUGINS),
       block=st.sampled_from([64, 1000, 4096]), threads=st.integers(1, 3),
       spare=st.integers(0, 10))
def test_decompress_into_round_trips(data: bytes, plugin: str, block: int, threads: int,
                                     spare: int) -> None:
    blob = crush.compress(data, plugin=plugin, block_size=block)
    out = bytearray(len(data) + spare)
    assert crush.decompress_into(blob, out, threads=threads) == len(data)
    assert out[: len(data)] == data


def test_huge_page_advice_covers_only_whole_pages_inside_the_range() -> None:
    import ctypes
    import os
    import sys

    with mmap.mmap(-1, 8 << 20) as region:
        # A temporary ctypes view gives the address and is released at once,
        # so the mapping can close.
        address = ctypes.addressof(ctypes.c_char.from_buffer(region))
        assert not _alloc.advise_huge_pages(address + 1, (2 << 20) + 10)  # no whole page inside
        accepted = _alloc.advise_huge_pages(address + 1, (8 << 20) - 1)
    if sys.platform.startswith("linux") and os.path.exists(
            "/sys/kernel/mm/transparent_hugepage/enabled"):
        assert accepted
