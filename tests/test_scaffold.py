"""``python -m codegen new-plugin``: what it writes, and what it refuses.

The generated package installed into a fresh venv, with its tests run
unchanged, is in tests/test_third_party.py (slow).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from codegen.scaffold import Names
from codegen.scaffold import ScaffoldError
from codegen.scaffold import new_plugin
from codegen.scaffold import parse_id

REPO = Path(__file__).resolve().parent.parent


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codegen", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_new_plugin_writes_a_package_that_passes_mypy_and_the_suite(tmp_path: Path) -> None:
    target = tmp_path / "pkg"
    proc = _run("new-plugin", "acme-lz", "--id", "0x9a", "--dir", str(target), cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 6 files" in proc.stdout
    project = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert project["name"] == "crush-acme-lz" and "crush" in project["dependencies"]
    source = (target / "crush_acme_lz" / "plugin.py").read_text()
    assert "class AcmeLzPlugin:" in source and "plugin_id: Final = 0x9A" in source
    readme = (target / "README.md").read_text()
    assert 'class = "crush_acme_lz.plugin:AcmeLzPlugin"' in readme
    typed = subprocess.run([sys.executable, "-m", "mypy", "--strict", "crush_acme_lz"],
                           cwd=target, capture_output=True, text=True, timeout=300, check=False)
    assert typed.returncode == 0, typed.stdout
    sys.path.insert(0, str(target))
    try:
        from crush_acme_lz import AcmeLzPlugin  # type: ignore[import-not-found]

        from crush.testing import check_plugin

        check_plugin(AcmeLzPlugin(), polls_cancel=True, block_size=1 << 16)
    finally:
        sys.path.remove(str(target))
        sys.modules.pop("crush_acme_lz", None)
        sys.modules.pop("crush_acme_lz.plugin", None)


@pytest.mark.parametrize(
    ("text", "says"),
    [("0x10", "reserved for crush's built-in plugins"), ("0x100", "not a byte"),
     ("snappy", "not a number")],
)
def test_ids_outside_the_third_party_range_are_refused(text: str, says: str) -> None:
    with pytest.raises(ScaffoldError, match=says) as caught:
        parse_id(text)
    assert "0x80-0xFF" in str(caught.value) or "not a number" in says


def test_names_are_derived_from_the_plugin_name() -> None:
    names = Names("acme-lz", 0x80)
    assert (names.dist, names.module, names.class_name, names.hex_id) == (
        "crush-acme-lz", "crush_acme_lz", "AcmeLzPlugin", "0x80")


def test_bad_names_and_existing_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="lower case"):
        new_plugin("Acme_LZ", 0x80, tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("mine")
    proc = _run("new-plugin", "acme", "--id", "0x80", "--dir", str(tmp_path / "b"), cwd=REPO)
    assert proc.returncode == 1 and "is not empty" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["keep.txt"]
