"""``crush bench --plot``: ratio against compression speed, the Pareto front highlighted.

One point per plugin and level, x = compression MB/s on a log axis, y =
compressed/original (lower is better), so the best settings sit at the
bottom right. The points no other setting beats on both counts are drawn
solid and joined by a line; the rest are faded. matplotlib is an optional
extra (``pip install 'crush[plot]'``), imported only here and only when a
plot is asked for; the figure is rendered by the Agg backend straight to
PNG, without pyplot's global state or a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Final

from .messages import FAILED
from .messages import Failure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .bench import Measurement

INSTALL: Final = "pip install 'crush[plot]'"

_FADED: Final = 0.35
_NO_GAIN: Final = 0.98
"""Settings at or above this ratio (store) are drawn on the top edge, off scale."""
_OFFSETS: Final = ((5, 3), (5, -12), (-5, 3), (-5, -12), (5, 12), (-5, 12), (5, -21),
                   (-5, -21))
"""Where a label may go, in pixels from its point: right, below, left, further out."""


def require() -> None:
    """Raise :class:`Failure` (exit status 1) if matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401  # only checking that it is there
    except ImportError:
        raise Failure(f"--plot needs matplotlib, which is not installed: {INSTALL}",
                      FAILED) from None


def draw(rows: Sequence[Measurement], front: Sequence[bool], path: str, title: str) -> None:
    """Write the ratio/speed picture of *rows* to *path* (PNG); *front* marks the Pareto set."""
    require()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(8.0, 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    plugins = list(dict.fromkeys(m.setting.plugin for m in rows))
    colour = {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(plugins)}
    high = _limits(rows, ax)
    points: list[tuple[float, float, str, bool]] = []
    for m, on in zip(rows, front, strict=True):
        y, marker = (m.ratio, "o") if m.ratio <= high else (high, "^")  # off scale: at the top
        ax.scatter([m.compress_mb_s], [y], s=46 if on else 30, c=colour[m.setting.plugin],
                   marker=marker, alpha=1.0 if on else _FADED,
                   edgecolors="black" if on else "none", linewidths=0.6,
                   zorder=3 if on else 2, clip_on=False)
        label = m.setting.label if m.ratio <= high else f"{m.setting.label}: {m.ratio:.2f}"
        points.append((m.compress_mb_s, y, label, on))
    best = sorted((m for m, on in zip(rows, front, strict=True) if on),
                  key=lambda m: m.compress_mb_s)
    ax.plot([m.compress_mb_s for m in best], [m.ratio for m in best], color="black",
            linewidth=1.2, alpha=0.75, zorder=1)
    _labels(ax, _merged(points))
    ax.set_xlabel("compression speed, MB/s (log scale)")
    ax.set_ylabel("compressed / original (lower is better)")
    ax.set_title(title, fontsize=9.5)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    handles = [Line2D([], [], marker="o", linestyle="none", color=colour[name], label=name)
               for name in plugins]
    handles.append(Line2D([], [], color="black", linewidth=1.2, label="Pareto front"))
    if any(m.ratio > high for m in rows):
        handles.append(Line2D([], [], marker="^", linestyle="none", color="grey",
                              label="off scale (ratio shown)"))
    ax.legend(handles=handles, fontsize=8, loc="upper left", framealpha=0.9)
    fig.savefig(path, format="png")


def _limits(rows: Sequence[Measurement], ax: Axes) -> float:
    """Fix the axes' limits; return the top of the y range (settings above it are off scale).

    A setting that only copies (ratio about 1) would squeeze every codec
    into a strip at the bottom; it is drawn on the top edge instead.
    """
    import math

    speeds = [m.compress_mb_s for m in rows]
    ratios = [m.ratio for m in rows if m.ratio < _NO_GAIN] or [m.ratio for m in rows]
    low, high = min(ratios), max(ratios)
    pad = max(high - low, 0.02) * 0.1
    span = math.log10(max(speeds)) - math.log10(min(speeds))
    margin = 10 ** max(span * 0.06, 0.08)
    ax.set_xscale("log")
    ax.set_xlim(min(speeds) / margin, max(speeds) * margin * 1.6)  # room for labels
    ax.set_ylim(low - pad, high + 3 * pad)  # room above for the legend and off-scale points
    return high + 3 * pad


def _merged(points: list[tuple[float, float, str, bool]]
            ) -> list[tuple[float, float, str, bool]]:
    """Join the labels of one plugin's levels that land on the same spot (lzma 6/9)."""
    out: list[tuple[float, float, str, bool]] = []
    for x, y, label, on in sorted(points, key=lambda p: (p[2].split()[0], p[0])):
        if out:
            px, py, plabel, pon = out[-1]
            name, levels = plabel.split(" ", 1)
            if name == label.split()[0] and ":" not in label and abs(py - y) < 0.002 \
                    and 0.8 < x / px < 1.25:
                joined = sorted([*levels.split("/"), label.split()[-1]], key=int)
                out[-1] = (px, py, f"{name} {'/'.join(joined)}", pon or on)
                continue
        out.append((x, y, label, on))
    return out


def _labels(ax: Axes, points: list[tuple[float, float, str, bool]]) -> None:
    """Label each point where the label covers no other label or point, if it can."""
    to_pixels = ax.transData.transform
    dots = [tuple(to_pixels((x, y))) for x, y, _, _ in points]
    taken: list[tuple[float, float, float, float]] = [
        (px - 4, py - 4, px + 4, py + 4) for px, py in dots]
    for (x, y, label, on), (px, py) in sorted(zip(points, dots, strict=True),
                                              key=lambda item: not item[0][3]):
        width, height = 4.6 * len(label) + 2, 9.0
        offsets = _OFFSETS if ":" not in label else _OFFSETS[3:4]  # off scale: below, left
        choice = offsets[0]
        for dx, dy in offsets:
            left = px + dx if dx >= 0 else px + dx - width
            box = (left, py + dy, left + width, py + dy + height)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       for b in taken):
                choice = (dx, dy)
                break
        dx, dy = choice
        left = px + dx if dx >= 0 else px + dx - width
        taken.append((left, py + dy, left + width, py + dy + height))
        ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset pixels",
                    ha="left" if dx >= 0 else "right", va="bottom", fontsize=7.5,
                    alpha=1.0 if on else 0.6, zorder=4, annotation_clip=False)


_PALETTE: Final = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
"""matplotlib's "tab10" colours, fixed here so every version draws the same picture."""
