"""Read ``plugins.toml`` and check its shape, before any plugin is imported.

The file has one ``[crush]`` table (``default``, ``timeout``) and one
``[[plugin]]`` entry per compiled-in plugin (``name``, ``class``, ``timeout``,
``install``, ``isolation``, ``throughput``, ``ratio``). Unknown keys anywhere
are errors, so a misspelt option never silently does nothing. Every problem
is collected, not only the first, and each names the file, the entry and the
fix.
"""

from __future__ import annotations

import difflib
import hashlib
import keyword
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from typing import Literal
from typing import final

from .errors import CodegenError
from .errors import Problem
from .formats import FormatEntry
from .formats import check_formats

Isolation = Literal["thread", "process"]

TOP_KEYS: Final = ("crush", "plugin", "format")
CRUSH_KEYS: Final = ("default", "timeout")
PLUGIN_KEYS: Final = ("name", "class", "timeout", "install", "isolation", "throughput", "ratio")
ISOLATION_MODES: Final[tuple[Isolation, ...]] = ("thread", "process")
MAX_RATIO: Final = 1.5

_TOML_POSITION: Final = re.compile(r"\(at line (?P<line>\d+), column (?P<column>\d+)\)")
_TIMEOUT_FIX: Final = "use a number of seconds >= 0, e.g. timeout = 30.0 (0 disables the deadline)"


@final
@dataclass(frozen=True, slots=True)
class PluginEntry:
    """One ``[[plugin]]`` entry, checked for shape (its class is not imported yet).

    ``index`` is the 1-based position in the file; ``module`` and
    ``class_name`` are the two halves of ``class = "module:Class"``. Optional
    settings are ``None`` when the entry leaves them out.
    """

    index: int
    name: str
    module: str
    class_name: str
    timeout: float | None = None
    install: str | None = None
    isolation: Isolation | None = None
    throughput: float | None = None
    ratio: float | None = None

    @property
    def label(self) -> str:
        """Return how messages name this entry: ``[[plugin]] #3 (name = "zstd")``."""
        return _plugin_label(self.index, self.name)

    @property
    def target(self) -> str:
        """Return the ``class`` value as written: ``module:Class``."""
        return f"{self.module}:{self.class_name}"


@final
@dataclass(frozen=True, slots=True)
class Config:
    """A ``plugins.toml`` whose shape is valid.

    ``label`` is the file as the user named it (used in messages), ``path``
    where it was read from, ``sha256`` the hash of its bytes. ``timeout`` is
    ``None`` when ``[crush]`` sets none (the runtime then uses
    ``CRUSH_TIMEOUT``, then 30 s).
    """

    path: Path
    label: str
    sha256: str
    default: str
    timeout: float | None
    plugins: tuple[PluginEntry, ...]
    formats: tuple[FormatEntry, ...] = ()


def load_config(path: Path, *, label: str | None = None) -> Config:
    """Read and check the configuration file at *path*.

    *label* is how messages name the file (default: *path* as given). Raise
    :class:`CodegenError` listing every problem found.
    """
    label = str(path) if label is None else label
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CodegenError(
            [
                Problem(
                    label,
                    "",
                    f"cannot read the file ({exc.strerror or exc})",
                    "create it, or point CRUSH_PLUGINS_TOML / --config at an existing file",
                )
            ]
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CodegenError(
            [Problem(label, "", f"is not UTF-8 text ({exc.reason})", "save the file as UTF-8")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError carries the position only in its message.
        where = _TOML_POSITION.search(str(exc))
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        raise CodegenError(
            [
                Problem(
                    label,
                    f"line {where['line']}, column {where['column']}" if where else "",
                    f"is not valid TOML: {reason}",
                    "correct the syntax at that line and column (see https://toml.io)",
                )
            ]
        ) from None
    checker = _Checker(label)
    config = checker.check(data, path=path, sha256=hashlib.sha256(raw).hexdigest())
    if checker.problems or config is None:
        raise CodegenError(checker.problems)
    return config


def _plugin_label(index: int, name: object) -> str:
    if isinstance(name, str):
        return f'[[plugin]] #{index} (name = "{name}")'
    return f"[[plugin]] #{index}"


def _as_number(value: object) -> float | None:
    """Return *value* as a finite float, or None when it is not a finite number."""
    # TOML booleans are Python bools, which are ints; a flag is never a quantity.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}remove or rename it; allowed keys: {', '.join(allowed)}"


def _isolation(value: object) -> Isolation | None:
    if value == "thread":
        return "thread"
    if value == "process":
        return "process"
    return None


def _is_class_target(value: str) -> bool:
    module, sep, class_name = value.partition(":")
    parts = [*module.split("."), class_name]
    return bool(sep) and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


class _Checker:
    """Collects problems while walking the parsed TOML document, in file order."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.problems: list[Problem] = []

    def problem(self, entry: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.label, entry, message, fix))

    def check(self, data: Mapping[str, object], *, path: Path, sha256: str) -> Config | None:
        raw = self.plugin_tables(data.get("plugin"))
        # Names of every entry that has one, valid or not, so that a problem in
        # one entry does not also make [crush] default look wrong.
        names = list(dict.fromkeys(n for e in raw if isinstance(n := e.get("name"), str)))
        default, timeout = self.crush_table(data.get("crush"), names)
        plugins = self.plugins(raw)
        formats = check_formats(self.label, data.get("format"), self.problems)
        for key, value in data.items():
            if key not in TOP_KEYS:
                where = f"[{key}]" if isinstance(value, dict) else f"top-level key {key!r}"
                self.problem(
                    where,
                    f"unknown table or key {key!r}",
                    _suggest(key, TOP_KEYS) + " (one [crush] table and [[plugin]] entries)",
                )
        if default is None or not plugins:
            return None
        return Config(path, self.label, sha256, default, timeout, plugins, formats)

    def crush_table(self, table: object, names: list[str]) -> tuple[str | None, float | None]:
        first = names[0] if names else "deflate"
        if table is None:
            self.problem(
                "[crush]",
                "the [crush] table is missing",
                f'add a [crush] table with default = "{first}" (and optionally timeout = 30.0)',
            )
            return None, None
        if not isinstance(table, dict):
            self.problem(
                "[crush]",
                f"crush must be a table, got {type(table).__name__}",
                f'write it as a table: [crush] followed by default = "{first}"',
            )
            return None, None
        for key in table:
            if key not in CRUSH_KEYS:
                self.problem("[crush]", f"unknown key {key!r}", _suggest(key, CRUSH_KEYS))
        timeout = self.seconds("[crush]", table.get("timeout"))
        default = table.get("default")
        if default is None:
            self.problem(
                "[crush]",
                "no default plugin is set",
                f'add default = "{first}" (or the name of another [[plugin]] entry)',
            )
            return None, timeout
        if not isinstance(default, str):
            self.problem(
                "[crush]",
                f"default must be a plugin name (a string), got {default!r}",
                f'write default = "{first}" (or the name of another [[plugin]] entry)',
            )
            return None, timeout
        if names and default not in names:
            self.problem(
                "[crush]",
                f'default = "{default}" names no [[plugin]] entry',
                f"set default to one of {', '.join(names)}, "
                f'or add a [[plugin]] entry with name = "{default}"',
            )
            return None, timeout
        return default, timeout

    def plugin_tables(self, entries: object) -> list[dict[str, object]]:
        if entries is None or entries == []:
            self.problem(
                "[[plugin]]",
                "no plugins are listed",
                'add at least one entry: [[plugin]] name = "deflate" '
                'class = "crush.plugins.deflate:DeflatePlugin"',
            )
            return []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            self.problem(
                "[[plugin]]",
                "plugin must be an array of tables",
                "write each plugin as its own [[plugin]] table (double brackets)",
            )
            return []
        return entries

    def plugins(self, entries: list[dict[str, object]]) -> tuple[PluginEntry, ...]:
        result: list[PluginEntry] = []
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries, 1):
            name = entry.get("name")
            if isinstance(name, str) and name in seen:
                self.problem(
                    _plugin_label(index, name),
                    f'the name "{name}" is already used by [[plugin]] #{seen[name]}',
                    "list each plugin once: remove one of the two entries",
                )
                continue
            if isinstance(name, str):
                seen[name] = index
            parsed = self.plugin(index, entry)
            if parsed is not None:
                result.append(parsed)
        if len(result) < len(entries):
            return ()
        return tuple(result)

    def plugin(self, index: int, entry: Mapping[str, object]) -> PluginEntry | None:
        label = _plugin_label(index, entry.get("name"))
        before = len(self.problems)
        for key in entry:
            if key not in PLUGIN_KEYS:
                self.problem(label, f"unknown key {key!r}", _suggest(key, PLUGIN_KEYS))
        name = entry.get("name")
        if not isinstance(name, str) or not name or name != name.strip().lower():
            self.problem(
                label,
                f"name must be the plugin's non-empty lower-case name, got {name!r}",
                'add name = "<plugin name>", the same string as the class\'s name attribute',
            )
        target = entry.get("class")
        if not isinstance(target, str) or not _is_class_target(target):
            self.problem(
                label,
                f'class must be "module:Class", got {target!r}',
                'write the plugin class\'s import path, e.g. class = "acme_crush.plug:AcmePlugin"',
            )
        timeout = self.seconds(label, entry.get("timeout"))
        install = entry.get("install")
        if install is not None and (not isinstance(install, str) or not install.strip()):
            self.problem(
                label,
                f"install must be a non-empty hint, got {install!r}",
                'write how to get the plugin\'s codec, e.g. install = "pip install zstandard"',
            )
        isolation = entry.get("isolation")
        if isolation is not None and isolation not in ISOLATION_MODES:
            self.problem(
                label,
                f"isolation must be 'thread' or 'process', got {isolation!r}",
                'write isolation = "thread" (the default) or isolation = "process"',
            )
        throughput = self.measure(label, "throughput", entry.get("throughput"), math.inf)
        ratio = self.measure(label, "ratio", entry.get("ratio"), MAX_RATIO)
        if len(self.problems) > before:
            return None
        assert isinstance(name, str) and isinstance(target, str)
        module, _, class_name = target.partition(":")
        return PluginEntry(
            index,
            name,
            module,
            class_name,
            timeout=timeout,
            install=install if isinstance(install, str) else None,
            isolation=_isolation(isolation),
            throughput=throughput,
            ratio=ratio,
        )

    def seconds(self, entry: str, value: object) -> float | None:
        if value is None:
            return None
        number = _as_number(value)
        if number is None or number < 0:
            self.problem(
                entry, f"timeout must be a number of seconds >= 0, got {value!r}", _TIMEOUT_FIX
            )
            return None
        return number

    def measure(self, label: str, key: str, value: object, upper: float) -> float | None:
        if value is None:
            return None
        number = _as_number(value)
        if number is not None and 0 < number <= upper:
            return number
        if key == "throughput":
            message = f"throughput must be MB/s > 0, got {value!r}"
            fix = "write the measured compression speed, e.g. throughput = 250.0, or remove it"
        else:
            message = f"ratio must be compressed/original size in (0, {upper}], got {value!r}"
            fix = "write the measured ratio, e.g. ratio = 0.35, or remove it"
        self.problem(label, message, fix)
        return None
