"""crush.api: compress, decompress and inspect bytes; errors, fallback, deadlines."""

from __future__ import annotations

import contextlib
import gzip
import inspect as pyinspect
import logging
import random
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from collections.abc import Iterator

import pytest
from faulty import CompressNonBytes
from faulty import CompressRaises
from faulty import CooperativeSlow
from faulty import DecompressGarbage
from faulty import DecompressNonBytes
from faulty import DecompressRaises
from faulty import DecompressTooLong
from faulty import IgnoresCancel
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush import execution
from crush import frame
from crush import frame_v2
from crush.plugins.zstd import ZstdPlugin

MakeRegistry = Callable[..., crush.Registry]

TEXT = b"hello" * 1000
BIG = 200 << 10  # above the 64 KiB inline limit, so blocks run on the worker pool


def compressible(size: int, seed: int = 0) -> bytes:
    rnd = random.Random(seed)
    words = [rnd.randbytes(rnd.randint(2, 9)) for _ in range(12)]
    out = bytearray()
    while len(out) < size:
        out += rnd.choice(words)
    return bytes(out[:size])


def incompressible(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture(autouse=True)
def _no_env_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRUSH_TIMEOUT", raising=False)


# -- choosing plugin and level ---------------------------------------------


def test_without_a_plugin_crush_selects_one() -> None:
    blob = crush.compress(TEXT)
    assert crush.inspect(blob).plugin == crush.select_plugin(TEXT).plugin.name
    assert len(blob) < len(TEXT) // 10
    assert crush.decompress(blob) == TEXT


def test_the_default_plugin_is_deflate() -> None:
    # Used when nothing else applies and as the fallback for a failing plugin.
    assert crush.registry.DEFAULT_REGISTRY.default.name == "deflate"
    blob = crush.compress(TEXT, plugin="deflate")
    assert crush.inspect(blob).plugin == "deflate"


@pytest.mark.parametrize(
    ("plugin", "level"), [("zstd", 19), ("lz4", "fast"), ("brotli", "best"), ("bz2", 1)]
)
def test_named_plugin_and_level(plugin: str, level: int | str) -> None:
    blob = crush.compress(TEXT, plugin=plugin, level=level)
    report = crush.inspect(blob)
    assert report.plugin == plugin
    assert report.frames[0].plugin_id == crush.get_plugin(plugin).plugin_id
    assert crush.decompress(blob) == TEXT


def test_level_changes_the_output() -> None:
    data = compressible(50_000)
    fast = crush.compress(data, plugin="zstd", level=1)
    best = crush.compress(data, plugin="zstd", level=19)
    assert len(best) < len(fast)
    assert crush.decompress(fast) == crush.decompress(best) == data


BAD_RANGE = [("deflate", 10, "0..9"), ("deflate", -1, "0..9"), ("zstd", 23, "-7..22"),
             ("zstd", -8, "-7..22"), ("lz4", 13, "0..12"), ("bz2", 0, "1..9")]
BAD_PRESET = [("deflate", "max", "0..9"), ("deflate", "", "0..9"), ("zstd", "FAST", "-7..22")]
BAD_TYPE = [("deflate", True, "0..9"), ("deflate", False, "0..9"), ("deflate", 1.0, "0..9"),
            ("zstd", 3.5, "-7..22"), ("deflate", b"fast", "0..9")]


def _ids(cases: list[tuple[str, object, str]]) -> list[str]:
    return [f"{plugin}-{level!r}" for plugin, level, _ in cases]


@pytest.mark.parametrize(("plugin", "level", "levels"), BAD_RANGE + BAD_PRESET + BAD_TYPE,
                         ids=_ids(BAD_RANGE + BAD_PRESET + BAD_TYPE))
def test_bad_level_is_a_config_error(plugin: str, level: object, levels: str) -> None:
    with pytest.raises(crush.ConfigError) as info:
        crush.compress(TEXT, plugin=plugin, level=level)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("plugin", "level", "levels"), BAD_RANGE + BAD_PRESET,
                         ids=_ids(BAD_RANGE + BAD_PRESET))
def test_bad_level_message_names_the_valid_range(plugin: str, level: object, levels: str) -> None:
    low, high = levels.split("..")
    with pytest.raises(crush.ConfigError, match=rf"{low}\.\.\.?{high}") as info:
        crush.compress(TEXT, plugin=plugin, level=level)  # type: ignore[arg-type]
    assert plugin in str(info.value)
    assert "'fast', 'balanced', 'best'" in str(info.value)


@pytest.mark.parametrize(("plugin", "level", "levels"), BAD_TYPE, ids=_ids(BAD_TYPE))
def test_bad_level_type_message_names_the_valid_range(
    plugin: str, level: object, levels: str
) -> None:
    low, high = levels.split("..")
    with pytest.raises(crush.ConfigError, match=rf"{low}\.\.\.?{high}"):
        crush.compress(TEXT, plugin=plugin, level=level)  # type: ignore[arg-type]


def test_unknown_plugin_lists_the_known_ones() -> None:
    with pytest.raises(crush.PluginNotFoundError) as info:
        crush.compress(TEXT, plugin="snappy")
    message = str(info.value)
    assert "'snappy'" in message
    for plugin in crush.list_plugins():
        assert plugin.name in message
    assert info.value.plugin == "snappy"


def test_get_plugin_and_list_plugins() -> None:
    brotli = crush.get_plugin("brotli")
    assert brotli.name == "brotli"
    assert brotli in crush.list_plugins()
    names = [p.name for p in crush.list_plugins()]
    assert names[0] == "deflate"
    assert {"deflate", "zstd", "lz4", "brotli", "lzma", "bz2"} <= set(names)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threads": 0}, {"threads": True}, {"threads": 1.5},
        {"timeout": -1}, {"timeout": "5"}, {"timeout": True}, {"timeout": float("nan")},
        {"cancel": object()}, {"block_size": 0}, {"block_size": True},
        {"block_size": frame.MAX_BLOCK_SIZE + 1},
    ],
    ids=repr,
)
def test_bad_options_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(crush.ConfigError):
        crush.compress(TEXT, **kwargs)  # type: ignore[arg-type]


def test_buffer_arguments() -> None:
    assert crush.decompress(crush.compress(bytearray(TEXT))) == TEXT
    assert crush.decompress(memoryview(crush.compress(memoryview(TEXT)[5:]))) == TEXT[5:]
    with pytest.raises(crush.ConfigError, match="contiguous"):
        crush.compress(memoryview(TEXT)[::2])
    with pytest.raises(TypeError, match="bytes-like"):
        crush.compress("text")  # type: ignore[arg-type]


# -- inspect and the frame facts -------------------------------------------


def test_inspect_reports_the_frame_facts() -> None:
    data = compressible(5000) + incompressible(3000)
    blob = crush.compress(data, plugin="zstd", level=5, block_size=1000)
    report = crush.inspect(blob)
    assert len(report.frames) == 1
    facts = report.frames[0]
    assert report.plugin == facts.plugin == "zstd"
    assert facts.plugin_id == 0x01
    assert facts.version == frame.VERSION
    assert facts.block_size == 1000
    assert report.original_size == facts.original_size == len(data)
    assert report.compressed_size == facts.compressed_size == len(blob)
    assert report.ratio == pytest.approx(len(blob) / len(data))
    assert report.blocks == facts.blocks == 8
    assert facts.raw_blocks == 3
    assert facts.block_crcs == tuple(zlib.crc32(data[i : i + 1000]) for i in range(0, 8000, 1000))
    assert facts.content_crc == zlib.crc32(data)
    # inspect reports the calibrated figures, as every view does
    assert facts.metadata == crush.registry.DEFAULT_REGISTRY.metadata_for("zstd")
    assert facts.info == crush.FileInfo()


def test_inspect_empty_content() -> None:
    report = crush.inspect(crush.compress(b""))
    assert (report.original_size, report.blocks, report.ratio) == (0, 0, 1.0)
    assert report.frames[0].content_crc == 0
    assert crush.decompress(crush.compress(b"")) == b""


def test_file_info_round_trips_through_inspect() -> None:
    info = crush.FileInfo(name="dir/ünïcödé.txt", mtime_ns=1_700_000_000_123_456_789, mode=0o640)
    blob = crush.compress(TEXT, file_info=info)
    assert crush.inspect(blob).frames[0].info == info
    assert crush.decompress(blob) == TEXT
    partial = crush.FileInfo(mtime_ns=-5)
    assert crush.inspect(crush.compress(b"x", file_info=partial)).frames[0].info == partial


BAD_FILE_INFO = {
    "empty-name": crush.FileInfo(name=""),
    "long-name": crush.FileInfo(name="x" * (frame.MAX_NAME_LENGTH + 1)),
    "name-not-str": crush.FileInfo(name=5),  # type: ignore[arg-type]
    "mtime-overflow": crush.FileInfo(mtime_ns=2**63),
    "not-file-info": "name.txt",
}


@pytest.mark.parametrize("info", BAD_FILE_INFO.values(), ids=BAD_FILE_INFO.keys())
def test_bad_file_info_is_a_config_error(info: object) -> None:
    with pytest.raises(crush.ConfigError, match="file_info"):
        crush.compress(TEXT, file_info=info)  # type: ignore[arg-type]


def test_concatenated_frames() -> None:
    a, b = compressible(3000, 1), incompressible(500, 2)
    blob = crush.compress(a, plugin="lz4") + crush.compress(b, plugin="zstd")
    report = crush.inspect(blob)
    assert [f.plugin for f in report.frames] == ["lz4", "zstd"]
    assert report.original_size == len(a) + len(b)
    assert crush.decompress(blob) == a + b


@pytest.mark.parametrize("plugin", crush.list_plugins(), ids=lambda p: p.name)
def test_incompressible_data_is_stored_raw(plugin: crush.Plugin) -> None:
    data = incompressible(5000, seed=plugin.plugin_id)
    blob = crush.compress(data, plugin=plugin.name, block_size=1000)
    report = crush.inspect(blob)
    assert report.frames[0].raw_blocks == report.blocks == 5
    empty_frame = len(crush.compress(b"", plugin=plugin.name, block_size=1000))
    # v2: a 17-byte record header and a 12-byte index entry per block.
    assert len(blob) == len(data) + empty_frame + 5 * (frame_v2.RECORD_SIZE + frame_v2.ENTRY_SIZE)
    assert crush.decompress(blob) == data


def test_blocks_run_on_the_pool_and_keep_their_order() -> None:
    data = compressible(BIG, 3) + incompressible(BIG // 4, 4)
    for threads in (1, 2, 4):
        blob = crush.compress(data, plugin="zstd", block_size=4096, threads=threads)
        assert crush.inspect(blob).blocks == -(-len(data) // 4096)
        assert crush.decompress(blob, threads=threads) == data


def test_api_is_thread_safe() -> None:
    def work(n: int) -> bool:
        data = compressible(20_000 + n, n)
        plugin = ("deflate", "zstd", "lz4")[n % 3]
        blob = crush.compress(data, plugin=plugin, block_size=4096, threads=2)
        return crush.decompress(blob, threads=2) == data

    results: list[bool] = []
    threads = [threading.Thread(target=lambda n=n: results.append(work(n))) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [True] * 8


# -- output limits and bad input --------------------------------------------


def test_max_output_size() -> None:
    blob = crush.compress(TEXT, block_size=1000)
    assert crush.decompress(blob, max_output_size=len(TEXT)) == TEXT
    with pytest.raises(crush.OutputLimitError) as info:
        crush.decompress(blob, max_output_size=len(TEXT) - 1)
    assert info.value.limit == len(TEXT) - 1
    assert isinstance(info.value, ValueError)
    assert crush.decompress(crush.compress(b""), max_output_size=0) == b""
    with pytest.raises(crush.OutputLimitError):
        crush.decompress(blob, max_output_size=0)


def test_max_output_size_counts_every_concatenated_frame() -> None:
    blob = crush.compress(TEXT) + crush.compress(TEXT)
    assert crush.decompress(blob, max_output_size=2 * len(TEXT)) == TEXT * 2
    with pytest.raises(crush.OutputLimitError):
        crush.decompress(blob, max_output_size=2 * len(TEXT) - 1)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "10"], ids=repr)
def test_bad_max_output_size_is_a_config_error(bad: object) -> None:
    with pytest.raises(crush.ConfigError):
        crush.decompress(crush.compress(TEXT), max_output_size=bad)  # type: ignore[arg-type]


# The store plugin never shrinks anything, so it cannot make a bomb.
@pytest.mark.parametrize("plugin", [p for p in crush.list_plugins() if p.metadata.ratio < 1],
                         ids=lambda p: p.name)
def test_block_that_expands_past_its_declared_size_is_refused(plugin: crush.Plugin) -> None:
    # A hand-made frame whose block really holds 8 MiB but declares a small size:
    # decoding must fail with PluginError without allocating the 8 MiB.
    real = 8 << 20
    bomb = plugin.compress(bytes(real), plugin.metadata.fast, crush.CancelToken())
    size = len(bomb) + 1
    blob = (frame.encode_header(plugin.plugin_id, 1 << 20)
            + frame.encode_block_header(False, size, len(bomb), zlib.crc32(bytes(size)))
            + bomb + frame.encode_end(size, zlib.crc32(bytes(size))))
    tracemalloc.start()
    try:
        with pytest.raises(crush.PluginError) as info:
            crush.decompress(blob, threads=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.plugin == plugin.name
    assert info.value.__cause__ is not None
    assert peak < real // 4


NOT_CRUSH = {
    "text": b"hello, this is not a crush frame at all",
    "truncated-gzip": gzip.compress(TEXT)[:12],  # whole gzip decodes (tests/test_formats.py)
    "zlib": zlib.compress(TEXT),
    "zeros": bytes(64),
    "random": incompressible(256, 9),
    "other-version": b"CR\x09" + bytes(40),
}


@pytest.mark.parametrize("data", NOT_CRUSH.values(), ids=NOT_CRUSH.keys())
def test_non_crush_data_is_a_format_error(data: bytes) -> None:
    with pytest.raises(crush.FormatError):
        crush.decompress(data)
    with pytest.raises(crush.FormatError):
        crush.inspect(data)
    with pytest.raises(OSError):  # what `except OSError` around gzip code already catches
        crush.decompress(data)


def test_trailing_garbage_after_a_frame_is_a_format_error() -> None:
    with pytest.raises(crush.FormatError):
        crush.decompress(crush.compress(TEXT) + b"junk-after-the-frame")


def test_truncation_is_detected() -> None:
    blob = crush.compress(compressible(3000), block_size=1000)
    for cut in range(1, len(blob)):
        with pytest.raises(crush.TruncatedFrameError):
            crush.decompress(blob[:cut])


FRAMES = [crush.compress(compressible(2500, 5) + incompressible(600, 6), plugin=p.name,
                         block_size=1000) for p in crush.list_plugins()]


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(FRAMES) - 1),
    edits=st.lists(
        st.tuples(st.sampled_from(("flip", "delete", "insert", "cut")), st.integers(0, 10**6),
                  st.integers(1, 255)),
        min_size=1, max_size=3,
    ),
)
def test_damaged_frames_raise_only_crush_errors(
    which: int, edits: list[tuple[str, int, int]]
) -> None:
    blob = bytearray(FRAMES[which])
    for kind, where, value in edits:
        pos = where % (len(blob) + 1)
        if kind == "flip" and pos < len(blob):
            blob[pos] ^= value
        elif kind == "delete" and pos < len(blob):
            del blob[pos]
        elif kind == "insert":
            blob.insert(pos, value)
        else:
            del blob[pos:]
    original = crush.decompress(FRAMES[which])
    try:
        out = crush.decompress(bytes(blob))
    except crush.CrushError:
        pass
    else:
        # An edit that was undone by a later one, or a cut to nothing (empty content).
        assert out == (original if blob else b"")
    with contextlib.suppress(crush.CrushError):
        crush.inspect(bytes(blob))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=200).map(lambda b: b"CR\x01" + b))
def test_random_bytes_behind_the_magic_raise_only_crush_errors(data: bytes) -> None:
    with pytest.raises(crush.CrushError):
        crush.decompress(data)


def test_error_hierarchy() -> None:
    assert issubclass(crush.FormatError, OSError)
    assert issubclass(crush.CorruptFrameError, crush.FormatError)
    assert issubclass(crush.TruncatedFrameError, crush.CorruptFrameError)
    assert issubclass(crush.PluginNotFoundError, LookupError)
    assert issubclass(crush.ConfigError, ValueError)
    assert issubclass(crush.OutputLimitError, ValueError)
    assert issubclass(crush.CrushTimeoutError, TimeoutError)
    for error in (crush.FormatError, crush.CorruptFrameError, crush.TruncatedFrameError,
                  crush.PluginNotFoundError, crush.PluginError, crush.CrushTimeoutError,
                  crush.CancelledError, crush.OutputLimitError, crush.ConfigError):
        assert issubclass(error, crush.CrushError)


# -- registry= --------------------------------------------------------------

API = (crush.compress, crush.decompress, crush.inspect, crush.list_plugins, crush.get_plugin,
       crush.plugin_for_id)


@pytest.mark.parametrize("function", API, ids=lambda f: f.__name__)
def test_every_api_function_takes_registry(function: Callable[..., object]) -> None:
    parameter = pyinspect.signature(function).parameters["registry"]
    assert parameter.kind is pyinspect.Parameter.KEYWORD_ONLY
    assert parameter.default is None


def test_registry_is_used_by_every_call(make_registry: MakeRegistry) -> None:
    registry = make_registry(ZstdPlugin(), default="zstd")
    blob = crush.compress(TEXT, registry=registry)
    assert crush.inspect(blob, registry=registry).plugin == "zstd"
    assert crush.decompress(blob, registry=registry) == TEXT
    assert crush.list_plugins(registry=registry) == registry.plugins
    assert crush.get_plugin("zstd", registry=registry) is registry.get("zstd")
    assert crush.plugin_for_id(0x01, registry=registry) is registry.get("zstd")
    with pytest.raises(crush.PluginNotFoundError, match="available: deflate, zstd"):
        crush.compress(TEXT, plugin="lz4", registry=registry)


def test_frame_from_a_plugin_not_in_the_registry(make_registry: MakeRegistry) -> None:
    blob = crush.compress(TEXT, plugin="lz4")
    registry = make_registry()
    with pytest.raises(crush.PluginNotFoundError, match=r"'lz4'.*plugins\.toml") as info:
        crush.decompress(blob, registry=registry)
    assert info.value.plugin_id == 0x02
    report = crush.inspect(blob, registry=registry)  # reported, not refused
    assert report.plugin == "lz4"
    assert report.frames[0].metadata is None


def test_frame_from_an_unknown_third_party_plugin(make_registry: MakeRegistry) -> None:
    blob = crush.compress(TEXT, plugin="raises-decompress",
                          registry=make_registry(DecompressRaises()))
    report = crush.inspect(blob)  # the default registry does not know id 0x82
    assert (report.plugin, report.frames[0].plugin_id, report.frames[0].metadata) == \
        (None, 0x82, None)
    with pytest.raises(crush.PluginNotFoundError, match=r"0x82.*third-party.*plugins\.toml"):
        crush.decompress(blob)


# -- compression falls back, decompression does not ------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "crush" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("size", [5000, BIG], ids=["inline-size", "pooled-size"])
def test_compress_failure_falls_back_to_the_default(
    make_registry: MakeRegistry, caplog: pytest.LogCaptureFixture, size: int
) -> None:
    caplog.set_level(logging.WARNING, logger="crush")
    registry = make_registry(CompressRaises())
    data = compressible(size)
    blob = crush.compress(data, plugin="raises-compress", block_size=4096, registry=registry)
    report = crush.inspect(blob, registry=registry)
    assert [f.plugin for f in report.frames] == ["deflate"]
    assert crush.decompress(blob, registry=registry) == data
    (message,) = _warnings(caplog)
    assert "raises-compress" in message
    assert "boom" in message
    assert "deflate" in message


def test_non_bytes_from_compress_falls_back(
    make_registry: MakeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="crush")
    registry = make_registry(CompressNonBytes())
    blob = crush.compress(TEXT, plugin="non-bytes", registry=registry)
    assert crush.inspect(blob, registry=registry).plugin == "deflate"
    assert crush.decompress(blob, registry=registry) == TEXT
    (message,) = _warnings(caplog)
    assert "non-bytes" in message
    assert "str" in message


def test_failure_mid_stream_ends_the_frame_and_continues_with_the_default(
    make_registry: MakeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="crush")
    faulty = CompressRaises(when=lambda block: block.startswith(b"X"))
    registry = make_registry(faulty)
    data = b"a" * 1000 + b"b" * 1000 + b"X" * 1000 + b"c" * 1000 + b"d" * 10
    blob = crush.compress(data, plugin="raises-compress", block_size=1000, registry=registry)
    report = crush.inspect(blob, registry=registry)
    assert [(f.plugin, f.blocks) for f in report.frames] == [("raises-compress", 2),
                                                              ("deflate", 3)]
    assert crush.decompress(blob, registry=registry) == data
    assert len(_warnings(caplog)) == 1


def test_failing_default_plugin_raises(make_registry: MakeRegistry) -> None:
    registry = make_registry(CompressRaises(), default="raises-compress")
    with pytest.raises(crush.PluginError, match="raises-compress") as info:
        crush.compress(TEXT, plugin="raises-compress", registry=registry)
    assert info.value.plugin == "raises-compress"
    assert info.value.plugin_id == 0x80
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "boom"


def test_decompress_failure_is_a_plugin_error(make_registry: MakeRegistry) -> None:
    registry = make_registry(DecompressRaises())
    blob = crush.compress(TEXT, plugin="raises-decompress", registry=registry)
    assert crush.inspect(blob, registry=registry).plugin == "raises-decompress"
    with pytest.raises(crush.PluginError, match="raises-decompress") as info:
        crush.decompress(blob, registry=registry)
    assert info.value.plugin == "raises-decompress"
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) == "bad block"


@pytest.mark.parametrize(
    ("plugin", "error", "pattern"),
    [
        (DecompressTooLong, crush.PluginError, r"'too-long'.*decoded to 5001 bytes.*declares 5000"),
        (DecompressNonBytes, crush.PluginError, r"'non-bytes-decompress'.*returned list"),
        (DecompressGarbage, crush.CorruptFrameError, r"CRC32"),
    ],
    ids=["too-long", "non-bytes", "garbage"],
)
def test_bad_decompress_output_is_refused(
    make_registry: MakeRegistry, plugin: type, error: type[Exception], pattern: str
) -> None:
    faulty = plugin()
    registry = make_registry(faulty)
    blob = crush.compress(TEXT, plugin=faulty.name, registry=registry)
    with pytest.raises(error, match=pattern):
        crush.decompress(blob, registry=registry)


# -- cancellation and deadlines --------------------------------------------


@pytest.fixture
def cleanup() -> Iterator[list[Callable[[], None]]]:
    """Collect callbacks that let abandoned test threads finish after the test."""
    callbacks: list[Callable[[], None]] = []
    yield callbacks
    for callback in callbacks:
        callback()


@pytest.mark.parametrize("size", [1000, BIG], ids=["inline", "pooled"])
def test_cancelled_token_stops_builtin_calls(size: int) -> None:
    data = compressible(size)
    blob = crush.compress(data, block_size=16384)
    token = crush.CancelToken()
    token.cancel()
    with pytest.raises(crush.CancelledError):
        crush.compress(data, block_size=16384, cancel=token)
    with pytest.raises(crush.CancelledError):
        crush.decompress(blob, cancel=token)


def test_cancelled_token_stops_third_party_calls(make_registry: MakeRegistry) -> None:
    faulty = DecompressRaises()
    registry = make_registry(faulty)
    token = crush.CancelToken()
    token.cancel()
    with pytest.raises(crush.CancelledError):
        crush.compress(TEXT, plugin=faulty.name, cancel=token, registry=registry)
    assert faulty.calls == 0


def test_cancel_from_another_thread(make_registry: MakeRegistry) -> None:
    slow = CooperativeSlow("slow-cancel", seconds=60)
    registry = make_registry(slow)
    token = crush.CancelToken()
    timer = threading.Timer(0.2, token.cancel)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(crush.CancelledError):
            crush.compress(TEXT, plugin=slow.name, cancel=token, registry=registry)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 5
    assert slow.stopped.wait(5), "the plugin never saw the cancelled token"


@pytest.mark.parametrize("threads", [1, 2])
def test_cooperative_plugin_times_out(make_registry: MakeRegistry, threads: int) -> None:
    # Even with threads=1 a third-party plugin runs on a worker, so the deadline holds.
    slow = CooperativeSlow("slow-timeout", seconds=60)
    registry = make_registry(slow)
    start = time.monotonic()
    with pytest.raises(crush.CrushTimeoutError) as info:
        crush.compress(TEXT, plugin=slow.name, timeout=0.5, threads=threads, registry=registry)
    assert time.monotonic() - start < 5
    assert info.value.plugin == "slow-timeout"
    assert info.value.timeout == 0.5
    assert "'slow-timeout'" in str(info.value)
    assert "0.5 s" in str(info.value)
    assert isinstance(info.value, TimeoutError)
    assert slow.stopped.wait(5), "the plugin never saw the cancelled token"


def test_cooperative_plugin_is_not_counted_as_abandoned(
    make_registry: MakeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="crush")
    slow = CooperativeSlow("slow-honours-cancel", seconds=60)
    registry = make_registry(slow)
    with pytest.raises(crush.CrushTimeoutError):
        crush.compress(TEXT, plugin=slow.name, timeout=0.5, registry=registry)
    assert slow.stopped.wait(5)
    assert [d for d in crush.diagnostics() if d.plugin == slow.name] == []
    assert not [m for m in _warnings(caplog) if slow.name in m]


def test_registry_timeout_applies_without_timeout_argument(make_registry: MakeRegistry) -> None:
    slow = CooperativeSlow("slow-registry", seconds=60)
    registry = make_registry(slow, timeouts={"slow-registry": 0.5})
    with pytest.raises(crush.CrushTimeoutError) as info:
        crush.compress(TEXT, plugin=slow.name, registry=registry)
    assert info.value.timeout == 0.5


def test_plugin_ignoring_the_token_is_abandoned(
    make_registry: MakeRegistry, cleanup: list[Callable[[], None]]
) -> None:
    stuck = IgnoresCancel("stuck-api")
    cleanup.append(stuck.release)
    registry = make_registry(stuck)
    start = time.monotonic()
    with pytest.raises(crush.CrushTimeoutError) as info:
        crush.compress(TEXT, plugin=stuck.name, timeout=0.5, registry=registry)
    assert time.monotonic() - start < 5
    assert info.value.plugin == "stuck-api"
    assert stuck.entered.is_set()
    # A worker counts as stuck once it outstays the deadline by STUCK_AFTER.
    time.sleep(execution.STUCK_AFTER + 0.1)
    (report,) = [d for d in crush.diagnostics() if d.plugin == "stuck-api"]
    assert report.abandoned >= 1
    assert report.stuck >= 1
    # The pool replaced the worker: other calls still run.
    assert crush.decompress(crush.compress(compressible(BIG), threads=2), threads=2) \
        == compressible(BIG)


def test_codec_rejection_is_both_corruption_and_plugin_error(
    make_registry: MakeRegistry,
) -> None:
    plugin = DecompressRaises()
    registry = make_registry(plugin)
    blob = crush.compress(TEXT, plugin=plugin.name, registry=registry)
    with pytest.raises(crush.CorruptBlockError) as info:
        crush.decompress(blob, registry=registry)
    assert isinstance(info.value, OSError)
    assert isinstance(info.value, crush.CorruptFrameError)
    assert isinstance(info.value, crush.PluginError)
    assert info.value.plugin == plugin.name
    assert info.value.offset is not None
    assert isinstance(info.value.__cause__, ValueError)


def test_stored_mode_is_masked_to_permission_bits() -> None:
    import struct
    import zlib

    blob = bytearray(crush.compress(b"x", file_info=crush.FileInfo(mode=0o644)))
    # Forge the mode field (after the 9-byte prefix) and re-seal the header CRC.
    blob[9:13] = struct.pack("<I", 0xFFFFFFFF)
    blob[13:17] = struct.pack("<I", zlib.crc32(bytes(blob[:13])))
    assert crush.inspect(bytes(blob)).frames[0].info.mode == 0o7777
