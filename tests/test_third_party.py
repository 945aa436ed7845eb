"""A third-party plugin compiled in through the documented path, end to end (slow).

One fresh venv per module run, shared by every test here: it gets the
example package ``examples/crush-snappy`` (installed without dependencies,
so pip never looks for ``crush`` anywhere but here), then crush itself,
built from this repository with ``CRUSH_PLUGINS_TOML`` naming a
``plugins.toml`` that adds snappy. The tests then use that venv's
``crush`` as a user would: the plugin list, API and CLI round trips,
automatic selection, ``codegen --verify``, a PyInstaller one-file build of
the smoke app with no hooks, the example's own conformance tests, and a
package from ``codegen new-plugin`` whose tests pass unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from test_build import _env
from test_build import _run
from test_frozen import APP
from test_frozen import _clean_env

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "crush-snappy"
SNAPPY_ENTRY = """
[[plugin]]
name = "snappy"
class = "crush_snappy.plugin:SnappyPlugin"
install = "pip install crush-snappy"
"""
TEXT = b"".join(b"%d the quick brown fox jumps over the lazy dog\n" % i for i in range(30000))
READ_TEXT = "open('sample.txt', 'rb').read()"
"""How code run by the venv's interpreter gets TEXT (the fixture writes the file)."""


class Venv(NamedTuple):
    """The shared venv: its interpreter, its bin directory and the plugins.toml crush got."""

    python: Path
    bin: Path
    config: Path
    root: Path


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """Build the venv once: example plugin first, then crush built with it compiled in."""
    root = tmp_path_factory.mktemp("third-party")
    config = root / "plugins.toml"
    config.write_text((REPO / "plugins.toml").read_text() + SNAPPY_ENTRY)
    env = _env(PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run(sys.executable, "-m", "venv", root / "venv", cwd=root, env=env)
    python = root / "venv" / "bin" / "python"
    pip = (python, "-m", "pip", "install", "--quiet")
    # The build imports every plugin class, so the build tools and the plugin
    # live in the venv and the build runs there (--no-build-isolation).
    _run(*pip, "cramjam", "hatchling", "jinja2", "pytest", "mypy", "pyinstaller",
         cwd=root, env=env)
    _run(*pip, "--no-deps", "--no-build-isolation", EXAMPLE, cwd=root, env=env)
    _run(*pip, "--no-build-isolation", REPO, cwd=root,
         env=_env(CRUSH_PLUGINS_TOML=str(config), PIP_DISABLE_PIP_VERSION_CHECK="1"))
    (root / "sample.txt").write_bytes(TEXT)
    return Venv(python, python.parent, config, root)


def _py(venv: Venv, code: str) -> str:
    return _run(venv.python, "-c", code, cwd=venv.root, env=_env()).stdout


def test_crush_plugins_lists_it(venv: Venv) -> None:
    listing = _run(venv.bin / "crush", "plugins", cwd=venv.root, env=_env()).stdout
    print(listing)
    assert any(line.startswith("snappy ") and " 0x80 " in line for line in listing.splitlines())
    doc = json.loads(_run(venv.bin / "crush", "plugins", "--json", cwd=venv.root,
                          env=_env()).stdout)
    (snappy,) = [p for p in doc["plugins"] if p["name"] == "snappy"]
    assert snappy["plugin_id"] == 0x80
    assert snappy["version"][:1].isdigit(), "the version column shows cramjam's version"


def test_api_and_cli_round_trip(venv: Venv) -> None:
    out = _py(venv, "import crush\n"
                    f"data = {READ_TEXT}\n"
                    "blob = crush.compress(data, plugin='snappy')\n"
                    "assert crush.decompress(blob) == data\n"
                    "print(crush.inspect(blob).plugin, crush.plugin_for_id(0x80).name)")
    assert out.split() == ["snappy", "snappy"]
    _run(venv.bin / "crush", "-k", "-m", "snappy", "sample.txt", cwd=venv.root, env=_env())
    report = _run(venv.bin / "crush", "inspect", "sample.txt.crush", cwd=venv.root,
                  env=_env()).stdout
    print(report)
    assert "plugin snappy (id 0x80)" in report
    back = _run(venv.bin / "crush", "-d", "-c", "sample.txt.crush", cwd=venv.root, env=_env())
    assert back.stdout == TEXT.decode()


def test_automatic_selection_can_choose_it(venv: Venv) -> None:
    # Without lz4 (the one built-in faster than Snappy), selection weighing
    # speed alone over the compiled-in set picks snappy for text.
    out = _py(venv, "import crush\n"
                    "reg = crush.Registry([p for p in crush.list_plugins() if p.name != 'lz4'])\n"
                    f"data = {READ_TEXT}\n"
                    "w = (1.0, 0.0)\n"
                    "print(crush.select_plugin(data, weights=w, registry=reg).plugin.name)\n"
                    "print(crush.inspect(crush.compress(data, weights=w, registry=reg)).plugin)\n"
                    "print(*[c.plugin for c in crush.select_plugin(data).candidates])")
    chosen, made, candidates = out.splitlines()
    assert (chosen, made) == ("snappy", "snappy")
    assert "snappy" in candidates.split()


def test_codegen_verify_passes(venv: Venv) -> None:
    proc = _run(venv.python, "-m", "codegen", "--config", venv.config, "--verify",
                cwd=REPO, env=_env())
    assert "mypy --strict passed" in proc.stdout


def test_the_example_passes_its_own_conformance_tests(venv: Venv) -> None:
    copy = venv.root / "crush-snappy"
    shutil.copytree(EXAMPLE / "tests", copy / "tests")
    proc = _run(venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                cwd=copy, env=_env())
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_a_scaffolded_package_installs_and_its_tests_pass_unchanged(venv: Venv) -> None:
    target = venv.root / "crush-acme"
    _run(sys.executable, "-m", "codegen", "new-plugin", "acme", "--id", "0x9e",
         "--dir", target, cwd=REPO, env=_env())
    _run(venv.python, "-m", "pip", "install", "--quiet", "--no-build-isolation", target,
         cwd=venv.root, env=_env(PIP_DISABLE_PIP_VERSION_CHECK="1"))
    proc = _run(venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                cwd=target, env=_env())
    assert "8 passed" in proc.stdout or "7 passed, 1 skipped" in proc.stdout, proc.stdout


def test_a_one_file_executable_includes_it_with_no_hooks(venv: Venv) -> None:
    work = venv.root / "pyi"
    env = _clean_env(work)
    env.pop("VIRTUAL_ENV", None)
    os.makedirs(work, exist_ok=True)
    # A copy outside the repository: PyInstaller adds the directory above a
    # script's packages to the search path, which would be the repository and
    # its crush (built without snappy) instead of the venv's.
    app = Path(shutil.copy(APP, work / "app.py"))
    _run(venv.python, "-m", "PyInstaller", "--onefile", "--noconfirm", "--clean",
         "--distpath", work / "dist", "--workpath", work / "build", "--specpath", work,
         "--name", "crush-snappy-smoke", app, cwd=work, env=env)
    run = subprocess.run([str(work / "dist" / "crush-snappy-smoke")], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "snappy ok" in run.stdout.splitlines()
    assert "snappy" in run.stdout.splitlines()[-1].split()
