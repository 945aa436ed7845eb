"""Choose the configuration file, check it, import its plugins and render the registry."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from typing import final

from .config import Config
from .config import load_config
from .formats import resolve_formats
from .render import render
from .resolve import ResolvedPlugin
from .resolve import resolve_plugins

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
"""The project the registry is generated for: the directory holding codegen/ and crush/."""

DEFAULT_CONFIG: Final = "plugins.toml"
"""The configuration file, relative to the project root, used when none is named."""

DEFAULT_OUTPUT: Final = Path("crush") / "_registry.py"
"""Where the registry goes, relative to the project root."""

ENV_VAR: Final = "CRUSH_PLUGINS_TOML"
"""Environment variable naming another configuration file (relative to the working directory)."""


@final
@dataclass(frozen=True, slots=True)
class Generated:
    """A rendered registry and what it was made from.

    ``source`` is how its header names the configuration file; ``text`` is
    the module's full text.
    """

    config: Config
    plugins: tuple[ResolvedPlugin, ...]
    source: str
    text: str


def selected_config(flag: str | None = None) -> str | None:
    """Return the configuration file the user chose: *flag*, else ``$CRUSH_PLUGINS_TOML``."""
    return flag or os.environ.get(ENV_VAR) or None


def generate(
    config_file: str | os.PathLike[str] | None = None,
    *,
    root: Path = PROJECT_ROOT,
    base: Path | None = None,
) -> Generated:
    """Check *config_file*, import its plugins and render the registry in memory.

    *config_file* defaults to ``plugins.toml`` in *root*; a relative path is
    resolved against *base* (default: the working directory). Nothing is
    written. Raise :class:`codegen.CodegenError` naming every problem.
    """
    if config_file is None:
        path = root / DEFAULT_CONFIG
        label = DEFAULT_CONFIG
    else:
        given = Path(config_file)
        path = given if given.is_absolute() else (base or Path.cwd()) / given
        label = os.fspath(config_file)
    config = load_config(path, label=label)
    plugins = resolve_plugins(config, root=root)
    config = dataclasses.replace(config, formats=resolve_formats(config.label, config.formats))
    source = source_name(path, root)
    if path.resolve() == (root / DEFAULT_CONFIG).resolve():
        regenerate = "python -m codegen"
    else:
        regenerate = f"python -m codegen --config {source}"
    text = render(config, plugins, source=source, regenerate=regenerate, root=root)
    return Generated(config, plugins, source, text)


def source_name(path: Path, root: Path) -> str:
    """Return how the generated header names *path*: relative to *root*, else its file name.

    Never an absolute path, so the output is the same on every machine.
    """
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name
