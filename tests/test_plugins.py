"""Checks every registered plugin must pass (numcodecs ``tests/common.py`` style).

Everything here is parametrized over ``crush.list_plugins()``, so a plugin
added to plugins.toml is checked with no new test code: round trips at the
block-size edges with every buffer type and level, the contract (exact
sizes, errors instead of wrong data, bounded output for hostile input),
each codec's wire format, and thread safety.
"""

from __future__ import annotations

import array
import importlib
import pkgutil
import random
import threading
import tracemalloc
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
import crush.plugins
from crush.contract import BUILTIN_IDS
from crush.contract import PRESETS
from crush.contract import Buffer
from crush.registry import KNOWN_IDS
from crush.registry import contract_problems

PLUGINS = crush.list_plugins()
NAMES = [p.name for p in PLUGINS]
SLOW = frozenset({"lzma", "bz2", "brotli"})
"""Codecs whose top levels are slow: exercised at best/max levels on small data only."""

BLOCK_SIZES = (64, 1000)
SIZE_CASES = ("empty", "one", "block-1", "block", "block+1", "several")
KINDS = ("random", "compressible", "zeros")
BUFFERS = ("bytes", "bytearray", "memoryview", "slice", "array")

each_plugin = pytest.mark.parametrize("plugin", PLUGINS, ids=NAMES)
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure reproduces, CI is stable
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def make_data(kind: str, size: int, seed: int = 0) -> bytes:
    """Return *size* deterministic bytes: random, compressible (repeated words) or zeros."""
    rnd = random.Random(seed)
    if kind == "random":
        return rnd.randbytes(size)
    if kind == "zeros":
        return bytes(size)
    words = [rnd.randbytes(rnd.randint(1, 12)) for _ in range(10)]
    out = bytearray()
    while len(out) < size:
        out += rnd.choice(words)
    return bytes(out[:size])


def block_case(case: str, block_size: int, extra: int = 17) -> int:
    """Return the input size for a size case relative to *block_size*."""
    return {
        "empty": 0,
        "one": 1,
        "block-1": block_size - 1,
        "block": block_size,
        "block+1": block_size + 1,
        "several": 3 * block_size + extra,
    }[case]


def as_buffer(kind: str, data: bytes) -> tuple[Buffer, bytes]:
    """Return *data* as the buffer type *kind* and the bytes a decoder must give back."""
    if kind == "bytes":
        return data, data
    if kind == "bytearray":
        return bytearray(data), data
    if kind == "memoryview":
        return memoryview(data), data
    if kind == "slice":
        return memoryview(b"<<" + data + b">>")[2:-2], data
    if kind == "array":  # a non-byte format: 4-byte items
        items = array.array("I")
        items.frombytes(data[: len(data) - len(data) % items.itemsize])
        return memoryview(items), items.tobytes()
    raise AssertionError(kind)


def native(plugin: crush.Plugin, level: int | str | None) -> int:
    """Return the native level crush resolves *level* to for *plugin*."""
    if level is None:
        return plugin.metadata.default_level
    if isinstance(level, str):
        return plugin.metadata.preset(level)
    return level


def check_encode_decode(
    plugin: crush.Plugin,
    buf: Buffer,
    expected: bytes,
    *,
    level: int | str | None = None,
    block_size: int = 1000,
) -> None:
    """Round-trip *buf* through the plugin directly and through the crush API."""
    token = crush.CancelToken()
    out = plugin.compress(buf, native(plugin, level), token)
    # bytes, or the input itself: "store this block raw" (the store plugin).
    assert type(out) is bytes or out is buf
    back = plugin.decompress(out, len(expected), token)
    assert type(back) is bytes
    assert back == expected
    # The engine hands decoders zero-copy memoryview slices of the frame.
    assert plugin.decompress(memoryview(b"#" + bytes(out))[1:], len(expected), token) == expected

    blob = crush.compress(buf, plugin=plugin.name, level=level, block_size=block_size)
    report = crush.inspect(blob)
    assert report.plugin == plugin.name
    assert report.original_size == len(expected)
    assert report.blocks == -(-len(expected) // block_size)
    assert report.frames[0].content_crc == zlib.crc32(expected)
    assert crush.decompress(blob) == expected


# -- round trips ------------------------------------------------------------


@each_plugin
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", SIZE_CASES)
def test_round_trip_block_edges(plugin: crush.Plugin, case: str, kind: str) -> None:
    data = make_data(kind, block_case(case, 64), seed=len(case))
    check_encode_decode(plugin, data, data, block_size=64)


@each_plugin
@pytest.mark.parametrize("kind", BUFFERS)
def test_round_trip_buffer_types(plugin: crush.Plugin, kind: str) -> None:
    buf, expected = as_buffer(kind, make_data("compressible", 2501, seed=7))
    check_encode_decode(plugin, buf, expected, block_size=1000)


@each_plugin
@PROPERTY
@given(
    block_size=st.sampled_from(BLOCK_SIZES),
    case=st.sampled_from(SIZE_CASES),
    extra=st.integers(0, 999),
    kind=st.sampled_from(KINDS),
    buffer=st.sampled_from(BUFFERS),
    level=st.sampled_from((None, "fast", "balanced")),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_property(
    plugin: crush.Plugin,
    block_size: int,
    case: str,
    extra: int,
    kind: str,
    buffer: str,
    level: str | None,
    seed: int,
) -> None:
    data = make_data(kind, block_case(case, block_size, extra % block_size), seed)
    buf, expected = as_buffer(buffer, data)
    check_encode_decode(plugin, buf, expected, level=level, block_size=block_size)


@each_plugin
@PROPERTY
@given(data=st.binary(max_size=3000))
def test_round_trip_arbitrary_bytes(plugin: crush.Plugin, data: bytes) -> None:
    check_encode_decode(plugin, data, data, block_size=1000)


def _levels(plugin: crush.Plugin) -> list[int | str]:
    meta = plugin.metadata
    return [*PRESETS, meta.min_level, meta.max_level, meta.default_level]


@pytest.mark.parametrize(
    ("plugin", "level"),
    [pytest.param(p, lv, id=f"{p.name}-{lv}") for p in PLUGINS for lv in _levels(p)],
)
def test_every_level_round_trips(plugin: crush.Plugin, level: int | str) -> None:
    # Best/max levels of lzma, bz2 and brotli are slow: small data keeps it cheap.
    size = 1500 if plugin.name in SLOW else 5000
    data = make_data("compressible", size, seed=3) + make_data("random", 200, seed=4)
    check_encode_decode(plugin, data, data, level=level, block_size=1000)


@each_plugin
def test_every_native_level_round_trips_directly(plugin: crush.Plugin) -> None:
    data = make_data("compressible", 700, seed=5)
    token = crush.CancelToken()
    meta = plugin.metadata
    for level in range(meta.min_level, meta.max_level + 1):
        out = plugin.compress(data, level, token)
        assert plugin.decompress(out, len(data), token) == data, level


@each_plugin
def test_compress_is_deterministic(plugin: crush.Plugin) -> None:
    # The contract: output is a pure function of (data, level) and the codec version.
    data = make_data("compressible", 3000, seed=6)
    token = crush.CancelToken()
    for level in (plugin.metadata.fast, plugin.metadata.default_level):
        assert plugin.compress(data, level, token) == plugin.compress(bytearray(data), level, token)


# -- the contract -----------------------------------------------------------


@each_plugin
def test_satisfies_contract(plugin: crush.Plugin) -> None:
    assert isinstance(plugin, crush.Plugin)
    assert contract_problems(plugin) == []
    meta = plugin.metadata
    assert isinstance(meta, crush.PluginMetadata)
    for preset in PRESETS:
        assert meta.min_level <= meta.preset(preset) <= meta.max_level
    with pytest.raises(KeyError):
        meta.preset("fastest")
    assert plugin.detect(b"") in (True, False)
    assert plugin.detect(b"\x89PNG\r\n\x1a\n") in (True, False)


def test_ids_and_names_are_unique() -> None:
    assert len(set(NAMES)) == len(NAMES)
    ids = [p.plugin_id for p in PLUGINS]
    assert len(set(ids)) == len(ids)


@each_plugin
def test_builtin_ids_are_reserved_and_in_the_id_table(plugin: crush.Plugin) -> None:
    assert type(plugin).__module__.startswith("crush.plugins.")
    assert plugin.plugin_id in BUILTIN_IDS
    assert KNOWN_IDS[plugin.plugin_id][0] == plugin.name
    assert crush.plugin_for_id(plugin.plugin_id) is plugin
    assert crush.get_plugin(plugin.name) is plugin


def test_every_plugin_module_is_registered() -> None:
    registered = {type(p) for p in PLUGINS}
    for info in pkgutil.iter_modules(crush.plugins.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"crush.plugins.{info.name}")
        classes = {
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and obj.__module__ == module.__name__
            and hasattr(obj, "plugin_id")
        }
        assert classes & registered, (
            f"crush/plugins/{info.name}.py defines a plugin that plugins.toml does not list"
        )


@each_plugin
@pytest.mark.parametrize("delta", [-1, 1])
def test_decompress_with_wrong_size_raises(plugin: crush.Plugin, delta: int) -> None:
    data = make_data("compressible", 2000, seed=8)
    token = crush.CancelToken()
    out = plugin.compress(data, plugin.metadata.default_level, token)
    with pytest.raises(Exception):  # noqa: B017 - any exception; never wrong-length data
        plugin.decompress(out, len(data) + delta, token)


@each_plugin
def test_decompress_with_size_zero_of_nonempty_block_raises(plugin: crush.Plugin) -> None:
    token = crush.CancelToken()
    out = plugin.compress(b"not empty", plugin.metadata.default_level, token)
    with pytest.raises(Exception):  # noqa: B017
        plugin.decompress(out, 0, token)


def _garbage(plugin: crush.Plugin) -> list[bytes]:
    good = plugin.compress(make_data("compressible", 2000), plugin.metadata.default_level,
                           crush.CancelToken())
    flipped = bytearray(good)
    flipped[len(flipped) // 2] ^= 0xFF
    return [
        b"",
        b"\x00",
        b"\xff" * 64,
        b"garbage " * 20,
        random.Random(1).randbytes(500),
        good[:-1],  # truncated
        good[: len(good) // 2],
        good + b"\x00",  # trailing bytes after the codec's stream
        good + good,
        bytes(flipped),
    ]


@each_plugin
def test_decompress_garbage_raises(plugin: crush.Plugin) -> None:
    token = crush.CancelToken()
    for i, junk in enumerate(_garbage(plugin)):
        with pytest.raises(Exception):  # noqa: B017 - an exception, not a crash or bad data
            out = plugin.decompress(junk, 2000, token)
            # A flipped bit may still decode; the contract then demands the exact size
            # (crush's CRC catches the content).
            if i == 9 and len(out) == 2000:
                raise ValueError("decoded to the declared size")


@each_plugin
@PROPERTY
@given(junk=st.binary(max_size=400), size=st.integers(0, 5000))
def test_decompress_fuzz_raises_or_returns_exact_size(
    plugin: crush.Plugin, junk: bytes, size: int
) -> None:
    try:
        out = plugin.decompress(junk, size, crush.CancelToken())
    except Exception:  # any exception is within the contract
        return
    assert type(out) is bytes
    assert len(out) == size


@each_plugin
@pytest.mark.parametrize("size", [0, 1, 1000])
def test_hostile_block_cannot_expand_beyond_declared_size(
    plugin: crush.Plugin, size: int
) -> None:
    # A block that really holds 8 MiB but is declared small: the decoder must
    # refuse it without allocating the real content (a decompression bomb).
    real = 8 << 20
    bomb = plugin.compress(bytes(real), plugin.metadata.fast, crush.CancelToken())
    tracemalloc.start()
    try:
        with pytest.raises(Exception):  # noqa: B017
            plugin.decompress(bomb, size, crush.CancelToken())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < real // 4, f"{plugin.name} allocated {peak} bytes for a {size}-byte block"


# -- wire formats -----------------------------------------------------------


def _codec_decode(name: str, out: bytes, size: int) -> bytes | None:
    """Decode *out* with the codec library itself; None for plugins not known here."""
    if name == "deflate":
        return zlib.decompress(out, -15)  # raw DEFLATE: no zlib or gzip wrapper
    if name == "zstd":
        import zstandard

        assert zstandard.frame_content_size(out) == size  # the content size is recorded
        return zstandard.ZstdDecompressor().decompress(out)
    if name == "lz4":
        import lz4.block

        return bytes(lz4.block.decompress(out, uncompressed_size=size))
    if name == "brotli":
        import brotli

        return bytes(brotli.decompress(out))
    if name == "lzma":
        import lzma

        from crush.plugins.lzma import _dict_size

        filters: list[dict[str, Any]] = [{"id": lzma.FILTER_LZMA2, "dict_size": _dict_size(size)}]
        return lzma.decompress(out, format=lzma.FORMAT_RAW, filters=filters)
    if name == "bz2":
        import bz2

        return bz2.decompress(out)
    return None


@each_plugin
def test_output_is_the_documented_wire_format(plugin: crush.Plugin) -> None:
    data = make_data("compressible", 3000, seed=9)
    out = plugin.compress(data, plugin.metadata.default_level, crush.CancelToken())
    decoded = _codec_decode(plugin.name, out, len(data))
    if decoded is None:
        pytest.skip(f"no reference decoder for {plugin.name}")
    assert decoded == data


@pytest.mark.parametrize("level", ["fast", "balanced", "best"])
def test_lz4_writes_the_block_format_not_frames(level: str) -> None:
    import lz4.frame

    plugin = crush.get_plugin("lz4")
    data = make_data("compressible", 3000, seed=10)
    out = plugin.compress(data, plugin.metadata.preset(level), crush.CancelToken())
    assert out[:4] != (0x184D2204).to_bytes(4, "little"), "LZ4 frame magic in a block"
    with pytest.raises(RuntimeError):
        lz4.frame.decompress(out)


# -- thread safety ----------------------------------------------------------


@each_plugin
def test_one_plugin_object_serves_eight_threads(plugin: crush.Plugin) -> None:
    meta = plugin.metadata
    levels = sorted({meta.fast, meta.balanced, meta.default_level, meta.min_level})
    size = 2000 if plugin.name in SLOW else 20000
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        token = crush.CancelToken()
        barrier.wait(timeout=30)
        for i in range(6):
            data = make_data(KINDS[(n + i) % 3], size + n * 7 + i, seed=n * 100 + i)
            level = levels[(n + i) % len(levels)]
            out = plugin.compress(data, level, token)
            assert plugin.decompress(out, len(data), token) == data, (n, i, level)

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(work, n) for n in range(8)]:
            future.result(timeout=120)
