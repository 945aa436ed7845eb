"""The generated module's import block, laid out the way ``ruff`` (isort rules) wants it.

The registry must pass ``ruff check`` without ``ruff`` being run on it (a
package build may not have ruff installed), so this module reproduces the
parts of ruff's isort behaviour the registry can hit, under the project's
settings (``force-single-line``, default sections and ordering): one name
per ``from`` statement; sections future, standard library, third party,
first party, local (relative); natural, case-insensitive module order, then
constants, classes and other names; statements longer than the line limit
wrapped in parentheses.
"""

from __future__ import annotations

import enum
import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from typing import TypeVar
from typing import final

_Ordered = TypeVar("_Ordered", str, int)

LINE_LENGTH: Final = 100
"""The project's ruff line-length (``[tool.ruff]`` in pyproject.toml)."""


class Section(enum.IntEnum):
    """isort sections, in the order they appear."""

    FUTURE = 0
    STANDARD_LIBRARY = 1
    THIRD_PARTY = 2
    FIRST_PARTY = 3
    LOCAL_FOLDER = 4


@final
@dataclass(frozen=True, slots=True)
class Import:
    """One ``from <module> import <name> [as <alias>]`` statement.

    ``module`` is written as it appears in the statement (``.plugins.zstd``
    for a relative import).
    """

    section: Section
    module: str
    name: str
    alias: str | None = None

    @property
    def local_name(self) -> str:
        """Return the name the statement binds in the generated module."""
        return self.alias or self.name

    def __str__(self) -> str:
        what = self.name if self.alias is None else f"{self.name} as {self.alias}"
        line = f"from {self.module} import {what}"
        if len(line) <= LINE_LENGTH:
            return line
        return f"from {self.module} import (\n    {what},\n)"


def plugin_import(module: str, name: str, alias: str | None, *, root: Path) -> Import:
    """Return the statement that imports plugin class *name* from absolute *module*.

    Modules inside the ``crush`` package are imported relatively, so a copy
    of crush vendored under another package name imports its own plugins.
    """
    if module == "crush" or module.startswith("crush."):
        return Import(
            Section.LOCAL_FOLDER, "." + module.removeprefix("crush").lstrip("."), name, alias
        )
    return Import(_section(module, root), module, name, alias)


def _section(module: str, root: Path) -> Section:
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names:
        return Section.STANDARD_LIBRARY
    # ruff counts a module as first-party when its full path exists under one of
    # the `src` roots (default: the project root and src/).
    parts = module.split(".")
    for src in (root, root / "src"):
        path = src.joinpath(*parts)
        if path.is_dir() or path.with_suffix(".py").is_file() or path.with_suffix(".pyi").is_file():
            return Section.FIRST_PARTY
    return Section.THIRD_PARTY


def import_groups(imports: list[Import]) -> list[list[Import]]:
    """Return *imports* sorted as ruff sorts them, one list per non-empty section."""
    ordered = sorted(imports, key=functools.cmp_to_key(_compare))
    groups: list[list[Import]] = []
    for imp in ordered:
        if groups and groups[-1][0].section == imp.section:
            groups[-1].append(imp)
        else:
            groups.append([imp])
    return groups


def _compare(a: Import, b: Import) -> int:
    if a.section != b.section:
        return a.section - b.section
    # Relative imports go from the furthest (`..`) to the closest (`.`).
    distance = _dots(b.module) - _dots(a.module)
    if distance:
        return distance
    return (
        _natural(a.module.lower(), b.module.lower())
        or _natural(a.module, b.module)
        or _member(a.name, b.name)
        or _natural(a.alias or "", b.alias or "")
    )


def _dots(module: str) -> int:
    return len(module) - len(module.lstrip("."))


def _member(a: str, b: str) -> int:
    return _member_type(a) - _member_type(b) or _natural(a.lower(), b.lower()) or _natural(a, b)


def _member_type(name: str) -> int:
    # ruff's order-by-type: CONSTANTS, then Classes, then everything else.
    if len(name) > 1 and name.isupper():
        return 0
    if name[:1].isupper():
        return 1
    return 2


def _natural(a: str, b: str) -> int:
    """Compare like the ``natord`` crate ruff uses: digit runs compare as numbers."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].isascii() and a[i].isdigit() and b[j].isascii() and b[j].isdigit():
            run_a = _digits(a, i)
            run_b = _digits(b, j)
            if a[i] == "0" or b[j] == "0":
                # Runs with a leading zero compare digit by digit, like a fraction.
                result = _cmp(run_a, run_b)
            else:
                result = _cmp(len(run_a), len(run_b)) or _cmp(run_a, run_b)
            if result:
                return result
            i += len(run_a)
            j += len(run_b)
            continue
        if a[i] != b[j]:
            return _cmp(a[i], b[j])
        i += 1
        j += 1
    return _cmp(len(a) - i, len(b) - j)


def _digits(text: str, start: int) -> str:
    end = start
    while end < len(text) and text[end].isascii() and text[end].isdigit():
        end += 1
    return text[start:end]


def _cmp(a: _Ordered, b: _Ordered) -> int:
    return (a > b) - (a < b)
