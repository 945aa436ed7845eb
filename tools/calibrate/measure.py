"""Measure one plugin's compression throughput and ratio on the sample corpus.

What is timed: ``crush.compress(data, plugin=name, threads=1, timeout=0)``
on each corpus file, not the bare ``plugin.compress`` method. With
``threads=1`` a built-in plugin runs on the caller's thread, so this is one
thread doing what a user's call does: the codec on 1 MiB blocks plus
crush's CRC32 and framing (a few percent for the fastest codec, nothing
measurable for the others) — the speed selection should trade off. The
deadline is disabled (``timeout=0``) because a calibration run must not be
cut short. Level: the plugin's default.

The data: each plugin is measured on the corpus files its ``detect``
accepts (the first :data:`crush.selection.SAMPLE_SIZE` bytes of each),
i.e. on the data selection would offer it. General-purpose codecs accept
every file; the ``store`` plugin accepts only the random bytes, so its
throughput is the memcpy-class speed of crush's store path on the data it
is chosen for.

Ratio: total frame bytes / total input bytes over those files, one pass
over all of them at full size (frame overhead and blocks stored raw
included, as a user gets them). ``store`` is the exception: it never
transforms data, so its ratio is 1.0 by definition; the measured value
(1.0 plus the frame's ~40 bytes) is reported, not written.

Throughput: MB/s (10^6 bytes per second) of input, the median of *runs*
timed runs. Each run takes about *budget* seconds: a fast plugin
compresses the files several times over in a run, a slow one (lzma, bz2)
compresses the same fraction of every file — the same mix of kinds, fewer
bytes — so a calibration takes seconds, not minutes. The ratio pass
doubles as the warm-up; one more pass sizes the runs. Garbage collection
is off while timing.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping
from typing import Final
from typing import NamedTuple
from typing import final

import crush
from crush.selection import SAMPLE_SIZE
from tools.bench.common import quiet_gc

RATIO_BY_DEFINITION: Final[Mapping[str, float]] = {"store": 1.0}
"""Plugins whose ratio is fixed by what they are, not measured (store keeps data as is)."""

MIN_SLICE: Final = 4096
"""A slow plugin's timed slice keeps at least this many bytes of each file."""


@final
class Measurement(NamedTuple):
    """What calibrating one plugin found.

    ``throughput`` (MB/s) and ``ratio`` are the figures to store;
    ``measured_ratio`` is the ratio the pass actually gave (equal to
    ``ratio`` except for plugins in :data:`RATIO_BY_DEFINITION`).
    ``files`` names the corpus files used, ``timed_bytes`` the input bytes
    per timed run (``loops`` passes over ``slice_bytes``) and ``spread`` the
    (max - min) / median of the runs' speeds.
    """

    plugin: str
    throughput: float
    ratio: float
    measured_ratio: float
    files: tuple[str, ...]
    input_bytes: int
    slice_bytes: int
    loops: int
    runs: int
    spread: float


class CalibrationError(Exception):
    """A plugin could not be measured (its codec is missing, or it fell back)."""


def accepted_files(plugin: crush.Plugin, corpus: Mapping[str, bytes]) -> dict[str, bytes]:
    """Return the corpus files whose first bytes *plugin*'s ``detect`` accepts.

    A plugin that accepts none of them is measured on all of them.
    """
    chosen = {name: data for name, data in corpus.items() if _detects(plugin, data)}
    return chosen or dict(corpus)


def _detects(plugin: crush.Plugin, data: bytes) -> bool:
    # As in selection: a plugin whose detect() raises is not offered the file.
    try:
        return bool(plugin.detect(data[:SAMPLE_SIZE]))
    except Exception:
        return False


def _ratio_pass(
    plugin: crush.Plugin, files: Mapping[str, bytes], registry: crush.Registry
) -> tuple[int, float]:
    """Compress every file once; return (total frame bytes, seconds).

    Raises :class:`CalibrationError` when a frame was not made by *plugin*
    (crush fell back to the default plugin after the plugin failed).
    """
    total = 0
    start = time.perf_counter()
    frames = []
    for data in files.values():
        out = crush.compress(data, plugin=plugin.name, threads=1, timeout=0, registry=registry)
        total += len(out)
        frames.append(out)
    seconds = time.perf_counter() - start
    for out in frames:
        ids = {f.plugin_id for f in crush.inspect(out, registry=registry).frames}
        if ids != {plugin.plugin_id}:
            raise CalibrationError(
                f"{plugin.name}: crush fell back to another plugin while compressing the "
                "corpus (see the warning above); its figures would be someone else's"
            )
    return total, seconds


def _timed_run(
    name: str, pieces: list[bytes], loops: int, registry: crush.Registry
) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        for data in pieces:
            crush.compress(data, plugin=name, threads=1, timeout=0, registry=registry)
    return time.perf_counter() - start


def measure(
    plugin: crush.Plugin,
    corpus: Mapping[str, bytes],
    registry: crush.Registry,
    *,
    runs: int = 5,
    budget: float = 0.5,
) -> Measurement:
    """Return *plugin*'s throughput and ratio on *corpus* (see the module docstring).

    *registry* must hold *plugin*; *runs* timed runs of about *budget*
    seconds each. Raises :class:`CalibrationError` when the plugin cannot
    compress (its codec is not installed) or crush fell back to another plugin.
    """
    try:
        plugin.compress(b"calibrate " * 64, plugin.metadata.default_level, crush.CancelToken())
    except Exception as exc:
        raise CalibrationError(f"{plugin.name}: cannot compress ({exc!r})") from exc
    files = accepted_files(plugin, corpus)
    size = sum(len(d) for d in files.values())
    compressed, seconds = _ratio_pass(plugin, files, registry)
    measured_ratio = compressed / size if size else 1.0
    pieces = list(files.values())
    if seconds > budget:
        share = budget / seconds
        pieces = [d[: max(MIN_SLICE, math.ceil(len(d) * share))] for d in pieces]
    sliced = sum(len(p) for p in pieces)
    with quiet_gc():
        # The ratio pass was cold (first calls); time one warm pass to size the runs.
        loops = max(1, round(budget / max(_timed_run(plugin.name, pieces, 1, registry), 1e-6)))
        speeds = [loops * sliced / _timed_run(plugin.name, pieces, loops, registry) / 1e6
                  for _ in range(runs)]
    throughput = statistics.median(speeds)
    return Measurement(
        plugin=plugin.name,
        throughput=throughput,
        ratio=RATIO_BY_DEFINITION.get(plugin.name, measured_ratio),
        measured_ratio=measured_ratio,
        files=tuple(files),
        input_bytes=size,
        slice_bytes=sliced,
        loops=loops,
        runs=runs,
        spread=(max(speeds) - min(speeds)) / throughput,
    )
