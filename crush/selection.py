"""Choose a plugin for an input from the plugins' metadata.

Candidates are the plugins whose ``detect(header)`` accepts the first bytes
of the input. Specialists — plugins whose metadata names the formats they
target — win over general-purpose plugins when any of them accepts the
input. Among the candidates each gets::

    score = w_t * norm(log throughput) + w_r * norm(1 - ratio)

min-max normalised over the candidates (a figure every candidate shares
scores 1), with weights 0.7 / 0.3 unless the caller prefers otherwise.
Throughput is the calibrated figure; ratio is estimated on the input itself
(:mod:`crush.estimate`: each candidate that could still win compresses the
first 4 KiB at its fast preset, scaled by its calibrated ratio), within a
budget of 2 % of the leading candidate's time for the whole input.
The highest score wins; ties go to the name that sorts first. With no
candidate, the registry's default plugin is used. A named plugin always
wins over all of this.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping
from typing import Final
from typing import Literal
from typing import NamedTuple
from typing import Protocol
from typing import TypeVar
from typing import final

from .contract import Buffer
from .contract import CancelToken
from .contract import Plugin
from .contract import PluginMetadata
from .errors import CancelledError
from .errors import ConfigError
from .estimate import estimate_ratios
from .options import DEFAULT_BLOCK_SIZE
from .registry import DEFAULT_REGISTRY
from .registry import Registry

Prefer = Literal["speed", "balanced", "ratio"]

_T = TypeVar("_T")


class Probe(Protocol):
    """Runs one plugin call made while choosing: ``detect``, a sample compression.

    *what* names the call for messages; *call* gets the token to poll. The
    engine passes a probe that runs the call under the plugin's deadline and
    the caller's token, so choosing cannot outlast a call's timeout; it
    raises what the call raises, ``CrushTimeoutError`` at the deadline and
    ``CancelledError`` on cancellation. :func:`direct` just calls.
    """

    def __call__(self, plugin: Plugin, what: str, call: Callable[[CancelToken], _T]) -> _T:
        """Return what *call* returns for *plugin*."""
        ...


def direct(plugin: Plugin, what: str, call: Callable[[CancelToken], _T]) -> _T:
    """Run *call* on the caller's thread with a fresh token (a :class:`Probe`)."""
    return call(CancelToken())

PREFERENCES: Final[Mapping[str, tuple[float, float]]] = {
    "speed": (0.7, 0.3),
    "balanced": (0.5, 0.5),
    "ratio": (0.2, 0.8),
}
"""Weights (throughput, ratio) for each ``prefer=`` preset; ``speed`` is the default."""

SAMPLE_SIZE: Final = 4096
"""Bytes of the input that ``detect`` sees."""

WINDOW: Final = DEFAULT_BLOCK_SIZE
"""Bytes of the input selection looks at: ``compress`` chooses from the first block."""


@final
class Candidate(NamedTuple):
    """One plugin's part in a selection: its figures and its score."""

    plugin: str
    throughput: float
    ratio: float
    specialist: bool
    score: float
    figures: str = "guessed"
    """``measured`` when throughput and ratio are calibrated, else ``guessed``."""
    estimated_ratio: float | None = None
    """The ratio estimated on this input (what the score used), or None when not sampled."""


@final
class Selection(NamedTuple):
    """The chosen plugin and why: every candidate's score, best first."""

    plugin: Plugin
    reason: str
    weights: tuple[float, float]
    candidates: tuple[Candidate, ...]


def resolve_weights(
    prefer: str | None = None, weights: tuple[float, float] | None = None
) -> tuple[float, float]:
    """Return (throughput, ratio) weights from *prefer* or explicit *weights*."""
    if weights is not None:
        if prefer is not None:
            raise ConfigError("give prefer= or weights=, not both")
        try:
            w_t, w_r = (float(w) for w in weights)
        except (TypeError, ValueError):
            raise ConfigError(
                f"weights must be two numbers (throughput, ratio), got {weights!r}"
            ) from None
        if w_t < 0 or w_r < 0 or not math.isclose(w_t + w_r, 1.0, abs_tol=1e-9):
            raise ConfigError(
                f"weights must be non-negative and sum to 1, got ({w_t:g}, {w_r:g})"
            )
        return w_t, w_r
    if prefer is None:
        return PREFERENCES["speed"]
    try:
        return PREFERENCES[prefer]
    except (KeyError, TypeError):
        raise ConfigError(
            f"prefer must be one of {', '.join(PREFERENCES)}, got {prefer!r}"
        ) from None


def _normalise(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    if high == low:
        return [1.0] * len(values)
    return [(v - low) / (high - low) for v in values]


def select_plugin(
    data: Buffer,
    /,
    *,
    prefer: Prefer | None = None,
    weights: tuple[float, float] | None = None,
    registry: Registry | None = None,
    probe: Probe = direct,
) -> Selection:
    """Return the plugin crush would choose for *data* (or its first bytes), and why.

    ``detect`` sees the first :data:`SAMPLE_SIZE` bytes; ratios are
    estimated on windows spread over the first :data:`WINDOW` bytes. *prefer*
    (``"speed"``, ``"balanced"``, ``"ratio"``) or *weights* ``(throughput,
    ratio)`` (non-negative, summing to 1) set the balance; the default is
    speed first, 0.7 / 0.3. *probe* runs each ``detect`` and sample
    compression (compression passes one bounded by the call's deadline; a
    call that fails or times out makes its plugin no candidate, or leaves
    it unsampled). Thread-safe.
    """
    reg = registry or DEFAULT_REGISTRY
    w_t, w_r = resolve_weights(prefer, weights)
    view = memoryview(data).cast("B")[:WINDOW]
    header = bytes(view[:SAMPLE_SIZE])
    accepted = [p for p in reg.plugins if _detects(p, header, probe)]
    specialists = [p for p in accepted if reg.metadata_for(p.name).formats]
    pool = specialists or accepted
    if not pool:
        default = reg.default
        meta = reg.metadata_for(default.name)
        only = Candidate(default.name, meta.throughput, meta.ratio, False, 1.0)
        return Selection(default, "no plugin accepted the input: the default plugin",
                         (w_t, w_r), (only,))
    metas = [reg.metadata_for(p.name) for p in pool]
    estimates = _estimates(view, pool, metas, (w_t, w_r), probe)
    ratios = [m.ratio if e is None else e for m, e in zip(metas, estimates, strict=True)]
    speed = _normalise([math.log(m.throughput) for m in metas])
    saving = _normalise([1.0 - r for r in ratios])
    scored = sorted(
        (
            Candidate(p.name, m.throughput, m.ratio, bool(m.formats), w_t * s + w_r * r,
                      "measured" if reg.is_measured(p.name) else "guessed", e)
            for p, m, s, r, e in zip(pool, metas, speed, saving, estimates, strict=True)
        ),
        key=lambda c: (-c.score, c.plugin),
    )
    best = scored[0]
    if specialists:
        reason = (f"{best.plugin} is a specialist that recognised this input; specialists "
                  "win over general-purpose plugins")
    elif len(scored) == 1:
        reason = "the only plugin that accepted the input"
    else:
        how = ("ratios estimated on the input" if any(e is not None for e in estimates)
               else "calibrated ratios")
        reason = (f"highest score {best.score:.3f} with weights throughput {w_t:g} / "
                  f"ratio {w_r:g} over {len(scored)} candidates ({how})")
    return Selection(reg.get(best.plugin), reason, (w_t, w_r), tuple(scored))


def _estimates(data: Buffer, pool: list[Plugin], metas: list[PluginMetadata],
               weights: tuple[float, float], probe: Probe) -> list[float | None]:
    """Return each candidate's ratio estimated on *data* (see :mod:`crush.estimate`)."""
    if len(pool) < 2:
        return [None] * len(pool)
    w_t, w_r = weights
    speed = _normalise([math.log(m.throughput) for m in metas])
    saving = _normalise([1.0 - m.ratio for m in metas])
    calibrated = [w_t * s + w_r * r for s, r in zip(speed, saving, strict=True)]
    order = sorted(range(len(pool)), key=lambda i: (-calibrated[i], pool[i].name))
    # Even the best possible ratio cannot lift a candidate whose speed leaves
    # it further behind the fastest than the whole ratio weight: not sampled.
    top = max(w_t * s for s in speed)
    reachable = [w_t * s + w_r >= top - 1e-12 for s in speed]
    return estimate_ratios(data, pool, metas, order, reachable, probe=probe)


def chooser(
    *,
    plugin: str | None,
    level: int | str | None,
    prefer: Prefer | None,
    weights: tuple[float, float] | None,
    registry: Registry,
) -> Plugin | Callable[[Buffer, Probe], Plugin]:
    """Return the named *plugin*, or a function choosing one from the first block.

    Everything is validated now, before any output exists. A native (int)
    level means something different to every plugin, so it needs a named
    plugin; presets work with automatic selection.
    """
    w_t, w_r = resolve_weights(prefer, weights)
    if plugin is not None:
        return registry.get(plugin)
    if level is not None and not isinstance(level, str):
        raise ConfigError(
            f"level={level!r} is a native level, which needs a named plugin (plugin=...); "
            "with automatic selection use a preset: 'fast', 'balanced' or 'best'"
        )

    def choose(first: Buffer, probe: Probe) -> Plugin:
        return select_plugin(first, weights=(w_t, w_r), registry=registry, probe=probe).plugin

    return choose


def _detects(plugin: Plugin, header: bytes, probe: Probe) -> bool:
    # A plugin whose detect() is broken or hangs must not break every
    # compression: it is simply not a candidate. A cancellation still stops.
    try:
        return bool(probe(plugin, "detect()", lambda token: plugin.detect(header)))
    except CancelledError:
        raise
    except Exception:
        return False
