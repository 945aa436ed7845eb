"""The crush build step: validate ``plugins.toml`` and render ``crush/_registry.py``.

Run it as ``python -m codegen`` (``--check`` and ``--verify`` are described in
:mod:`codegen.cli`); the package build hook (``hatch_build.py``) calls
:func:`generate` too. Only the build imports this package and jinja2 — the
runtime ``crush`` package never does.
"""

from .cli import main
from .config import Config
from .config import PluginEntry
from .config import load_config
from .errors import CodegenError
from .errors import Problem
from .generate import DEFAULT_CONFIG
from .generate import DEFAULT_OUTPUT
from .generate import PROJECT_ROOT
from .generate import Generated
from .generate import generate
from .render import render
from .resolve import ResolvedPlugin
from .resolve import resolve_plugins
from .verify import verify

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_OUTPUT",
    "PROJECT_ROOT",
    "CodegenError",
    "Config",
    "Generated",
    "PluginEntry",
    "Problem",
    "ResolvedPlugin",
    "generate",
    "load_config",
    "main",
    "render",
    "resolve_plugins",
    "verify",
]
