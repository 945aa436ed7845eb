"""``python -m codegen new-plugin NAME --id 0x80 [--dir DIR]``: start a plugin package.

Writes a pip-installable package for a third-party plugin: ``pyproject.toml``,
the plugin module (typed against :mod:`crush.contract`, a placeholder codec
that already passes the conformance suite), tests that run
``crush.testing.PluginConformance`` and a README holding the
``plugins.toml`` entry to add. Nothing is overwritten: an existing,
non-empty target directory is refused.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from typing import final

import jinja2

from .render import TEMPLATES

_NAME: Final = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
THIRD_PARTY: Final = range(0x80, 0x100)
"""Ids a scaffolded (third-party) plugin may take; 0x00-0x7F are crush's own."""

# template -> path inside the package; {module} is the import name.
_FILES: Final = (
    ("pyproject.toml.j2", "pyproject.toml"),
    ("README.md.j2", "README.md"),
    ("init.py.j2", "{module}/__init__.py"),
    ("plugin.py.j2", "{module}/plugin.py"),
    ("test_plugin.py.j2", "tests/test_plugin.py"),
)


class ScaffoldError(Exception):
    """A new-plugin request that cannot be carried out; the message says how to fix it."""


@final
@dataclass(frozen=True, slots=True)
class Names:
    """Every name a new plugin package uses, derived from the plugin name."""

    name: str
    plugin_id: int

    @property
    def dist(self) -> str:
        """The distribution name: ``crush-<name>``."""
        return f"crush-{self.name}"

    @property
    def module(self) -> str:
        """The import package: ``crush_<name>`` with dashes as underscores."""
        return "crush_" + self.name.replace("-", "_")

    @property
    def class_name(self) -> str:
        """The plugin class: ``<Name>Plugin`` in CamelCase."""
        return "".join(part.capitalize() for part in self.name.split("-")) + "Plugin"

    @property
    def hex_id(self) -> str:
        """The id as Python writes it in the plugin class, e.g. ``0x80``."""
        return f"0x{self.plugin_id:02X}"


def parse_id(text: str) -> int:
    """Return the plugin id *text* names (``0x80`` or ``128``); refuse ids outside 0x80-0xFF."""
    try:
        value = int(text, 0)
    except ValueError:
        raise ScaffoldError(f"--id {text!r} is not a number; write it as 0x80..0xFF") from None
    if value not in THIRD_PARTY:
        where = "reserved for crush's built-in plugins" if 0 <= value < 0x80 else "not a byte"
        raise ScaffoldError(
            f"--id 0x{value:02X} is {where}; third-party plugins take an unused id in "
            "0x80-0xFF (see the id table in docs/PLUGINS.md)"
        )
    return value


def new_plugin(name: str, plugin_id: int, target: Path) -> list[Path]:
    """Write the package for plugin *name* with *plugin_id* into *target*; return the files."""
    if not _NAME.fullmatch(name):
        raise ScaffoldError(
            f"plugin name {name!r} must be lower case letters and digits, words joined by "
            "single dashes, starting with a letter (e.g. 'snappy' or 'acme-lz')"
        )
    parse_id(str(plugin_id))
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"{target} exists and is not empty; choose another --dir")
    names = Names(name, plugin_id)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "new_plugin"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Python, TOML and Markdown, not HTML
    )
    values = {"name": name, "dist": names.dist, "module": names.module,
              "class_name": names.class_name, "hex_id": names.hex_id}
    written = []
    for template, relative in _FILES:
        path = target / relative.format(module=names.module)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(template).render(values), encoding="utf-8")
        written.append(path)
    typed = target / names.module / "py.typed"
    typed.write_text("")
    return [*written, typed]


def main(argv: Sequence[str]) -> int:
    """Run ``new-plugin`` with *argv* (the words after it); return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m codegen new-plugin",
        description="Write a pip-installable crush plugin package to start from.",
    )
    parser.add_argument("name", help="the plugin name, e.g. snappy (lower case, dashes)")
    parser.add_argument("--id", required=True, dest="plugin_id",
                        help="its wire id in the third-party range 0x80-0xFF")
    parser.add_argument("--dir", help="where to write it (default: ./crush-NAME)")
    args = parser.parse_args(argv)
    target = Path(args.dir) if args.dir else Path(f"crush-{args.name}")
    try:
        files = new_plugin(args.name, parse_id(args.plugin_id), target)
    except ScaffoldError as exc:
        print(f"codegen new-plugin: {exc}", file=sys.stderr)
        return 1
    print(f"codegen new-plugin: wrote {len(files)} files to {target}")
    print(f"  next: cd {target} && pip install -e '.[test]' && pytest; then add the "
          "plugins.toml entry from its README.md")
    return 0
