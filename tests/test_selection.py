"""Automatic plugin selection: scoring, presets, specialists, the store plugin."""

from __future__ import annotations

import io
import logging
import math
import os
import pathlib
import random
import threading
import time
import zlib

import pytest
from faulty import DetectRaises
from faulty import DetectSleeps
from faulty import IgnoresCancel

import crush
from crush import estimate
from crush.contract import PluginMetadata
from crush.plugins.deflate import DeflatePlugin
from crush.plugins.store import StorePlugin
from crush.plugins.store import compressed_format
from crush.selection import PREFERENCES
from crush.selection import resolve_weights


def meta(throughput: float, ratio: float, formats: tuple[str, ...] = ()) -> PluginMetadata:
    return PluginMetadata("1", "test", throughput, ratio, 0, 9, 6, 1, 6, 9, formats)


class Fake:
    """A deflate-backed plugin with chosen figures and a chosen detect()."""

    def __init__(self, name: str, plugin_id: int, throughput: float, ratio: float,
                 *, formats: tuple[str, ...] = (), accepts: bytes | None = None) -> None:
        self.name = name
        self.plugin_id = plugin_id
        self.metadata = meta(throughput, ratio, formats)
        self._accepts = accepts
        self._inner = DeflatePlugin()

    def compress(self, data: bytes, level: int, cancel: crush.CancelToken) -> bytes:
        return self._inner.compress(data, level, cancel)

    def decompress(self, data: bytes, size: int, cancel: crush.CancelToken) -> bytes:
        return self._inner.decompress(data, size, cancel)

    def detect(self, header: bytes) -> bool:
        return self._accepts is None or header.startswith(self._accepts)


def registry(*plugins: object, default: str = "deflate") -> crush.Registry:
    return crush.Registry([DeflatePlugin(), *plugins], default=default)  # type: ignore[list-item]


def scores(selection: crush.Selection) -> dict[str, float]:
    return {c.plugin: c.score for c in selection.candidates}


TEXT = b"the quick brown fox jumps over the lazy dog\n" * 200


def test_scores_match_a_hand_computation() -> None:
    # deflate (40 MB/s, 0.33) is in the set too; compute everything by hand.
    reg = registry(Fake("fast", 0x90, 400.0, 0.5), Fake("small", 0x91, 4.0, 0.25))
    chosen = crush.select_plugin(TEXT, registry=reg)
    logs = {"deflate": math.log(40.0), "fast": math.log(400.0), "small": math.log(4.0)}
    # Every fake is deflate underneath, so each sample ratio is deflate's at
    # level 1 on the sample (small cannot win on speed and is not sampled: it
    # gets the median sample ratio, the same one). Estimate: sqrt(R * sample).
    sample = estimate._sample(TEXT)
    s = len(DeflatePlugin().compress(sample, 1, crush.CancelToken())) / len(sample)
    ratios = {"deflate": math.sqrt(0.33 * s), "fast": math.sqrt(0.5 * s),
              "small": math.sqrt(0.25 * s)}
    assert {c.plugin: c.estimated_ratio for c in chosen.candidates} == pytest.approx(ratios)
    savings = {name: 1 - r for name, r in ratios.items()}
    lo_t, hi_t = min(logs.values()), max(logs.values())
    lo_r, hi_r = min(savings.values()), max(savings.values())
    expected = {
        name: 0.7 * (logs[name] - lo_t) / (hi_t - lo_t)
        + 0.3 * (savings[name] - lo_r) / (hi_r - lo_r)
        for name in logs
    }
    got = scores(chosen)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value)
    assert chosen.plugin.name == "fast"  # 0.7 * 1 + 0.3 * 0 beats deflate's 0.5 + 0.2
    assert [c.plugin for c in chosen.candidates] == ["fast", "deflate", "small"]
    assert chosen.weights == (0.7, 0.3)


def test_ties_are_broken_by_name() -> None:
    reg = crush.Registry([Fake("beta", 0x92, 10.0, 0.5), Fake("alpha", 0x93, 10.0, 0.5)])
    chosen = crush.select_plugin(TEXT, registry=reg)
    assert chosen.plugin.name == "alpha"
    assert scores(chosen) == {"alpha": 1.0, "beta": 1.0}


def test_a_single_candidate_scores_one() -> None:
    reg = registry(Fake("picky", 0x94, 1.0, 0.9, accepts=b"PICK"))
    reg_only = crush.Registry([Fake("picky", 0x94, 1.0, 0.9, accepts=b"PICK")])
    chosen = crush.select_plugin(b"PICK" + TEXT, registry=reg_only)
    assert chosen.plugin.name == "picky"
    assert [(c.plugin, c.score) for c in chosen.candidates] == [("picky", 1.0)]
    assert "only plugin" in chosen.reason
    # In a set with deflate, picky loses on both figures.
    assert crush.select_plugin(b"PICK" + TEXT, registry=reg).plugin.name == "deflate"


def test_no_candidate_falls_back_to_the_default() -> None:
    reg = crush.Registry([Fake("picky", 0x94, 1.0, 0.9, accepts=b"PICK"),
                          Fake("other", 0x95, 9.0, 0.2, accepts=b"OTHER")], default="other")
    chosen = crush.select_plugin(TEXT, registry=reg)
    assert chosen.plugin.name == "other"
    assert "default" in chosen.reason


# balanced: fast 0.5*1 + 0.5*0 = 0.5; deflate 0.5*0.5 + 0.5*0.68 = 0.59.
@pytest.mark.parametrize(("prefer", "winner"), [("speed", "fast"), ("balanced", "deflate"),
                                                 ("ratio", "small")])
def test_presets(prefer: str, winner: str) -> None:
    reg = registry(Fake("fast", 0x90, 400.0, 0.5), Fake("small", 0x91, 4.0, 0.25))
    chosen = crush.select_plugin(TEXT, prefer=prefer, registry=reg)  # type: ignore[arg-type]
    assert chosen.weights == PREFERENCES[prefer]
    assert chosen.plugin.name == winner


def test_explicit_weights() -> None:
    reg = registry(Fake("fast", 0x90, 400.0, 0.5), Fake("small", 0x91, 4.0, 0.25))
    assert crush.select_plugin(TEXT, weights=(0.0, 1.0), registry=reg).plugin.name == "small"
    assert crush.select_plugin(TEXT, weights=(1.0, 0.0), registry=reg).plugin.name == "fast"


@pytest.mark.parametrize("weights", [(0.5, 0.6), (-0.1, 1.1), (1.0,), ("a", "b"), None])
def test_invalid_weights_are_config_errors(weights: object) -> None:
    if weights is None:
        with pytest.raises(crush.ConfigError, match="prefer"):
            resolve_weights("fastest", None)
        return
    with pytest.raises(crush.ConfigError, match="weights"):
        crush.select_plugin(TEXT, weights=weights)  # type: ignore[arg-type]


def test_prefer_and_weights_together_are_refused() -> None:
    with pytest.raises(crush.ConfigError, match="not both"):
        crush.compress(TEXT, prefer="ratio", weights=(0.5, 0.5))


def test_a_named_plugin_always_wins() -> None:
    for name in ("lzma", "bz2", "deflate"):
        blob = crush.compress(os.urandom(5000), plugin=name, prefer="speed")
        assert crush.inspect(blob).plugin == name


def test_native_level_needs_a_named_plugin() -> None:
    with pytest.raises(crush.ConfigError, match="preset"):
        crush.compress(TEXT, level=9)
    assert crush.decompress(crush.compress(TEXT, level="best")) == TEXT


def test_specialists_win_over_general_plugins() -> None:
    special = Fake("special", 0x96, 1.0, 0.99, formats=("magic",), accepts=b"MAGIC")
    reg = registry(Fake("fast", 0x90, 400.0, 0.5), special)
    assert crush.select_plugin(b"MAGIC" + TEXT, registry=reg).plugin.name == "special"
    assert "specialist" in crush.select_plugin(b"MAGIC" + TEXT, registry=reg).reason
    # Not matching: it is not a candidate at all.
    chosen = crush.select_plugin(TEXT, registry=reg)
    assert "special" not in scores(chosen)
    assert chosen.plugin.name == "fast"


def test_a_broken_detect_is_not_a_candidate() -> None:
    class Broken(Fake):
        def detect(self, header: bytes) -> bool:
            raise RuntimeError("boom")

    reg = registry(Broken("broken", 0x97, 9999.0, 0.01))
    assert "broken" not in scores(crush.select_plugin(TEXT, registry=reg))


def test_auto_selection_is_used_by_compress_open_and_streams(tmp_path: object) -> None:
    data = TEXT * 10
    expected = crush.select_plugin(data).plugin.name
    assert crush.inspect(crush.compress(data)).plugin == expected
    dst = io.BytesIO()
    stats = crush.compress_stream(io.BytesIO(data), dst)
    assert stats.plugin == expected
    assert crush.inspect(dst.getvalue()).plugin == expected
    buf = io.BytesIO()
    with crush.open(buf, "wb") as f:
        f.write(data)
    assert crush.inspect(buf.getvalue()).plugin == expected
    # Random data is stored, in memory and streaming alike.
    noise = os.urandom(300_000)
    assert crush.inspect(crush.compress(noise)).plugin == "store"
    dst = io.BytesIO()
    assert crush.compress_stream(io.BytesIO(noise), dst).plugin == "store"


def test_empty_input_is_selected_like_any_other() -> None:
    assert crush.inspect(crush.compress(b"")).plugin == crush.select_plugin(b"").plugin.name
    assert crush.decompress(crush.compress(b"")) == b""


# -- the store plugin ---------------------------------------------------------------

MAGIC_SAMPLES = {
    "gzip": zlib.compressobj(9, zlib.DEFLATED, 31).compress(TEXT) or b"\x1f\x8b\x08\x00",
    "zip": b"PK\x03\x04\x14\x00\x00\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "gif": b"GIF89a\x01\x00\x01\x00",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "mp4": b"\x00\x00\x00\x18ftypmp42",
    "zstd": b"\x28\xb5\x2f\xfd\x04\x00",
    "xz": b"\xfd7zXZ\x00\x00\x04",
    "bz2": b"BZh91AY&SY",
    "7z": b"7z\xbc\xaf\x27\x1c\x00\x04",
    "lz4": b"\x04\x22\x4d\x18\x64\x40",
    "crush": b"CR\x01\x00\x00\x00\x00\x10\x00",
}


@pytest.mark.parametrize("fmt", sorted(MAGIC_SAMPLES))
def test_store_is_chosen_for_each_compressed_format(fmt: str) -> None:
    sample = MAGIC_SAMPLES[fmt] + TEXT  # compressible after the magic: the magic decides
    assert compressed_format(sample) == fmt
    assert StorePlugin().detect(sample)
    chosen = crush.select_plugin(sample)
    assert chosen.plugin.name == "store"
    blob = crush.compress(sample)
    assert crush.inspect(blob).plugin == "store"
    assert crush.decompress(blob) == sample


def test_real_compressed_data_is_stored() -> None:
    import gzip
    import lzma

    for data in (gzip.compress(TEXT * 50), lzma.compress(TEXT * 50), crush.compress(TEXT * 50),
                 crush.compress(TEXT * 50, plugin="zstd")):
        assert crush.inspect(crush.compress(data)).plugin == "store"


def test_store_is_chosen_for_random_bytes_and_not_for_text() -> None:
    assert crush.select_plugin(random.Random(7).randbytes(8192)).plugin.name == "store"
    for data in (TEXT, bytes(8192), b"".join(bytes([i % 251]) for i in range(8192))):
        assert crush.select_plugin(data).plugin.name != "store"


def test_random_data_grows_by_the_frame_overhead_only() -> None:
    data = os.urandom(8 << 20)
    blob = crush.compress(data)
    report = crush.inspect(blob)
    assert report.plugin == "store"
    assert report.frames[0].raw_blocks == report.blocks == 8
    empty = len(crush.compress(b"", plugin="store"))  # header and footer (v2)
    # Per block: a 17-byte record header and a 12-byte index entry.
    assert len(blob) == len(data) + empty + 29 * report.blocks
    assert crush.decompress(blob) == data


def test_every_block_that_does_not_shrink_is_stored_raw_whatever_the_plugin() -> None:
    data = TEXT * 30 + os.urandom(100_000) + TEXT * 30
    for name in ("deflate", "zstd", "lz4", "brotli"):
        report = crush.inspect(crush.compress(data, plugin=name, block_size=32768))
        assert 0 < report.frames[0].raw_blocks < report.blocks, name


def test_calibrated_figures_override_the_class_guesses() -> None:
    fast = Fake("fast", 0x90, 400.0, 0.5)
    reg = crush.Registry([DeflatePlugin(), fast], measured={"fast": (1.0, 0.9)})
    assert reg.metadata_for("fast").throughput == 1.0
    assert reg.metadata_for("fast").ratio == 0.9
    assert reg.metadata_for("deflate") == DeflatePlugin().metadata
    assert crush.select_plugin(TEXT, registry=reg).plugin.name == "deflate"
    with pytest.raises(crush.ConfigError, match="ratio"):
        crush.Registry([DeflatePlugin()], measured={"deflate": (10.0, 7.0)})
    with pytest.raises(crush.ConfigError, match="not in the registry"):
        crush.Registry([DeflatePlugin()], measured={"nope": (10.0, 0.5)})


class Counting(Fake):
    """A Fake that counts compress calls and can keep its input as it is (never shrinks)."""

    def __init__(self, *args: object, shrinks: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.calls = 0
        self._shrinks = shrinks

    def compress(self, data: bytes, level: int, cancel: crush.CancelToken) -> bytes:
        self.calls += 1
        return super().compress(data, level, cancel) if self._shrinks else bytes(data)


def test_ratios_are_estimated_on_the_input() -> None:
    # Same calibrated figures: by name alone "alpha" would win; on the data,
    # alpha does not shrink anything and beta (deflate) does.
    alpha = Counting("alpha", 0x90, 50.0, 0.4, shrinks=False)
    beta = Counting("beta", 0x91, 50.0, 0.4)
    reg = crush.Registry([alpha, beta])
    chosen = crush.select_plugin(TEXT, prefer="ratio", registry=reg)
    assert chosen.plugin.name == "beta"
    assert alpha.calls == beta.calls == 1
    by_name = {c.plugin: c for c in chosen.candidates}
    assert by_name["alpha"].estimated_ratio == pytest.approx(math.sqrt(0.4 * 1.0))
    assert by_name["beta"].estimated_ratio < by_name["alpha"].estimated_ratio
    assert by_name["alpha"].ratio == 0.4  # the calibrated figure is still reported
    assert "estimated on the input" in chosen.reason


def test_sampling_skips_hopeless_and_too_costly_candidates() -> None:
    slow = Counting("slow", 0x92, 0.5, 0.2)  # 4 KiB would take ~8 ms: over the budget
    crawl = Counting("crawl", 0x93, 1.0, 0.3)
    quick = Counting("quick", 0x94, 500.0, 0.5)
    reg = registry(slow, quick)
    crush.select_plugin(TEXT, prefer="ratio", registry=reg)
    assert slow.calls == 0 and quick.calls == 1
    # Speed first: crawl is so slow that no ratio could lift it past quick.
    crush.select_plugin(TEXT, weights=(0.9, 0.1), registry=registry(crawl, quick))
    assert crawl.calls == 0


def test_a_candidate_whose_sample_fails_keeps_a_median_estimate() -> None:
    class Broken(Fake):
        def compress(self, data: bytes, level: int, cancel: crush.CancelToken) -> bytes:
            raise RuntimeError("no")

    chosen = crush.select_plugin(TEXT, prefer="ratio",
                                 registry=registry(Broken("broken", 0x95, 40.0, 0.3)))
    assert {c.plugin for c in chosen.candidates} == {"deflate", "broken"}
    assert all(c.estimated_ratio is not None for c in chosen.candidates)


# --- detect() is a plugin call: under the deadline and the caller's token -------------------

PROMPT = 5.0  # generous: the hung detects below would take 60 s


def test_a_hung_detect_cannot_outlast_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    hung = DetectSleeps("sleepy", 0x9A, seconds=60)
    reg = registry(hung)
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="crush"):
            blob = crush.compress(TEXT, timeout=0.2, registry=reg)
        assert time.monotonic() - started < PROMPT
        assert hung.entered.is_set(), "its detect was asked"
        assert crush.inspect(blob, registry=reg).plugin == "deflate", "not a candidate"
        assert crush.decompress(blob, registry=reg) == TEXT
        assert any("sleepy" in r.getMessage() and "detect" in r.getMessage()
                   for r in caplog.records)
    finally:
        hung.release()


def test_a_hung_detect_on_streams_and_files(tmp_path: pathlib.Path) -> None:
    hung = DetectSleeps("sleepy-stream", 0x9B, seconds=60)
    reg = registry(hung)
    try:
        started = time.monotonic()
        dst = io.BytesIO()
        stats = crush.compress_stream(io.BytesIO(TEXT), dst, timeout=0.2, registry=reg)
        assert stats.plugin == "deflate"
        with crush.open(tmp_path / "f.crush", "wb", timeout=0.2, registry=reg) as f:
            f.write(TEXT)
        assert time.monotonic() - started < 2 * PROMPT
        assert crush.decompress((tmp_path / "f.crush").read_bytes(), registry=reg) == TEXT
    finally:
        hung.release()


def test_a_cancel_during_detect_raises_promptly() -> None:
    hung = DetectSleeps("sleepy-cancel", 0x9C, seconds=60)
    reg = registry(hung)
    token = crush.CancelToken()
    try:
        threading.Timer(0.2, token.cancel).start()
        started = time.monotonic()
        with pytest.raises(crush.CancelledError):
            crush.compress(TEXT, timeout=60, cancel=token, registry=reg)
        assert time.monotonic() - started < PROMPT
    finally:
        hung.release()


def test_a_raising_detect_during_compress_is_not_a_candidate() -> None:
    reg = registry(DetectRaises("raises-detect", 0x9D))
    blob = crush.compress(TEXT, registry=reg)
    assert crush.inspect(blob, registry=reg).plugin == "deflate"


def test_third_party_detect_runs_off_the_callers_thread() -> None:
    seen: list[int] = []

    class Where(DetectRaises):
        def detect(self, header: bytes) -> bool:
            seen.append(threading.get_ident())
            return False

    crush.compress(TEXT, registry=registry(Where("where-detect", 0x9E)))
    assert seen and seen[0] != threading.get_ident()


def test_a_hung_sample_compression_cannot_outlast_the_timeout() -> None:
    # The ratio estimate compresses a sample with each candidate: that is a
    # plugin call too, so it runs under the deadline like detect(). Best on
    # paper, the hung plugin is then chosen and times out on the block too:
    # two deadlines, never its 60 s hang.
    hung = IgnoresCancel("sleepy-sample", 0x9F, seconds=60)
    # Fast and dense on paper: cheap enough to sample, and it could win.
    hung.metadata = hung.metadata._replace(throughput=1000.0, ratio=0.2)
    reg = registry(hung)
    try:
        started = time.monotonic()
        with pytest.raises(crush.CrushTimeoutError):
            crush.compress(TEXT, timeout=0.2, prefer="ratio", registry=reg)
        assert time.monotonic() - started < PROMPT
        assert hung.entered.is_set(), "its sample was compressed"
    finally:
        hung.release()
