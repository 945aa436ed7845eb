"""Set up the development environment and run the project's two main commands.

Needs only ``python3`` (3.11+) on a fresh clone:

    python3 tools/dev.py demo   # the main job on the bundled sample data
    python3 tools/dev.py test   # codegen check, mypy, ruff, the whole pytest suite
    python3 tools/dev.py bench  # every benchmark (also: make bench)

Both create ``.venv`` on first use and install crush (editable) with its dev
extras into it; the install is redone only when ``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".crush-installed"


def _run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    result = subprocess.run([str(a) for a in args], cwd=ROOT, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    """Create .venv and install crush[dev] into it unless already up to date."""
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(want)


def test() -> None:
    """Run every check CI runs: codegen --check, mypy --strict, ruff, pytest."""
    _run(PYTHON, "-m", "codegen", "--check")
    _run(PYTHON, "-m", "mypy")
    _run(PYTHON, "-m", "ruff", "check", "crush", "codegen", "tools", "tests", "hatch_build.py")
    _run(PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider")


def demo() -> None:
    """Run the main job on the bundled sample data."""
    _run(PYTHON, "-m", "tools.demo")


def bench(*args: str) -> None:
    """Run every benchmark; the JSON goes to bench-results/ (not committed)."""
    # Compiled bytecode, as an installed crush has: import-time figures
    # would otherwise include compiling every module.
    _run(PYTHON, "-m", "compileall", "-q", "crush", "tools")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    _run(PYTHON, "-m", "tools.bench", "--json", out / "bench.json", *args)


def main() -> None:
    """Dispatch ``demo``, ``test`` or ``bench``."""
    commands = {"demo": demo, "test": test, "bench": bench}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or \
            (sys.argv[1] != "bench" and len(sys.argv) > 2):
        sys.exit(f"usage: python3 tools/dev.py {{{'|'.join(commands)}}} [bench options]")
    ensure_venv()
    command = commands[sys.argv[1]]
    if command is bench:
        bench(*sys.argv[2:])
    else:
        command()


if __name__ == "__main__":
    main()
