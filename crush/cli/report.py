r"""``inspect``, ``-l`` and ``plugins``: facts about files and plugins as text, JSON or CSV.

``plugins --explain FILE`` reads FILE's first bytes (what automatic
selection looks at) and prints :func:`crush.select_plugin`'s answer: the
choice, the reason, the weights and every candidate's figures and score.

``inspect`` and ``-l`` (gzip's list) read each file through
:func:`crush.api.inspect_stream`, which walks only the frame headers and
block records (no codec runs, payloads are skipped) and yields frame by
frame; the report is printed as frames arrive, so memory stays bounded for
any input, a pipe or ``/dev/zero`` included. Nothing is mapped into memory,
so a file shrinking meanwhile reads as truncated instead of killing crush
with SIGBUS. Stored names and file names are printed escaped (control
characters as ``\xHH``, undecodable bytes as ``\xHH``), CSV cells that
a spreadsheet would run as a formula are quoted with a leading ``'``.
Reports go to stdout (they are the command's output); errors to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

from . import files
from .args import Settings
from .messages import Console
from .messages import Failure
from .messages import csv_cell
from .messages import escape
from .messages import explain as explain_error
from .messages import ratio
from .messages import size
from .signals import Interrupted
from .signals import Supervisor

if TYPE_CHECKING:
    from .. import CancelToken
    from .. import FrameReport
    from .. import Plugin
    from .. import Registry
    from .. import Selection

CSV_COLUMNS: Final = (
    "file", "frame", "plugin", "plugin_id", "format_version", "block_size", "blocks",
    "raw_blocks", "original_size", "compressed_size", "ratio", "content_crc32", "block_crc32",
    "name", "mtime_ns", "mode",
)
"""The ``inspect --csv`` header; one row per frame."""

_SHOWN_CRCS: Final = 8


def _open_report_source(name: str) -> files.Source:
    if name == files.STDIO and files.stdin_is_terminal():
        raise Failure("compressed data not read from a terminal; redirect the input")
    return files.open_source(name, follow=True, special=True)


def _mtime(ns: int | None) -> str | None:
    if ns is None:
        return None
    from datetime import UTC
    from datetime import datetime

    try:
        stamp = datetime.fromtimestamp(ns / 1e9, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def figures(registry: Registry, name: str) -> dict[str, Any]:
    """Return plugin *name*'s speed and ratio as every view shows them, marked measured or guessed.

    Calibrated figures (``python -m tools.calibrate``, baked in from
    plugins.toml) win over the guesses a plugin class declares.
    """
    m = registry.metadata_for(name)
    return {"throughput_mb_s": m.throughput, "ratio": m.ratio,
            "figures": "measured" if registry.is_measured(name) else "guessed"}


def frame_dict(frame: FrameReport, registry: Registry | None = None) -> dict[str, Any]:
    """Return one frame's facts as JSON-ready values (CRC32s as 8 hex digits)."""
    info = frame.info
    reg = _registry(registry)
    known = frame.metadata is not None and frame.plugin is not None and frame.plugin in reg
    return {
        "plugin": frame.plugin,
        "plugin_id": frame.plugin_id,
        "compiled_in": frame.metadata is not None,
        "plugin_figures": figures(reg, frame.plugin) if known and frame.plugin else None,
        "format_version": frame.version,
        "block_size": frame.block_size,
        "blocks": frame.blocks,
        "raw_blocks": frame.raw_blocks,
        "original_size": frame.original_size,
        "compressed_size": frame.compressed_size,
        "ratio": round(frame.ratio, 6),
        "content_crc32": f"{frame.content_crc:08x}",
        "block_crc32": [f"{crc:08x}" for crc in frame.block_crcs],
        "name": info.name,
        "mtime_ns": info.mtime_ns,
        "mtime": _mtime(info.mtime_ns),
        "mode": info.mode,
        "mode_octal": None if info.mode is None else f"{info.mode:04o}",
    }


def _plugin_label(frame: dict[str, Any]) -> str:
    plugin = frame["plugin"] or "unknown plugin"
    note = "" if frame["compiled_in"] else ", not compiled in"
    return f"{plugin} (id 0x{frame['plugin_id']:02x}{note})"


def _frame_text(number: int, f: dict[str, Any], verbose: int) -> str:
    crcs = f["block_crc32"]
    shown = crcs if verbose else crcs[:_SHOWN_CRCS]
    more = f" (+{f['blocks'] - len(shown)} more; -v shows all)" if len(shown) < f["blocks"] \
        else ""
    name = escape(f["name"]) if f["name"] is not None else "-"
    if f["plugin_id"] < 0:  # a standard format (gzip, zstd, ...): no crush frame facts
        return "\n".join((
            f"  {f['plugin']} file: {f['blocks']} unit(s)",
            f"    size: {f['original_size']:,} -> {f['compressed_size']:,} bytes "
            f"({ratio(f['compressed_size'], f['original_size'])})",
            f"    stored name: {name}, mtime: {f['mtime'] or '-'}",
        ))
    return "\n".join((
        f"  frame {number}: plugin {_plugin_label(f)}, format v{f['format_version']}, "
        f"block size {f['block_size']:,}",
        f"    size: {f['original_size']:,} -> {f['compressed_size']:,} bytes "
        f"({ratio(f['compressed_size'], f['original_size'])})",
        f"    blocks: {f['blocks']} ({f['raw_blocks']} stored raw)",
        f"    content CRC32: {f['content_crc32']}",
        f"    block CRC32s: {' '.join(shown) or '-'}{more}",
        f"    stored name: {name}, mtime: {f['mtime'] or '-'}, mode: {f['mode_octal'] or '-'}",
        *_figures_line(f),
    ))


def _figures_line(f: dict[str, Any]) -> tuple[str, ...]:
    fig = f["plugin_figures"]
    if not fig:
        return ()
    return (f"    plugin figures: {fig['throughput_mb_s']:g} MB/s, ratio {fig['ratio']:g} "
            f"({fig['figures']})",)


class _Totals:
    """Running totals over one file's frames (what the summary line and gzip -l print)."""

    def __init__(self) -> None:
        self.plugin: str | None = None
        self.frames = self.blocks = self.original = self.compressed = 0
        self.name: str | None = None

    def add(self, frame: FrameReport) -> None:
        """Count *frame* in."""
        if not self.frames:
            self.plugin, self.name = frame.plugin, frame.info.name
        self.frames += 1
        self.blocks += frame.blocks
        self.original += frame.original_size
        self.compressed += frame.compressed_size

    def dict(self, name: str) -> dict[str, Any]:
        """Return the totals as the JSON entry's fields."""
        return {"file": name, "plugin": self.plugin, "original_size": self.original,
                "compressed_size": self.compressed,
                "ratio": round(self.compressed / self.original if self.original else 1.0, 6),
                "blocks": self.blocks}

    def line(self, name: str) -> str:
        """Return the text summary line."""
        return (f"{escape(name)}: {self.plugin or 'unknown plugin'}, {size(self.original)} -> "
                f"{size(self.compressed)} ({ratio(self.compressed, self.original)}), "
                f"{self.frames} frame{'s' if self.frames != 1 else ''}, "
                f"{self.blocks} block{'s' if self.blocks != 1 else ''}")


class _Printer:
    """Writes one file's frames as they are found, in text, JSON or CSV, to stdout."""

    def __init__(self, s: Settings) -> None:
        self.format = s.format
        self.verbose = s.verbose
        self.entries = 0
        self._csv: Any = None

    def begin(self) -> None:
        """Start the whole output."""
        if self.format == "json":
            sys.stdout.write("[")
        elif self.format == "csv":
            import csv

            self._csv = csv.writer(sys.stdout, lineterminator="\n")
            self._csv.writerow(CSV_COLUMNS)

    def frame(self, name: str, number: int, frame: FrameReport) -> None:
        """Write one frame of file *name*."""
        f = frame_dict(frame)
        if self.format == "text":
            if number == 1:
                print(f"{escape(name)}:")
            print(_frame_text(number, f, self.verbose))
        elif self.format == "json":
            import json

            if number == 1:
                head = json.dumps({"file": name}, indent=2)[:-2]
                sys.stdout.write(("," if self.entries else "") + "\n" + head
                                 + ',\n  "frames": [')
            text = json.dumps(f, indent=2).replace("\n", "\n    ")
            sys.stdout.write(("," if number > 1 else "") + "\n    " + text)
        else:
            row = dict(f, file=name, frame=number, block_crc32=" ".join(f["block_crc32"]))
            self._csv.writerow([csv_cell(row[c]) for c in CSV_COLUMNS])

    def end_file(self, name: str, totals: _Totals, error: str | None = None) -> None:
        """Close file *name*'s report with its totals (and the *error* that cut it short)."""
        if self.format == "text":
            if error is None:  # else the error line on stderr ends the report
                print(totals.line(name), flush=True)
        elif self.format == "json":
            import json

            rest = {k: v for k, v in totals.dict(name).items() if k != "file"}
            if error is not None:  # keeps the document valid after a damaged frame
                rest["error"] = error
            body = json.dumps(rest, indent=2)[1:-2].replace("\n", "\n  ")
            sys.stdout.write("\n  ]," + body + "\n}")
        self.entries += 1
        sys.stdout.flush()

    def end(self) -> None:
        """Finish the whole output."""
        if self.format == "json":
            sys.stdout.write("\n]\n" if self.entries else "]\n")


def _inspect_one(name: str, label: str, registry: Registry | None, printer: _Printer) -> None:
    from .. import CrushError
    from ..api import inspect_stream

    src = _open_report_source(name)
    try:
        keep = None if printer.verbose or printer.format != "text" else _SHOWN_CRCS
        totals = _Totals()
        # The first frame is checked before anything is printed, so a file
        # that is not crush data leaves no partial entry.
        frames = inspect_stream(src.fp, max_crcs=keep, registry=registry)
        try:
            for number, frame in enumerate(frames, 1):
                totals.add(frame)
                printer.frame(label, number, frame)
        except CrushError as exc:
            if totals.frames:  # frames were printed: close the entry, then report
                printer.end_file(label, totals, explain_error(exc)[1])
            raise
        printer.end_file(label, totals)
    finally:
        src.close()


def inspect(s: Settings, registry: Registry | None, console: Console,
            supervisor: Supervisor) -> None:
    """Print what each file in *s* holds, as text, JSON or CSV, frame by frame."""
    printer = _Printer(s)
    printer.begin()
    for name in s.files or (files.STDIO,):
        supervisor.check()
        label = "stdin" if name == files.STDIO else name

        def job(token: CancelToken, name: str = name, label: str = label) -> None:
            _inspect_one(name, label, registry, printer)

        if not _run_report(supervisor, console, label, job):
            return
    printer.end()


def _run_report(supervisor: Supervisor, console: Console, label: str,
                job: Callable[[CancelToken], None]) -> bool:
    """Run *job*; report its failure on *console*. Return False when stdout closed."""
    try:
        supervisor.run(job)
    except Interrupted:
        raise
    except BrokenPipeError:
        from .commands import silence_stdout

        silence_stdout()  # crush inspect ... | head: stop quietly
        return False
    except Exception as exc:
        console.fail(label, exc)
    return True


def _gzip_ratio(compressed: int, original: int) -> str:
    # gzip -l: the space saved, 1 - compressed/original, one decimal.
    saved = 1 - compressed / original if original else 0.0
    return f"{100 * saved:.1f}%"


def list_files(s: Settings, registry: Registry | None, console: Console,
               supervisor: Supervisor) -> None:
    """Print gzip -l's table: compressed size, original size, ratio, name, and a total."""
    from ..api import inspect_stream

    print(f"{'compressed':>19} {'uncompressed':>19}  ratio uncompressed_name")
    rows = compressed = original = 0
    for name in s.files or (files.STDIO,):
        supervisor.check()
        label = "stdin" if name == files.STDIO else name
        totals = _Totals()

        def job(token: CancelToken, name: str = name, totals: _Totals = totals) -> None:
            src = _open_report_source(name)
            try:
                for frame in inspect_stream(src.fp, max_crcs=0, registry=registry):
                    totals.add(frame)
            finally:
                src.close()

        before = console.status
        if not _run_report(supervisor, console, label, job):
            return
        if console.status != before and not totals.frames:
            continue
        shown = _list_name(name, s, totals)
        print(f"{totals.compressed:>19} {totals.original:>19} "
              f"{_gzip_ratio(totals.compressed, totals.original):>6} {escape(shown)}")
        rows += 1
        compressed += totals.compressed
        original += totals.original
    if rows > 1:
        print(f"{compressed:>19} {original:>19} {_gzip_ratio(compressed, original):>6} "
              "(totals)")


def _list_name(name: str, s: Settings, totals: _Totals) -> str:
    """Return the name -l shows: the stored one with -N, else the file's without suffix."""
    if s.restore_name and totals.name is not None:
        return totals.name
    if name == files.STDIO:
        return totals.name or "stdout"
    return name[: -len(s.suffix)] if name.endswith(s.suffix) else name


def _registry(registry: Registry | None) -> Registry:
    from ..registry import DEFAULT_REGISTRY

    return registry or DEFAULT_REGISTRY


def plugin_dict(plugin: Plugin, registry: Registry) -> dict[str, Any]:
    """Return a plugin's id, metadata, levels and effective timeout as JSON-ready values."""
    from ..codec_versions import codec_version
    from ..execution import resolve_timeout

    m = registry.metadata_for(plugin.name)
    return {
        "name": plugin.name,
        "plugin_id": plugin.plugin_id,
        "default": plugin.name == registry.default.name,
        "version": codec_version(plugin, m.version),
        "description": m.description,
        **figures(registry, plugin.name),
        "levels": {"min": m.min_level, "max": m.max_level, "default": m.default_level,
                   "fast": m.fast, "balanced": m.balanced, "best": m.best},
        "formats": list(m.formats),
        "timeout_s": resolve_timeout(None, registry.timeout_for(plugin.name),
                                     registry.default_timeout),
        "isolation": registry.isolation_for(plugin.name),
    }


def _missing(registry: Registry) -> list[dict[str, Any]]:
    from ..registry import KNOWN_IDS

    return [{"name": name, "plugin_id": pid, "install": hint}
            for pid, (name, hint) in sorted(KNOWN_IDS.items()) if name not in registry]


def _timeout(seconds: float | None) -> str:
    return "none" if seconds is None else f"{seconds:g} s"


def _plugin_text(d: dict[str, Any]) -> str:
    lv = d["levels"]
    rows = [
        ("name", d["name"] + ("  (default)" if d["default"] else "")),
        ("id", f"0x{d['plugin_id']:02x}"),
        ("description", d["description"]),
        ("version", d["version"]),
        ("levels", f"{lv['min']}..{lv['max']}, default {lv['default']}; fast={lv['fast']} "
                   f"balanced={lv['balanced']} best={lv['best']}"),
        ("speed", f"{d['throughput_mb_s']:g} MB/s (compression, one thread; {d['figures']})"),
        ("ratio", f"{d['ratio']:g} (compressed/original; {d['figures']})"),
        ("timeout", _timeout(d["timeout_s"])),
        ("isolation", d["isolation"]),
        ("formats", ", ".join(d["formats"]) or "any"),
    ]
    return "\n".join(f"{key:12} {value}" for key, value in rows)


def _table(entries: list[dict[str, Any]], missing: list[dict[str, Any]]) -> str:
    head = ("NAME", "ID", "LEVELS", "DEFAULT", "FAST/BAL/BEST", "MB/S", "RATIO", "FIGURES",
            "VERSION", "TIMEOUT", "DESCRIPTION")
    rows = [head]
    for d in entries:
        lv = d["levels"]
        rows.append((
            d["name"] + ("*" if d["default"] else ""), f"0x{d['plugin_id']:02x}",
            f"{lv['min']}..{lv['max']}", str(lv["default"]),
            f"{lv['fast']}/{lv['balanced']}/{lv['best']}", f"{d['throughput_mb_s']:g}",
            f"{d['ratio']:g}", d["figures"], d["version"], _timeout(d["timeout_s"]),
            d["description"],
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
             for r in rows]
    lines.append("* default plugin")
    if missing:
        lines.append("not compiled in: " + ", ".join(
            f"{m['name']} (0x{m['plugin_id']:02x})" for m in missing))
    return "\n".join(line.rstrip() for line in lines)


def plugins(s: Settings, registry: Registry | None, console: Console) -> None:
    """Print the compiled-in plugins (or the one named in *s*) as text or JSON."""
    import json

    reg = _registry(registry)
    try:
        if s.name is not None:
            entry = plugin_dict(reg.get(s.name), reg)
            text = json.dumps(entry, indent=2) if s.format == "json" else _plugin_text(entry)
        else:
            entries = [plugin_dict(p, reg) for p in reg.plugins]
            missing = _missing(reg)
            if s.format == "json":
                text = json.dumps({"default": reg.default.name, "plugins": entries,
                                   "not_compiled_in": missing}, indent=2)
            else:
                text = _table(entries, missing)
    except Exception as exc:
        console.fail(s.name, exc)
        return
    print(text)


def _head(name: str, size: int) -> bytes:
    """Return the first *size* bytes of input *name* (``-`` is stdin)."""
    if name == files.STDIO and files.stdin_is_terminal():
        raise Failure("no input: --explain - reads stdin, which is a terminal; redirect it")
    src = files.open_source(name, follow=True, special=True)
    try:
        parts: list[bytes] = []
        got = 0
        while got < size:  # pipes return short reads
            chunk = src.fp.read(size - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)
    finally:
        src.close()


def selection_dict(name: str, prefer: str | None, sampled: int,
                   choice: Selection) -> dict[str, Any]:
    """Return an automatic selection as JSON-ready values, candidates best first."""
    w_t, w_r = choice.weights
    return {
        "file": name,
        "plugin": choice.plugin.name,
        "reason": choice.reason,
        "prefer": prefer or "speed",
        "weights": {"throughput": w_t, "ratio": w_r},
        "sample_bytes": sampled,
        "candidates": [
            {"plugin": c.plugin, "throughput_mb_s": c.throughput, "ratio": c.ratio,
             "figures": c.figures, "estimated_ratio": c.estimated_ratio,
             "specialist": c.specialist, "score": round(c.score, 6)}
            for c in choice.candidates
        ],
    }


def _selection_text(d: dict[str, Any], others: list[str]) -> str:
    w = d["weights"]
    lines = [
        f"{d['file']}: {d['plugin']}",
        f"  why:     {d['reason']}",
        f"  weights: throughput {w['throughput']:g}, ratio {w['ratio']:g} "
        f"(--prefer {d['prefer']})",
        f"  score:   {w['throughput']:g} * norm(log MB/s) + {w['ratio']:g} * norm(1 - ratio), "
        "min-max over the candidates; ratio is EST (estimated on the input) when shown",
        f"  sample:  the first {d['sample_bytes']:,} bytes",
    ]
    head = ("PLUGIN", "MB/S", "RATIO", "SCORE", "EST", "FIGURES", "")
    rows = [head] + [
        (c["plugin"], f"{c['throughput_mb_s']:g}", f"{c['ratio']:.3f}", f"{c['score']:.3f}",
         "-" if c["estimated_ratio"] is None else f"{c['estimated_ratio']:.3f}",
         c["figures"], "specialist" if c["specialist"] else "")
        for c in d["candidates"]
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in
                                             zip(row[1:5], widths[1:5], strict=True)]
        cells.append(row[5].ljust(widths[5]))
        mark = "  <- chosen" if number == 1 else ""
        lines.append(("  " + "  ".join(cells) + "  " + row[6]).rstrip() + mark)
    if others:
        why = ("a specialist accepted the input, so general-purpose plugins step aside"
               if any(c["specialist"] for c in d["candidates"])
               else "their detect() declined this input")
        lines.append(f"  not candidates: {', '.join(others)} ({why})")
    return "\n".join(lines)


def explain(s: Settings, registry: Registry | None, console: Console,
            supervisor: Supervisor) -> None:
    """Print what automatic selection would choose for ``s.explain`` and why."""
    import json

    from .. import select_plugin
    from ..selection import WINDOW

    assert s.explain is not None
    name = s.explain
    label = "stdin" if name == files.STDIO else name
    reg = _registry(registry)
    try:
        head = supervisor.run(lambda token: _head(name, WINDOW))
        choice = select_plugin(head, prefer=s.prefer, registry=reg)
    except Interrupted:
        raise
    except Exception as exc:
        console.fail(label, exc)
        return
    entry = selection_dict(label, s.prefer, len(head), choice)
    if s.format == "json":
        print(json.dumps(entry, indent=2))
        return
    chosen = {c.plugin for c in choice.candidates}
    print(_selection_text(entry, [n for n in reg.names() if n not in chosen]))
