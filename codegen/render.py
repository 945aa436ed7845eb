"""Render ``crush/_registry.py`` from a checked configuration with jinja2.

The output is a pure function of its inputs — no timestamps, no absolute
paths, no set or dict ordering that could vary — so the same
``plugins.toml`` always gives the same bytes, on any machine. It is written
already formatted the way ``ruff format`` would leave it, so no formatter is
needed at build time.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import jinja2

from .config import Config
from .imports import LINE_LENGTH
from .imports import Import
from .imports import Section
from .imports import import_groups
from .imports import plugin_import
from .resolve import ResolvedPlugin

TEMPLATE: Final = "_registry.py.j2"
TEMPLATES: Final = Path(__file__).resolve().parent / "templates"

_FIXED_IMPORTS: Final = (
    Import(Section.FUTURE, "__future__", "annotations"),
    Import(Section.STANDARD_LIBRARY, "collections.abc", "Mapping"),
    Import(Section.STANDARD_LIBRARY, "types", "MappingProxyType"),
    Import(Section.STANDARD_LIBRARY, "typing", "Final"),
    Import(Section.STANDARD_LIBRARY, "typing", "Literal"),
    Import(Section.LOCAL_FOLDER, ".contract", "Plugin"),
)

# Names the generated module binds itself; a plugin class with one of these
# names is imported under an alias instead.
_RESERVED: Final = frozenset(
    {imp.local_name for imp in _FIXED_IMPORTS}
    | {
        "PLUGINS",
        "DEFAULT",
        "DEFAULT_TIMEOUT",
        "TIMEOUTS",
        "INSTALL_HINTS",
        "ISOLATION",
        "BY_NAME",
        "BY_ID",
        "THROUGHPUT",
        "RATIO",
        "formats",
        "cache",
        "TYPE_CHECKING",
        "Format",
    }
)


def render(
    config: Config,
    plugins: Sequence[ResolvedPlugin],
    *,
    source: str,
    regenerate: str,
    root: Path,
) -> str:
    """Return the text of ``crush/_registry.py`` for *config* and its resolved *plugins*.

    *source* is how the header names the configuration file (a relative
    path, so the output does not depend on where the project lives),
    *regenerate* the command the header says regenerates the file, *root*
    the project root (it decides which imports ruff counts as first-party).
    """
    imports = list(_FIXED_IMPORTS)
    rows = []
    taken = set(_RESERVED)
    for index, plugin in enumerate(plugins):
        entry = plugin.entry
        alias = None
        if entry.class_name in taken:
            alias = f"{entry.class_name}{entry.index}"
            while alias in taken:
                alias += "_"
        imp = plugin_import(entry.module, entry.class_name, alias, root=root)
        taken.add(imp.local_name)
        imports.append(imp)
        rows.append({"local_name": imp.local_name, "index": index, "resolved": plugin})
    # The formats are imported inside formats(), on first use: a run that
    # reads or writes crush frames only never pays for them.
    format_rows = []
    format_imports = []
    for fmt in config.formats:
        imp = plugin_import(fmt.module, fmt.class_name, None, root=root)
        format_imports.append(imp)
        format_rows.append(imp.local_name)
    if format_rows:
        imports.append(Import(Section.STANDARD_LIBRARY, "functools", "cache"))
        imports.append(Import(Section.STANDARD_LIBRARY, "typing", "TYPE_CHECKING"))
    entries = [p.entry for p in plugins]
    context = {
        "source": source,
        "sha256": config.sha256,
        "regenerate": regenerate,
        "line_length": LINE_LENGTH,
        "import_groups": import_groups(imports),
        "plugins": rows,
        "formats": format_rows,
        "format_import_groups": import_groups(format_imports),
        "default": config.default,
        "default_timeout": config.timeout,
        "timeouts": [(e.name, e.timeout) for e in entries if e.timeout is not None],
        "install_hints": [(e.name, e.install) for e in entries if e.install is not None],
        "isolation": [(e.name, e.isolation) for e in entries if e.isolation is not None],
        "by_name": [(e.name, i) for i, e in enumerate(entries)],
        "by_id": sorted((p.plugin_id, i) for i, p in enumerate(plugins)),
        "throughput": [(e.name, e.throughput) for e in entries if e.throughput is not None],
        "ratio": [(e.name, e.ratio) for e in entries if e.ratio is not None],
    }
    return environment().get_template(TEMPLATE).render(context)


def environment() -> jinja2.Environment:
    """Return the jinja2 environment the registry template is rendered in.

    Undefined names are errors (a typo in the template must not render as an
    empty string), block tags leave no stray whitespace, nothing is
    HTML-escaped, and the only filters beyond jinja2's built-ins are the
    Python-literal ones registered here.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(
        {
            "pystr": py_str,
            "pyfloat": py_float,
            "hexid": hex_id,
            "comment": comment_text,
            "fit": fit,
        }
    )
    return env


def py_str(value: str) -> str:
    """Return *value* as a Python string literal quoted the way ``ruff format`` quotes it.

    Double quotes, unless the text holds more double than single quotes;
    unprintable characters as escapes.
    """
    quote = "'" if value.count('"') > value.count("'") else '"'
    out = []
    for ch in value:
        if ch in (quote, "\\"):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return quote + "".join(out) + quote


def py_float(value: float | None) -> str:
    """Return *value* as a float literal in ``ruff format`` style (``1e16``, not ``1e+16``)."""
    if value is None:
        return "None"
    if not math.isfinite(value):
        raise ValueError(f"{value!r} has no Python literal")
    return repr(float(value)).replace("e+", "e")


def hex_id(value: int) -> str:
    """Return a plugin id as a two-digit hex literal (``0x7F``; ruff upper-cases hex digits)."""
    return f"0x{value:02X}"


def comment_text(value: str) -> str:
    """Return *value* safe to put in a ``#`` comment: line breaks and controls escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value)


def fit(line: str, indent: int) -> str:
    """Return *line* (to be indented by *indent* columns) marked for E501 when too long.

    Strings from plugins.toml (install hints, paths) can be longer than the
    line limit and neither ruff format nor the template can split them.
    """
    if indent + _width(line) <= LINE_LENGTH:
        return line
    return line + "  # noqa: E501"


def _width(text: str) -> int:
    # ruff measures lines in display columns: wide East Asian characters take two.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
