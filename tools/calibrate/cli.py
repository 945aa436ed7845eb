"""``python -m tools.calibrate``: measure every plugin and store the figures in plugins.toml.

Without ``--check`` the measured figures, rounded to 3 significant
figures, are written into each plugin's ``[[plugin]]`` table as
``throughput = ...`` and ``ratio = ...`` (a text edit that keeps comments
and layout, see :mod:`tools.calibrate.tomledit`). The new text is checked
with codegen's own loader before it replaces the file, so a calibration
never leaves a ``plugins.toml`` that ``python -m codegen`` rejects. Then run
``python -m codegen`` to bake the figures into ``crush/_registry.py``
(``make calibrate`` does both).

With ``--check`` nothing is written: plugins whose stored throughput or
ratio is more than ``--tolerance`` (30 %) off what is measured now — or
that have no stored figures at all — are listed, and the exit status is 1.

Exit status: 0 done (or every figure within tolerance), 1 figures off,
2 the configuration cannot be read or the result would not validate.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import crush
from codegen import CodegenError
from codegen import Config
from codegen import PluginEntry
from codegen import load_config
from codegen.generate import DEFAULT_CONFIG
from codegen.generate import ENV_VAR
from codegen.generate import PROJECT_ROOT
from codegen.generate import selected_config
from tools.corpus import generate

from .measure import CalibrationError
from .measure import Measurement
from .measure import measure
from .tomledit import Figures
from .tomledit import round3
from .tomledit import update_figures

DEFAULT_SIZE: Final = 16 << 20
"""The sample corpus size the issue defines (tools/corpus.py's default)."""

TOLERANCE: Final = 0.30
"""``--check`` flags a stored figure more than this far (relative) from the measured one."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    flag = selected_config(args.config)
    path = Path(flag) if flag else PROJECT_ROOT / DEFAULT_CONFIG
    label = flag or DEFAULT_CONFIG
    try:
        config = load_config(path, label=label)
    except CodegenError as exc:
        _problems(exc)
        return 2
    plugins, registry = _plugins(config)
    corpus = generate(args.size, args.seed)
    print(f"calibrating {len(plugins)} plugin(s) from {label} on the sample corpus "
          f"({args.size / 2**20:g} MiB, seed {args.seed}), {args.runs} run(s) of "
          f"~{args.budget:g} s each, one thread, default levels\n", flush=True)
    results: list[Measurement] = []
    for entry, plugin in plugins:
        try:
            found = measure(plugin, corpus, registry, runs=args.runs, budget=args.budget)
        except CalibrationError as exc:
            print(f"skipped {exc}; its stored figures are left as they are", file=sys.stderr)
            continue
        results.append(found)
        print(_line(entry, found, args.tolerance if args.check else None), flush=True)
    if args.check:
        return _check(config, results, args.tolerance)
    return _write(path, label, results)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.calibrate",
        description="Measure each plugin's compression throughput (MB/s, one thread, default "
        "level) and ratio on the sample corpus and write them into plugins.toml.",
    )
    parser.add_argument("--config", metavar="PATH",
                        help=f"the plugin configuration (default: ${ENV_VAR}, else plugins.toml)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a stored figure is more than "
                        "--tolerance off the measured one (or missing)")
    parser.add_argument("--runs", type=_positive_int, default=5, metavar="N",
                        help="timed runs per plugin; the median counts (default: 5)")
    parser.add_argument("--size", type=_positive_int, default=DEFAULT_SIZE, metavar="BYTES",
                        help="sample corpus size in bytes (default: 16 MiB)")
    parser.add_argument("--budget", type=_positive_float, default=0.5, metavar="SECONDS",
                        help="length of one timed run; slow plugins time a proportional "
                        "slice of every file, fast ones repeat the corpus (default: 0.5)")
    parser.add_argument("--tolerance", type=_positive_float, default=TOLERANCE,
                        metavar="FRACTION",
                        help="--check: the largest relative difference accepted (default: 0.3)")
    parser.add_argument("--seed", type=int, default=2026, help="corpus seed (default: 2026)")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _problems(exc: CodegenError) -> None:
    for problem in exc.problems:
        print(f"calibrate: {problem}", file=sys.stderr)


def _plugins(config: Config) -> tuple[list[tuple[PluginEntry, crush.Plugin]], crush.Registry]:
    """Import every plugin *config* lists (a build tool may import by name, as codegen does)."""
    found: list[tuple[PluginEntry, crush.Plugin]] = []
    for entry in config.plugins:
        try:
            plugin = getattr(importlib.import_module(entry.module), entry.class_name)()
        except Exception as exc:  # a broken third-party plugin is skipped, not fatal
            print(f"skipped {entry.label}: {entry.target} does not load ({exc!r})",
                  file=sys.stderr)
            continue
        found.append((entry, plugin))
    names = [plugin.name for _, plugin in found]
    default = config.default if config.default in names else None
    return found, crush.Registry([p for _, p in found], default=default)


def _off(stored: float | None, measured: float) -> float | None:
    """Return how far *stored* is from *measured*, relative to *measured* (None: missing)."""
    return None if stored is None else abs(stored / measured - 1)


def _line(entry: PluginEntry, found: Measurement, tolerance: float | None) -> str:
    def figure(stored: float | None, measured: float, unit: str) -> str:
        off = _off(stored, measured)
        was = "none" if stored is None else f"{stored:g}"
        flag = ""
        if tolerance is not None and (off is None or off > tolerance):
            flag = " ✗"
        change = f" ({100 * (measured / stored - 1):+.1f} %)" if stored else ""
        return f"{was} -> {round3(measured):g}{unit}{change}{flag}"

    timed = found.loops * found.slice_bytes / 1e6
    ratio = figure(entry.ratio, found.ratio, "")
    if found.ratio != found.measured_ratio:
        ratio += f" [measured {found.measured_ratio:.5f}; 1.0 by definition]"
    return (f"{found.plugin:8} throughput {figure(entry.throughput, found.throughput, ' MB/s')}"
            f"  ratio {ratio}\n{'':8} on {', '.join(found.files)} "
            f"({found.input_bytes / 1e6:.2f} MB); {found.runs} run(s) of {timed:.2f} MB "
            f"({found.loops} x {found.slice_bytes / 1e6:.2f} MB), spread "
            f"{100 * found.spread:.0f} %")


def _check(config: Config, results: list[Measurement], tolerance: float) -> int:
    stored = {entry.name: entry for entry in config.plugins}
    off: list[str] = []
    for found in results:
        entry = stored[found.plugin]
        for key, was, now in (("throughput", entry.throughput, found.throughput),
                              ("ratio", entry.ratio, found.ratio)):
            distance = _off(was, now)
            if distance is None:
                off.append(f"{found.plugin}: no stored {key} (measured {round3(now):g})")
            elif distance > tolerance:
                off.append(f"{found.plugin}: stored {key} {was:g} is {100 * distance:.0f} % "
                           f"off the measured {round3(now):g}")
    if not off:
        print(f"\ncalibrate: every stored figure is within {100 * tolerance:g} % "
              f"of what was measured")
        return 0
    print(f"\ncalibrate: {len(off)} figure(s) more than {100 * tolerance:g} % off "
          "(or missing):", file=sys.stderr)
    for line in off:
        print(f"  {line}", file=sys.stderr)
    print("  fix: run `python -m tools.calibrate` and then `python -m codegen`",
          file=sys.stderr)
    return 1


def _write(path: Path, label: str, results: list[Measurement]) -> int:
    figures = {m.plugin: Figures(round3(m.throughput), round3(m.ratio)) for m in results}
    text = path.read_text(encoding="utf-8")
    updated = update_figures(text, figures)
    if updated == text:
        print(f"\ncalibrate: {label} already holds these figures")
        return 0
    # Validate beside the target and rename, so plugins.toml is never left
    # in a state codegen rejects, not even half-written.
    partial = path.with_name(path.name + ".calibrate-partial")
    partial.write_bytes(updated.encode("utf-8"))
    try:
        problem = _validate(partial, label, figures)
        if problem is None:
            os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    if problem is not None:
        print(f"calibrate: {problem}; {label} was not changed", file=sys.stderr)
        return 2
    print(f"\ncalibrate: wrote the figures of {len(figures)} plugin(s) into {label}\n"
          f"  next: `python -m codegen{_config_flag(label)}` bakes them into the registry")
    return 0


def _validate(partial: Path, label: str, figures: dict[str, Figures]) -> str | None:
    """Return why the edited file at *partial* is unusable, or None when codegen accepts it."""
    try:
        config = load_config(partial, label=label)
    except CodegenError as exc:
        _problems(exc)
        return "the edited file would not pass codegen's checks"
    got = {entry.name: (entry.throughput, entry.ratio) for entry in config.plugins}
    wrong = [name for name, f in figures.items() if got.get(name) != (f.throughput, f.ratio)]
    if wrong:
        return (f"the edit did not take for {', '.join(wrong)} (is a figure written in an "
                "unusual way, e.g. as a quoted key?)")
    return None


def _config_flag(label: str) -> str:
    return "" if label == DEFAULT_CONFIG else f" --config {label}"
