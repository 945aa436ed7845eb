"""The compress side of the engine against plugins that return anything at all.

Whatever a plugin's ``compress`` returns, crush must never write a frame it
cannot read back: a bad result is a plugin failure (the call falls back to
the default plugin) or the block is stored raw.
"""

from __future__ import annotations

import array
import logging
from collections.abc import Callable

import pytest
from faulty import CompressReturns
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush.contract import Buffer
from crush.plugins.deflate import DeflatePlugin

DATA = b"".join(b"line %d of some text that compresses\n" % i for i in range(3000))
BLOCK = 16 << 10

Make = Callable[[Buffer, bytes], object]

# Each: what the plugin returns, and the frames' plugins crush must write.
FALLS_BACK = ["deflate"]
KEPT = ["returns"]
RETURNS: dict[str, tuple[Make, list[str]]] = {
    "empty bytes": (lambda data, c: b"", FALLS_BACK),
    "empty bytearray": (lambda data, c: bytearray(), FALLS_BACK),
    "empty memoryview": (lambda data, c: memoryview(b""), FALLS_BACK),
    "None": (lambda data, c: None, FALLS_BACK),
    "str": (lambda data, c: "not bytes", FALLS_BACK),
    "int": (lambda data, c: 7, FALLS_BACK),
    "list of ints": (lambda data, c: list(c), FALLS_BACK),
    "huge": (lambda data, c: bytes(len(data) * 3), KEPT),
    "same size": (lambda data, c: bytes(len(data)), KEPT),
    "input itself": (lambda data, c: data, KEPT),
    "memoryview of the input": (lambda data, c: memoryview(data), KEPT),
    "copy of the input": (lambda data, c: bytes(data), KEPT),
    "bytearray": (lambda data, c: bytearray(c), KEPT),
    "memoryview": (lambda data, c: memoryview(c), KEPT),
    # len() of this view counts 4-byte items; deflate ignores the zero padding.
    "memoryview of ints": (lambda data, c: memoryview(array.array("I", c + bytes(-len(c) % 4))),
                           KEPT),
}


def registry(plugin: CompressReturns) -> crush.Registry:
    return crush.Registry([DeflatePlugin(), plugin], default="deflate")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kind", sorted(RETURNS))
def test_any_compress_result_writes_a_readable_frame(
    kind: str, threads: int, caplog: pytest.LogCaptureFixture
) -> None:
    make, plugins = RETURNS[kind]
    reg = registry(CompressReturns(make=make))
    with caplog.at_level(logging.WARNING, logger="crush"):
        blob = crush.compress(DATA, plugin="returns", block_size=BLOCK, threads=threads,
                              registry=reg)
    assert crush.decompress(blob, registry=reg, threads=threads) == DATA
    report = crush.inspect(blob, registry=reg)
    assert [f.plugin for f in report.frames] == plugins
    if plugins == FALLS_BACK:
        assert any("returns" in r.getMessage() for r in caplog.records), "the failure is logged"


def test_a_result_as_large_as_the_block_is_stored_raw() -> None:
    reg = registry(CompressReturns(make=lambda data, c: bytes(len(data))))
    blob = crush.compress(DATA, plugin="returns", block_size=BLOCK, registry=reg)
    assert crush.inspect(blob, registry=reg).frames[0].compressed_size >= len(DATA)
    assert crush.decompress(blob, registry=reg) == DATA


# Shorter garbage is a plugin bug crush cannot see at compress time; the frame
# must still be well formed (inspect reads it) and decoding fails only with a
# CrushError naming the damage.
returns = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([None, "", "x", 0, [], (), b"", bytearray(), memoryview(b"")]),
    st.builds(bytearray, st.binary(max_size=300)),
    st.builds(memoryview, st.binary(max_size=300)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(result=returns, data=st.binary(min_size=1, max_size=400))
def test_hypothesis_any_return_gives_a_well_formed_frame(result: object, data: bytes) -> None:
    reg = registry(CompressReturns(make=lambda block, c: result))
    blob = crush.compress(data, plugin="returns", block_size=128, threads=1, registry=reg)
    report = crush.inspect(blob, registry=reg)
    assert report.original_size == len(data)
    try:
        assert crush.decompress(blob, registry=reg) == data
    except crush.CrushError as exc:
        # Only a wrong payload the plugin itself produced may fail, and then
        # as corrupt data, never as a malformed frame.
        assert isinstance(exc, crush.CorruptFrameError | crush.PluginError), exc
        assert "impossible" not in str(exc)


def test_oversized_blocks_are_refused_before_anything_is_written() -> None:
    from crush import engine
    from crush.options import options

    compressor = engine.Compressor(DeflatePlugin(), None, options(None, 1, None, None),
                                   block_size=10)
    try:
        with pytest.raises(ValueError, match=r"1\.\.10 bytes"):
            compressor.feed(b"x" * 11)
        with pytest.raises(ValueError, match=r"1\.\.10 bytes"):
            compressor.feed(b"")
    finally:
        compressor.close()
