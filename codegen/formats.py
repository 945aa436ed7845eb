"""``[[format]]`` entries: which container formats are compiled in.

Each entry is ``name`` and ``class = "module:Class"``; the class is
imported at build time, instantiated with no arguments and checked: its
``name`` equals the entry's, ``magic`` is a tuple of byte strings,
``suffix`` starts with a dot, and no two formats share a name. The crush
frame is always compiled in and is not listed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from typing import final

from .errors import Problem

FORMAT_KEYS: Final = ("name", "class")
_METHODS: Final = ("padding", "whole_unit", "decode_unit", "stream_unit", "index",
                   "encode_unit", "finish", "block_size")


@final
@dataclass(frozen=True, slots=True)
class FormatEntry:
    """One checked ``[[format]]`` entry; ``index`` is its 1-based position."""

    index: int
    name: str
    module: str
    class_name: str
    module_file: Path | None = None

    @property
    def label(self) -> str:
        """Return how messages name this entry."""
        return f'[[format]] #{self.index} (name = "{self.name}")'


def check_formats(label: str, entries: object, problems: list[Problem]) -> tuple[FormatEntry, ...]:
    """Return the ``[[format]]`` entries of the parsed file, appending problems found."""
    if entries is None:
        return ()
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append(Problem(label, "[[format]]", "format must be an array of tables",
                                "write each format as its own [[format]] table"))
        return ()
    result: list[FormatEntry] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, 1):
        found = _entry(label, index, entry, seen, problems)
        if found is not None:
            result.append(found)
    return tuple(result)


def _entry(label: str, index: int, entry: Mapping[str, object], seen: set[str],
           problems: list[Problem]) -> FormatEntry | None:
    where = f"[[format]] #{index}"
    before = len(problems)
    for key in entry:
        if key not in FORMAT_KEYS:
            problems.append(Problem(label, where, f"unknown key {key!r}",
                                    f"remove it; allowed keys: {', '.join(FORMAT_KEYS)}"))
    name, target = entry.get("name"), entry.get("class")
    if not isinstance(name, str) or not name or name != name.lower() or name == "crush":
        problems.append(Problem(label, where, f"name must be a lower-case format name other "
                                f"than 'crush', got {name!r}", 'write e.g. name = "gzip"'))
    elif name in seen:
        problems.append(Problem(label, where, f'the format "{name}" is listed twice',
                                "list each format once"))
    module, sep, class_name = target.partition(":") if isinstance(target, str) else ("", "", "")
    if not sep or not module or not class_name.isidentifier():
        problems.append(Problem(label, where, f'class must be "module:Class", got {target!r}',
                                'write e.g. class = "crush.formats.gzip:GzipFormat"'))
    if len(problems) > before:
        return None
    assert isinstance(name, str)
    seen.add(name)
    return FormatEntry(index, name, module, class_name)


def resolve_formats(label: str, entries: tuple[FormatEntry, ...]) -> tuple[FormatEntry, ...]:
    """Import every format class and check it; raise CodegenError listing all problems."""
    from .errors import CodegenError

    problems: list[Problem] = []
    result = []
    for entry in entries:
        def problem(message: str, fix: str, entry: FormatEntry = entry) -> None:
            problems.append(Problem(label, entry.label, message, fix))

        try:
            module = importlib.import_module(entry.module)
            instance = getattr(module, entry.class_name)()
        except Exception as exc:  # whatever the format module raises is reported
            problem(f'class = "{entry.module}:{entry.class_name}" does not import and '
                    f"instantiate ({type(exc).__name__}: {exc})",
                    "correct the module path and class name; the class must take no arguments")
            continue
        magic = getattr(instance, "magic", None)
        if getattr(instance, "name", None) != entry.name:
            problem(f"{entry.class_name}.name is {getattr(instance, 'name', None)!r}",
                    f'write name = "{getattr(instance, "name", "")}" in the entry')
        elif not isinstance(magic, tuple) or not all(isinstance(m, bytes) and m for m in magic):
            problem(f"{entry.class_name}.magic must be a tuple of non-empty bytes",
                    "give the byte strings a unit of the format starts with")
        elif not str(getattr(instance, "suffix", "")).startswith("."):
            problem(f"{entry.class_name}.suffix must start with a dot", 'e.g. suffix = ".gz"')
        elif missing := [m for m in _METHODS if not callable(getattr(instance, m, None))]:
            problem(f"{entry.class_name} lacks {', '.join(missing)}",
                    "implement crush.formats.contract.Format")
        else:
            file = getattr(module, "__file__", None)
            result.append(FormatEntry(entry.index, entry.name, entry.module, entry.class_name,
                                      Path(file).resolve() if file else None))
    if problems:
        raise CodegenError(problems)
    return tuple(result)
