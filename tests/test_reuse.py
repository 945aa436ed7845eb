"""The streaming paths reuse a few block buffers: same bytes out, bounded buffers, any reader.

``compress_stream`` reads each block with ``readinto`` into a buffer it
refills once that block's frame bytes are written; ``decompress_stream``
decodes blocks of plugins with ``decompress_into`` into buffers it refills
once ``write`` returned. Each test fails if a buffer were refilled too early
(wrong bytes) or never reused (too many distinct buffers).
"""

from __future__ import annotations

import io
import os
import random
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush.contract import Buffer
from tests.faulty import FaultyPlugin

BLOCK = 64 << 10


def _mixed(blocks: int, seed: int = 1) -> bytes:
    """Compressible and incompressible blocks alternating, so raw blocks occur too."""
    rng = random.Random(seed)
    parts = []
    for i in range(blocks):
        if i % 3 == 2:
            parts.append(rng.randbytes(BLOCK))
        else:
            parts.append((f"line {i} ".encode() + bytes([i % 256])) * (BLOCK // 9))
    return b"".join(parts)[: blocks * BLOCK - 123]


class _Recorder(io.RawIOBase):
    """A writer that copies what it is given and notes which buffer each write came from."""

    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.sources: set[int] = set()

    def writable(self) -> bool:
        return True

    def write(self, b: Any, /) -> int:
        view = memoryview(b)
        if isinstance(b, memoryview) and isinstance(b.obj, bytearray):
            self.sources.add(id(b.obj))
        self.out += view
        return view.nbytes


class _Trickle(io.RawIOBase):
    """A reader that returns at most *step* bytes per call (as a pipe may)."""

    def __init__(self, data: bytes, step: int, *, readinto: bool = True) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._pos = 0
        self._step = step
        self._readinto = readinto

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any, /) -> int:
        if not self._readinto:
            raise NotImplementedError  # as io.RawIOBase does when only read() exists
        n = min(self._step, len(buffer), len(self._data) - self._pos)
        memoryview(buffer)[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._data) if size < 0 else self._pos + min(size, self._step)
        chunk = bytes(self._data[self._pos : end])
        self._pos += len(chunk)
        return chunk


@pytest.mark.parametrize("plugin", ["deflate", "zstd", "lz4", "store"])
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_decoding_reuses_at_most_threads_plus_one_buffers(plugin: str, threads: int) -> None:
    data = _mixed(24)
    blob = crush.compress(data, plugin=plugin, block_size=BLOCK)
    sink = _Recorder()
    stats = crush.decompress_stream(io.BytesIO(blob), sink, threads=threads)
    assert bytes(sink.out) == data
    assert stats.bytes_out == len(data)
    if plugin != "store":  # raw blocks are written from the input, no buffer needed
        assert 1 <= len(sink.sources) <= threads + 1, sink.sources


@pytest.mark.parametrize("plugin", ["deflate", "zstd", "lz4", "brotli", "store"])
@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("step", [BLOCK, 1000])
def test_compressing_through_reused_buffers_writes_the_same_frames(
    plugin: str, threads: int, step: int
) -> None:
    data = _mixed(17)
    out = io.BytesIO()
    crush.compress_stream(_Trickle(data, step), out, plugin=plugin, threads=threads,
                          block_size=BLOCK)
    assert out.getvalue() == crush.compress(data, plugin=plugin, block_size=BLOCK)
    assert crush.decompress(out.getvalue()) == data


def test_a_reader_without_readinto_is_read_with_read() -> None:
    data = _mixed(5)
    out = io.BytesIO()
    crush.compress_stream(_Trickle(data, 777, readinto=False), out, plugin="zstd",
                          block_size=BLOCK)
    assert crush.decompress(out.getvalue()) == data


class _BufferSpy(FaultyPlugin):
    """Raw DEFLATE that notes which buffer each block it compresses lives in."""

    default_name = "spy"
    default_id = 0xE0

    def __init__(self) -> None:
        super().__init__()
        self.buffers: set[int] = set()

    def compress(self, data: Buffer, level: int, cancel: crush.CancelToken) -> bytes:
        if isinstance(data, memoryview):
            with self._lock:
                self.buffers.add(id(data.obj))
        return zlib.compress(bytes(data), level, wbits=-15)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_compressing_reads_into_at_most_threads_plus_one_buffers(threads: int) -> None:
    spy = _BufferSpy()
    registry = crush.Registry([spy], default="spy")
    data = os.urandom(BLOCK) * 12  # compressible across blocks, each block random inside
    out = io.BytesIO()
    crush.compress_stream(io.BytesIO(data), out, threads=threads, block_size=BLOCK,
                          registry=registry)
    assert crush.decompress(out.getvalue(), registry=registry) == data
    assert 1 <= len(spy.buffers) <= threads + 1, spy.buffers


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    data=st.one_of(st.binary(max_size=5000),
                   st.builds(lambda w, n: w * n, st.binary(min_size=1, max_size=50),
                             st.integers(1, 400))),
    threads=st.integers(1, 4),
    step=st.integers(1, 3000),
    plugin=st.sampled_from(["deflate", "zstd", "lz4"]),
)
def test_round_trip_through_reused_buffers(data: bytes, threads: int, step: int,
                                          plugin: str) -> None:
    packed = io.BytesIO()
    crush.compress_stream(_Trickle(data, step), packed, plugin=plugin, threads=threads,
                          block_size=1024)
    sink = _Recorder()
    crush.decompress_stream(_Trickle(packed.getvalue(), step), sink, threads=threads)
    assert bytes(sink.out) == data
