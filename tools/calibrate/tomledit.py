"""Write ``throughput`` and ``ratio`` into ``plugins.toml`` as a text edit.

A TOML writer would re-emit the whole document and lose the comments, the
alignment and the order a person chose, so the figures are edited in
place: an existing ``throughput = ...`` / ``ratio = ...`` line keeps its
indentation and trailing comment and only its value changes; a missing one
is inserted after the last key of its ``[[plugin]]`` table, before any
blank lines or comments that lead into the next table. Everything else is
left byte for byte as it was. The caller validates the result with
codegen's loader before writing it (see :mod:`tools.calibrate.cli`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final
from typing import NamedTuple
from typing import final

_TABLE: Final = re.compile(r"^\s*\[")
"""Any table or array-of-tables header (``[crush]``, ``[[plugin]]``)."""

_PLUGIN: Final = re.compile(r"^\s*\[\[\s*plugin\s*\]\]\s*(?:#.*)?$")
_NAME: Final = re.compile(r"""^\s*name\s*=\s*(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)')""")
_FIGURE: Final = re.compile(
    r"^(?P<head>\s*(?P<key>throughput|ratio)\s*=\s*)(?P<value>[^\s#]+)(?P<rest>.*)$",
    re.DOTALL,
)
_COMMENT_COLUMN: Final = 22
"""plugins.toml aligns trailing comments at this column (``timeout = 120.0       # ...``)."""

COMMENTS: Final[Mapping[str, str]] = {
    "throughput": "MB/s, one thread, default level: python -m tools.calibrate",
    "ratio": "compressed/original on the sample corpus",
}
"""The comment a newly inserted figure line carries (an existing line keeps its own)."""


@final
class Figures(NamedTuple):
    """The two calibrated figures of one plugin, as they go into plugins.toml."""

    throughput: float
    ratio: float


def round3(value: float) -> float:
    """Return *value* rounded to 3 significant figures (253.37 -> 253.0, 0.30123 -> 0.301)."""
    return float(f"{value:.3g}")


def toml_float(value: float) -> str:
    """Return *value* as a TOML float literal (always with a point or an exponent)."""
    text = repr(float(value))
    return text if any(c in text for c in ".en") else text + ".0"


def update_figures(text: str, figures: Mapping[str, Figures]) -> str:
    """Return *text* with each named plugin's ``throughput`` and ``ratio`` set to *figures*.

    Values are written as given (round them first). Plugins that *figures*
    does not name, and every other line, are left untouched.
    """
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    starts = [i for i, line in enumerate(lines) if _TABLE.match(line)]
    # Edit from the last table up, so inserting lines never moves a table still to do.
    for start, end in reversed(list(zip(starts, [*starts[1:], len(lines)], strict=True))):
        if not _PLUGIN.match(lines[start]):
            continue
        name = _table_name(lines[start + 1 : end])
        if name is not None and name in figures:
            lines[start:end] = _edit_table(lines[start:end], figures[name], newline)
    return "".join(lines)


def _table_name(body: list[str]) -> str | None:
    for line in body:
        found = _NAME.match(line)
        if found:
            return found["double"] if found["double"] is not None else found["single"]
    return None


def _edit_table(table: list[str], figures: Figures, newline: str) -> list[str]:
    missing = {"throughput": toml_float(figures.throughput), "ratio": toml_float(figures.ratio)}
    out = list(table)
    for i, line in enumerate(out):
        found = _FIGURE.match(line)
        if found and found["key"] in missing:
            out[i] = found["head"] + missing.pop(found["key"]) + found["rest"]
    if not missing:
        return out
    # After the table's last key (index 0 is the [[plugin]] line itself).
    last = max((i for i, line in enumerate(out) if i and _is_content(line)), default=0)
    if not out[last].endswith(("\n", "\r")):
        out[last] += newline
    pad = "" if last == 0 else out[last][: len(out[last]) - len(out[last].lstrip())]
    added = []
    for key, value in missing.items():
        assignment = f"{key} = {value}"
        width = max(_COMMENT_COLUMN - len(pad), len(assignment) + 2)
        added.append(f"{pad}{assignment.ljust(width)}# {COMMENTS[key]}{newline}")
    return [*out[: last + 1], *added, *out[last + 1 :]]


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")
