"""The deflate plugin's backends: every one writes raw DEFLATE every other one reads."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush.plugins import deflate
from crush.plugins.deflate import DeflatePlugin

BACKENDS = deflate.available_backends()
NAMES = [b.name for b in BACKENDS]
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
CONTENT = st.one_of(
    st.binary(max_size=3000),
    st.builds(lambda w, n: (w * n)[:20000], st.binary(min_size=1, max_size=20),
              st.integers(1, 2000)),
)


def test_the_accelerated_backends_are_installed() -> None:
    # They are runtime dependencies: a missing one means a packaging mistake.
    assert set(NAMES) == {"isal", "libdeflate", "zlib-ng", "zlib"}


@pytest.mark.parametrize("writer", BACKENDS, ids=NAMES)
@PROPERTY
@given(data=CONTENT, pick=st.integers(0, 100))
def test_every_backend_reads_every_backends_blocks(
    writer: deflate.Backend, data: bytes, pick: int
) -> None:
    level = writer.levels[pick % len(writer.levels)]
    block = writer.compress(data, level)
    assert zlib.decompress(block, -15) == data  # plain raw DEFLATE
    for reader in BACKENDS:
        assert reader.decompress(block, len(data)) == data, (writer.name, level, reader.name)


@pytest.mark.parametrize("forced", NAMES)
@pytest.mark.parametrize("level", range(10))
def test_a_forced_backend_serves_every_native_level(forced: str, level: int) -> None:
    plugin = DeflatePlugin(backend=forced)
    chosen, own = plugin.backend_for(level)
    assert chosen.name == forced and own in chosen.levels
    data = b"forced backend " * 500 + bytes(range(256))
    block = plugin.compress(data, level, crush.CancelToken())
    assert DeflatePlugin().decompress(block, len(data), crush.CancelToken()) == data
    assert plugin.decompress(
        DeflatePlugin().compress(data, level, crush.CancelToken()), len(data),
        crush.CancelToken()) == data


def test_stdlib_zlib_alone_round_trips_through_the_engine() -> None:
    # What a vendored copy without the accelerated wheels runs.
    only_zlib = crush.Registry([DeflatePlugin(backend="zlib")], default="deflate")
    data = bytes(range(256)) * 9000
    blob = crush.compress(data, registry=only_zlib, threads=2, block_size=64 << 10)
    assert crush.decompress(blob) == data
    assert crush.decompress(crush.compress(data, plugin="deflate"), registry=only_zlib) == data
    assert DeflatePlugin(backend="zlib").decoder().name == "zlib"


@pytest.mark.parametrize("forced", ["zlib", "zlib-ng", "isal", "libdeflate"])
def test_forced_decoders_refuse_bytes_after_the_stream(forced: str) -> None:
    plugin = DeflatePlugin(backend=forced)
    token = crush.CancelToken()
    data = b"abc" * 1000
    good = plugin.compress(data, 6, token)
    for bad in (good + b"\x00", good + good, good[:-1]):
        with pytest.raises(Exception):  # noqa: B017 - any exception, never wrong data
            plugin.decompress(bad, len(data), token)


def test_the_presets_use_the_measured_backends() -> None:
    plugin = DeflatePlugin()
    meta = plugin.metadata
    assert plugin.backend_for(meta.fast) == (deflate.backend("isal"), 1)
    assert plugin.backend_for(meta.balanced) == (deflate.backend("libdeflate"), 6)
    assert plugin.backend_for(meta.best) == (deflate.backend("libdeflate"), 10)
    assert plugin.decoder().name == "libdeflate"
    assert plugin.decoder().decompress_into is not None  # through libdeflate's C entry point


def test_libdeflate_decodes_into_a_buffer_and_refuses_every_mismatch() -> None:
    plugin = DeflatePlugin(backend="libdeflate")
    token = crush.CancelToken()
    data = b"the quick brown fox " * 5000
    block = plugin.compress(data, 6, token)
    out = bytearray(len(data))
    assert plugin.decompress_into(memoryview(block), memoryview(out), token) == len(data)
    assert out == data
    for bad, size in ((block + b"\x00", len(data)), (block[:-1], len(data)),
                      (block, len(data) - 1), (block, len(data) + 1), (b"\xff" * 50, 10)):
        with pytest.raises(ValueError, match="damaged or does not end"):
            plugin.decompress_into(bad, memoryview(bytearray(size)), token)
    with pytest.raises((BufferError, TypeError)):
        plugin.decompress_into(block, memoryview(bytes(len(data))), token)  # read-only
    assert plugin.decompress(deflate.backend("zlib").compress(b"", 6), 0, token) == b""


def test_libdeflate_decoders_are_per_thread() -> None:
    from concurrent.futures import ThreadPoolExecutor

    plugin = DeflatePlugin(backend="libdeflate")
    token = crush.CancelToken()
    blocks = [bytes([i]) * 3000 + bytes(range(256)) * (i + 1) for i in range(64)]
    packed = [plugin.compress(b, 6, token) for b in blocks]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: plugin.decompress(packed[i], len(blocks[i]), token),
                            range(64)))
    assert got == blocks


def test_unknown_backend_and_level_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown deflate backend"):
        DeflatePlugin(backend="zopfli")
    with pytest.raises(ValueError, match=r"outside 0\.\.9"):
        DeflatePlugin().compress(b"x", 10, crush.CancelToken())


def test_without_libdeflates_symbols_the_next_exact_decoder_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another build of the deflate wheel may not export libdeflate's symbols:
    # its binding then cannot refuse bytes after the stream and must not decode.
    from crush.plugins import _libdeflate

    monkeypatch.setattr(_libdeflate, "load", lambda: None)
    monkeypatch.setattr(deflate, "_loaded", {})
    binding = deflate.backend("libdeflate")
    assert binding is not None and not binding.exact_end and binding.decompress_into is None
    plugin = DeflatePlugin()
    assert plugin.decoder().name == "isal"
    token = crush.CancelToken()
    data = b"fallback " * 4000
    block = plugin.compress(data, 6, token)
    out = bytearray(len(data))
    assert plugin.decompress_into(block, memoryview(out), token) == len(data) and out == data
    with pytest.raises(Exception):  # noqa: B017 - any exception, never wrong data
        plugin.decompress(block + b"\x00", len(data), token)
