"""Package builds run codegen into the build output and never into the source tree.

These build the real project from the repository root, so they need the
build requirements (hatchling, jinja2) and the runtime dependencies from the
package index, like ``pip install .`` does. Each takes a few seconds with a
warm pip cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REGISTRY = "crush/_registry.py"

# Ignored paths that other tools (pytest, mypy, ruff) may create while the test runs.
_TOOL_CACHES = ("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis")

MINIMAL = """\
[crush]
default = "deflate"

[[plugin]]
name = "deflate"
class = "crush.plugins.deflate:DeflatePlugin"

[[plugin]]
name = "lz4"
class = "crush.plugins.lz4:Lz4Plugin"
install = "pip install lz4"
"""


def _env(**extra: str) -> dict[str, str]:
    """Return os.environ without anything that would leak this environment into the build."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CRUSH_PLUGINS_TOML"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _git_status() -> tuple[list[str], list[str]]:
    """Return (changed and untracked paths, ignored paths other than tool caches)."""
    status = _run("git", "status", "--porcelain", "--untracked-files=all", cwd=REPO, env=_env())
    ignored = _run(
        "git", "status", "--porcelain", "--ignored=matching", cwd=REPO, env=_env()
    ).stdout.splitlines()
    built = [
        line
        for line in ignored
        if line.startswith("!!") and not any(part in line for part in (*_TOOL_CACHES, ".venv"))
    ]
    return status.stdout.splitlines(), built


@pytest.fixture
def clean_tree() -> Iterator[None]:
    """Assert the source tree (``git status``) is the same after the test as before."""
    if not (REPO / ".git").exists():
        pytest.skip("needs a git checkout")
    before = _git_status()
    yield
    assert _git_status() == before, "the build wrote into the source tree"


@pytest.mark.slow
@pytest.mark.usefixtures("clean_tree")
def test_pip_install_with_a_chosen_plugin_set(tmp_path: Path) -> None:
    config = tmp_path / "minimal.toml"
    config.write_text(MINIMAL)
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path, env=_env())
    python = venv / "bin" / "python"
    # The build backend runs in the project root, so the path must be absolute
    # (a relative one would be taken from the root, not from here).
    install_env = _env(CRUSH_PLUGINS_TOML=str(config), PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run(python, "-m", "pip", "install", "--quiet", REPO, cwd=tmp_path, env=install_env)
    proc = _run(
        python,
        "-c",
        "import crush; print(crush.__file__); print([p.name for p in crush.list_plugins()])",
        cwd=tmp_path,
        env=_env(),
    )
    where, names = proc.stdout.splitlines()[-2:]
    assert Path(where).is_relative_to(venv), "imported crush from outside the venv"
    assert names == "['deflate', 'lz4']"
    installed = Path(where).parent / "_registry.py"
    assert installed.read_text(encoding="utf-8").startswith(
        "# Generated from minimal.toml by codegen — do not edit.\n"
    )


@pytest.mark.slow
@pytest.mark.usefixtures("clean_tree")
def test_built_wheel_holds_one_generated_registry(tmp_path: Path) -> None:
    pytest.importorskip("build", reason="python -m build needs the 'build' package")
    out = tmp_path / "dist"
    # sdist first, then the wheel from the unpacked sdist: this also proves the
    # sdist carries everything the hook needs (codegen/, plugins.toml, hatch_build.py).
    _run(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=tmp_path, env=_env())
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert names.count(REGISTRY) == 1, names
        shipped = zf.read(REGISTRY)
        assert not any(n.startswith(("codegen/", "tests/")) for n in names)
    assert shipped == (REPO / REGISTRY).read_bytes(), (
        "the wheel's registry differs from the committed one (run python -m codegen)"
    )
    with tarfile.open(sdist) as tf:
        members = {Path(*Path(m).parts[1:]).as_posix() for m in tf.getnames()}
    assert {
        "hatch_build.py",
        "plugins.toml",
        "codegen/__main__.py",
        "codegen/templates/_registry.py.j2",
        REGISTRY,
    } <= members
