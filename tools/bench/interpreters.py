"""Time fresh interpreters: the environment, a crush copy without bytecode, a timer.

Shared by the start-up benchmarks (``cli`` and ``imports``), which compare
commands with and without compiled bytecode in the same run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[2]


def env_for(pycache: Path | None, root: Path = REPO) -> dict[str, str]:
    """Return the environment for a run importing crush from *root*.

    With *pycache*, ``.pyc`` files are written to and read from that private
    directory; without, nothing is written (and *root* should hold no
    ``__pycache__``, see :func:`uncached_copy`). ``CRUSH_*`` settings are
    dropped so they cannot skew a run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRUSH_")}
    env["PYTHONPATH"] = str(root)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def uncached_copy(workdir: Path, name: str = "uncached") -> Path:
    """Copy the crush package without any ``__pycache__``; return the directory holding it."""
    root = workdir / name
    shutil.copytree(REPO / "crush", root / "crush", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root


def command_timer(argv: Sequence[str], env: dict[str, str], cwd: Path) -> Callable[[], float]:
    """Return a function that runs *argv* once and returns its wall time in seconds."""
    # cwd matters: ``python -m`` puts it first on sys.path.
    def once() -> float:
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    return once
