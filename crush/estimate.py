"""Estimate each candidate plugin's ratio on the input itself, within a time budget.

Calibrated figures (``tools/calibrate``) say how a plugin does on the sample
corpus; this module asks how it does on *this* input. Each candidate
compresses a sample of :data:`SAMPLE_SIZE` bytes taken from evenly spread
windows of what selection sees (the first block) at its ``fast`` preset.
A 4 KiB sample understates every codec's full-size ratio and flattens the
differences between them, so it is not used alone: the estimate combines
it with the calibrated ratio in log space, half and half::

    estimate = sqrt(calibrated ratio * sample ratio)

a codec that does unusually well or badly on this input (bzip2 on text,
LZMA on machine code) moves accordingly, while what calibration measured
on full blocks keeps half the say. The half-and-half weight is the one that
gave the lowest regret in ``python -m tools.bench.regret`` (raw sample ratios
alone, and a reference-sample scaling, did worse there).

Cost is bounded before anything runs, from the calibrated speeds, so the
choice is deterministic: a candidate is sampled only when it could still win
on ratio (its speed leaves it in reach of the leader), in order of its
calibrated score, while the predicted cost fits the budget — 2 % of the
time the leading candidate needs for the whole input from 1 MiB on, a flat
:data:`SMALL_BUDGET` below. Candidates not sampled are
given the median sample ratio of those that were. Thread-safe and
stateless.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Final

from .contract import Buffer
from .contract import Plugin
from .contract import PluginMetadata
from .errors import CancelledError

if TYPE_CHECKING:
    from .selection import Probe

SAMPLE_SIZE: Final = 4096
"""Bytes of the input each candidate compresses."""

WINDOWS: Final = 4
"""How many evenly spread windows of the input make up the sample."""

BUDGET_SHARE: Final = 0.02
"""Sampling may cost this share of the leading candidate's time for the whole input."""

SMALL_BUDGET: Final = 0.0003
"""Seconds sampling may take at most for inputs under 1 MiB (keeps a selection under 1 ms)."""

_SMALL: Final = 1 << 20
_CALL_COST: Final = 2e-6
"""Seconds a codec call costs beyond its bytes (set-up), added to every prediction."""

def _sample(data: Buffer) -> bytes:
    """Return :data:`SAMPLE_SIZE` bytes of *data*: :data:`WINDOWS` windows spread evenly over it.

    One window at the start would judge a tar by its first member and an ELF
    file by its headers; windows across the input see its mix.
    """
    view = memoryview(data).cast("B")
    if len(view) <= SAMPLE_SIZE:
        return bytes(view)
    width = SAMPLE_SIZE // WINDOWS
    step = (len(view) - width) // (WINDOWS - 1)
    return b"".join(view[i * step : i * step + width] for i in range(WINDOWS))


def _ratio(plugin: Plugin, data: Buffer, level: int, probe: Probe) -> float | None:
    size = len(memoryview(data).cast("B"))
    if not size:
        return None
    try:
        packed = probe(plugin, "compress() of a sample",
                       lambda token: plugin.compress(data, level, token))
    except CancelledError:
        raise
    except Exception:  # a plugin that fails on a sample is simply not estimated
        return None
    return 1.0 if packed is data else len(packed) / size


def _cost(meta: PluginMetadata, size: int) -> float:
    return _CALL_COST + size / (meta.throughput * 1e6)


def budget(total: int, leader: PluginMetadata) -> float:
    """Return the seconds sampling may take for an input of *total* bytes.

    Under 1 MiB a flat :data:`SMALL_BUDGET` (a selection stays under 1 ms);
    from 1 MiB, :data:`BUDGET_SHARE` of the time *leader* (the candidate
    ahead on calibrated figures) needs for the whole input.
    """
    if total < _SMALL:
        return SMALL_BUDGET
    return BUDGET_SHARE * total / (leader.throughput * 1e6)


def estimate_ratios(
    data: Buffer,
    plugins: Sequence[Plugin],
    metas: Sequence[PluginMetadata],
    order: Sequence[int],
    reachable: Sequence[bool],
    *,
    total: int | None = None,
    probe: Probe,
) -> list[float | None]:
    """Return each plugin's estimated ratio on *data* (None: not sampled, no factor known).

    *metas* are the plugins' calibrated metadata; *order* the indexes in
    the order to sample them (best calibrated score first, so ``order[0]``
    is the leader the budget is measured against); *reachable* says which
    could still win on ratio. *total* is the whole input's size when *data*
    is only its first part. *probe* runs each sample compression (see
    :class:`crush.selection.Probe`); a sample that fails or times out leaves
    its plugin unsampled, a cancellation raises.
    """
    sample = _sample(data)
    if not sample or not order:
        return [None] * len(plugins)
    left = budget(total if total is not None else len(memoryview(data).cast("B")),
                  metas[order[0]])
    sampled: dict[int, float] = {}
    for index in order:
        meta = metas[index]
        cost = _cost(meta, len(sample))
        if not reachable[index] or cost > left:
            continue
        left -= cost
        found = _ratio(plugins[index], sample, meta.fast, probe)
        if found is not None:
            sampled[index] = found
    if not sampled:
        return [None] * len(plugins)
    typical = sorted(sampled.values())[len(sampled) // 2]
    return [min(1.0, math.sqrt(metas[i].ratio * sampled.get(i, typical)))
            for i in range(len(plugins))]
