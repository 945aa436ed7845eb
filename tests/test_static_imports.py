"""crush/ must be statically analysable: no dynamic imports, no path scanning.

That is what lets crush be vendored, frozen with PyInstaller and type-checked:
every module the runtime needs is named by a literal ``import`` statement.
The checks walk the AST of every module under crush/ (the plugins and the
generated ``_registry.py`` included) and report file:line for each offence.
"""

from __future__ import annotations

import ast
import os
import tomllib
from pathlib import Path

import pytest

import crush

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "crush"
PLUGINS_DIR = PACKAGE / "plugins"
# CI may build crush with another plugin set; the registry then follows that file.
PLUGINS_TOML = Path(os.environ.get("CRUSH_PLUGINS_TOML") or REPO / "plugins.toml")
default_plugin_set = pytest.mark.skipif(
    PLUGINS_TOML.resolve() != (REPO / "plugins.toml").resolve(),
    reason="CRUSH_PLUGINS_TOML selects a custom plugin set; not every built-in is compiled in",
)

# Modules whose only purpose is importing or finding code/files by name.
FORBIDDEN_MODULES = frozenset(
    {"importlib", "pkgutil", "pkg_resources", "glob", "imp", "runpy", "zipimport"}
)
# Names that must not appear at all (as a bare name, an attribute or an imported name).
FORBIDDEN_NAMES = frozenset(
    {"__import__", "exec", "eval", "import_module", "entry_points", "iter_modules",
     "walk_packages"}
)
# Attribute calls that scan directories, whatever they are called on.
FORBIDDEN_METHODS = frozenset({"iterdir", "glob", "rglob"})
# Functions of ``os`` that scan directories.
FORBIDDEN_OS = frozenset({"listdir", "scandir", "walk", "fwalk"})


# `crush -r` lists the user's directories, as gzip -r does; no code is found that
# way. It is the one exception, and only through os.fwalk's directory descriptors.
ALLOWED: dict[str, frozenset[str]] = {
    "crush/cli/walk.py": frozenset({"uses os.fwalk (directory scanning)"}),
}


def _root(module: str) -> str:
    return module.split(".", 1)[0]


def violations(source: str, filename: str) -> list[str]:
    """Return one "file:line: message" string per dynamic import or path scan in *source*."""
    tree = ast.parse(source, filename)
    found: list[str] = []

    def report(node: ast.AST, message: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', 0)}: {message}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _root(alias.name) in FORBIDDEN_MODULES:
                    report(node, f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and _root(module) in FORBIDDEN_MODULES:
                report(node, f"imports from {module}")
            for alias in node.names:
                if alias.name in FORBIDDEN_NAMES:
                    report(node, f"imports {alias.name} from {module or '.'}")
                if node.level == 0 and module == "os" and alias.name in FORBIDDEN_OS:
                    report(node, f"imports os.{alias.name} (directory scanning)")
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES or node.id == "importlib":
                report(node, f"uses {node.id}")
        elif isinstance(node, ast.Attribute):
            if node.attr in FORBIDDEN_NAMES:
                report(node, f"uses .{node.attr}")
            elif (isinstance(node.value, ast.Name) and node.value.id == "os"
                    and node.attr in FORBIDDEN_OS):
                report(node, f"uses os.{node.attr} (directory scanning)")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                report(node, f"calls .{func.attr}() (directory scanning)")
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_package_has_modules() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in _modules()}
    assert {"__init__.py", "_registry.py", "registry.py", "plugins/__init__.py"} <= names


@pytest.mark.parametrize(
    "path", _modules(), ids=lambda p: p.relative_to(REPO).as_posix()
)
def test_no_dynamic_imports_or_path_scanning(path: Path) -> None:
    rel = path.relative_to(REPO).as_posix()
    allowed = ALLOWED.get(rel, frozenset())
    found = [f for f in violations(path.read_text(encoding="utf-8"), rel)
             if f.split(": ", 1)[1] not in allowed]
    assert not found, (
        "crush/ must import only with literal import statements and never scan "
        "directories (it breaks vendoring and PyInstaller):\n  " + "\n  ".join(found)
    )


@pytest.mark.parametrize(
    "snippet",
    [
        "import importlib\n",
        "import importlib.metadata as md\n",
        "from importlib import import_module\n",
        "from importlib.metadata import entry_points\n",
        "m = __import__('zstandard')\n",
        "import pkgutil\n",
        "import pkg_resources\n",
        "import glob\n",
        "from glob import glob\n",
        "import os\nos.listdir('.')\n",
        "import os\nnames = [e.name for e in os.scandir('.')]\n",
        "import os\nfor _ in os.walk('.'): pass\n",
        "from os import listdir\n",
        "from pathlib import Path\nlist(Path('.').iterdir())\n",
        "from pathlib import Path\nlist(Path('.').glob('*.py'))\n",
        "from pathlib import Path\nlist(Path('.').rglob('*.py'))\n",
        "exec('x = 1')\n",
        "x = eval('1')\n",
        "def f(mod):\n    return mod.import_module('x')\n",
        "def f(md):\n    return md.entry_points(group='crush.plugins')\n",
    ],
)
def test_checker_catches(snippet: str) -> None:
    assert violations(snippet, "snippet.py"), f"not caught:\n{snippet}"


def test_checker_allows_literal_lazy_imports() -> None:
    ok = (
        "from __future__ import annotations\n"
        "import os\n"
        "import zlib\n"
        "from . import frame\n"
        "def f() -> None:\n"
        "    import zstandard\n"
        "    import lz4.block\n"
        "    os.cpu_count()\n"
        "    os.environ.get('CRUSH_TIMEOUT')\n"
    )
    assert violations(ok, "ok.py") == []


def _plugin_classes(path: Path) -> list[str]:
    """Return top-level classes in *path* that declare both ``name`` and ``plugin_id``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    classes = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        declared: set[str] = set()
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                declared.add(stmt.target.id)
            elif isinstance(stmt, ast.Assign):
                declared |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        if {"name", "plugin_id"} <= declared:
            classes.append(node.name)
    return classes


def _plugin_modules() -> list[Path]:
    return sorted(p for p in PLUGINS_DIR.glob("*.py") if not p.name.startswith("_"))


def _toml_targets() -> set[str]:
    with PLUGINS_TOML.open("rb") as f:
        config = tomllib.load(f)
    return {entry["class"] for entry in config.get("plugin", [])}


def _registered() -> set[str]:
    return {f"{type(p).__module__}:{type(p).__qualname__}" for p in crush.list_plugins()}


def test_plugins_toml_matches_compiled_registry() -> None:
    assert _toml_targets() == _registered(), (
        f"crush/_registry.py is out of date with {PLUGINS_TOML}; run python -m codegen"
    )


@default_plugin_set
@pytest.mark.parametrize("path", _plugin_modules(), ids=lambda p: p.stem)
def test_every_plugin_module_is_registered(path: Path) -> None:
    module = f"crush.plugins.{path.stem}"
    classes = _plugin_classes(path)
    assert classes, (
        f"{path.relative_to(REPO)} is a public module in crush/plugins/ but defines no plugin "
        "class (one with `name` and `plugin_id`); helpers belong in a _private module"
    )
    toml, registered = _toml_targets(), _registered()
    for cls in classes:
        target = f"{module}:{cls}"
        assert target in toml, (
            f"{path.relative_to(REPO)} defines plugin {cls} but plugins.toml has no "
            f'[[plugin]] with class = "{target}"; add it and run python -m codegen'
        )
        assert target in registered, (
            f"{target} is not in crush.list_plugins(); run python -m codegen to regenerate "
            "crush/_registry.py"
        )
