"""``--verify``: type-check the rendered registry and the plugin modules with mypy.

The registry annotates ``PLUGINS`` as ``tuple[Plugin, ...]``, so mypy checks
every plugin class against the ``crush.contract.Plugin`` protocol: a missing
method or a wrong signature fails here, at build time, instead of at the
first call. The rendered text is checked in place of ``crush/_registry.py``
(mypy's ``--shadow-file``), so verifying never writes into the source tree.
A throwaway module with one annotated assignment per plugin is checked too,
because mypy reports a bad tuple item only as "the tuple has the wrong type";
per plugin it names the class and the conflicting member.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from typing import final

from .generate import DEFAULT_OUTPUT
from .generate import PROJECT_ROOT
from .generate import Generated
from .render import environment

CONTRACT_CHECK: Final = "plugin_contract.py"
"""A throwaway module that checks each plugin against the protocol on its own line."""

_FIX: Final = (
    "make each plugin class satisfy crush.contract.Plugin (docs/PLUGINS.md); the "
    f"{CONTRACT_CHECK} errors above name the plugin and the missing or mismatched member"
)


@final
@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of a mypy run: ``ok``, mypy's ``output``, the ``files`` checked, a ``fix``."""

    ok: bool
    output: str
    files: tuple[Path, ...]
    fix: str


def _installed(path: Path) -> bool:
    return not {"site-packages", "dist-packages"}.isdisjoint(path.parts)


def verify(generated: Generated, *, root: Path = PROJECT_ROOT) -> Verification:
    """Run ``mypy --strict`` over *generated*'s registry text and its plugin modules.

    mypy runs with the project's configuration (``pyproject.toml`` in
    *root*) in a subprocess of the current interpreter, so it must be
    installed there.
    """
    registry = root / DEFAULT_OUTPUT
    if importlib.util.find_spec("mypy") is None:
        return Verification(False, "mypy is not installed\n", (), "pip install mypy (or .[dev])")
    if not registry.is_file():
        return Verification(
            False,
            f"{registry} does not exist\n",
            (),
            "run python -m codegen first; --verify checks the rendered text in its place",
        )
    modules = sorted({p.module_file for p in generated.plugins if p.module_file} - {registry})
    # A plugin installed into site-packages is not passed as a path: mypy
    # would take the whole directory as a source root and trip over every
    # other package installed there. The contract check imports it, so its
    # class is still checked against the protocol (it needs a py.typed).
    files = (registry, *(m for m in modules if not _installed(m)))
    config = root / "pyproject.toml"
    with tempfile.TemporaryDirectory(prefix="crush-verify-") as tmp:
        shadow = Path(tmp) / registry.name
        shadow.write_text(generated.text, encoding="utf-8")
        check = Path(tmp) / CONTRACT_CHECK
        template = environment().get_template(CONTRACT_CHECK + ".j2")
        check.write_text(template.render(plugins=generated.plugins), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            *(["--config-file", str(config)] if config.is_file() else []),
            "--shadow-file",
            str(registry),
            str(shadow),
            *(str(f) for f in files),
            str(check),
        ]
        proc = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        # The check module lives in a temporary directory; name it without the path.
        output = (proc.stdout + proc.stderr).replace(str(check), CONTRACT_CHECK)
    return Verification(proc.returncode == 0, output, files, _FIX)
