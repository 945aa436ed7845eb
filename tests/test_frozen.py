"""crush survives PyInstaller with no help: no hidden imports, hooks or metadata copies.

Builds tools/pyinstaller_smoke/app.py into a one-file executable from the
source tree (``--paths <repo>``), runs it outside the repo and checks that
every compiled-in plugin round-trips. Everything PyInstaller writes goes to
tmp_path, so the repo stays clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import crush

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "tools" / "pyinstaller_smoke" / "app.py"
NAME = "crush-smoke"
BUILD_BUDGET = 300.0  # seconds; a clean build takes ~20-60 s


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYINSTALLER_CONFIG_DIR"] = str(tmp_path / "pyi-config")
    return env


@pytest.mark.slow
def test_frozen_executable_round_trips_every_plugin(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    pytest.importorskip("PyInstaller")
    dist, work, spec = tmp_path / "dist", tmp_path / "build", tmp_path / "spec"
    cmd = [
        sys.executable, "-m", "PyInstaller",
        "--onefile", "--noconfirm", "--clean",
        "--distpath", str(dist), "--workpath", str(work), "--specpath", str(spec),
        "--name", NAME,
        "--paths", str(REPO),
        str(APP),
    ]
    start = time.monotonic()
    build = subprocess.run(
        cmd, cwd=tmp_path, env=_clean_env(tmp_path), capture_output=True, text=True,
        timeout=900, check=False,
    )
    seconds = time.monotonic() - start
    record_property("pyinstaller_build_seconds", round(seconds, 1))
    print(f"PyInstaller build took {seconds:.1f} s")
    assert build.returncode == 0, f"PyInstaller failed:\n{build.stdout}\n{build.stderr[-8000:]}"
    assert seconds < BUILD_BUDGET, f"PyInstaller build took {seconds:.0f} s"

    exe = dist / (f"{NAME}.exe" if sys.platform == "win32" else NAME)
    assert exe.is_file()
    run = subprocess.run(
        [str(exe)], cwd=tmp_path, env=_clean_env(tmp_path), capture_output=True, text=True,
        timeout=300, check=False,
    )
    warnings = work / NAME / f"warn-{NAME}.txt"
    missing = warnings.read_text() if warnings.is_file() else "(no warn file)"
    assert run.returncode == 0, (
        f"frozen app failed:\n{run.stdout}\n{run.stderr}\nPyInstaller warnings:\n{missing}"
    )

    lines = run.stdout.splitlines()
    frozen_line = lines[0]
    assert frozen_line.startswith("frozen: True crush: "), frozen_line
    frozen_file = Path(frozen_line.removeprefix("frozen: True crush: "))
    assert not frozen_file.resolve().is_relative_to(REPO), "the executable imported the source"

    expected = [p.name for p in crush.list_plugins()]
    assert lines[-1] == "plugins: " + " ".join(expected)
    assert lines[1:-1] == [f"{name} ok" for name in expected]
