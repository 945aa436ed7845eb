"""crush works when vendored into an application as ``app._vendor.crush``.

Vendoring copies the package directory and nothing else (no plugins.toml, no
dist-info, no entry points), renamed under another package. It works only if
every import inside crush/ is relative and the plugin set is compiled in.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import crush

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "crush"

SCRIPT = """
import json, random, sys
import app._vendor.crush as crush

rng = random.Random(0)
words = [b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta", b"\\x00\\xff"]
inputs = [b"", b"x", b" ".join(rng.choice(words) for _ in range(20000))]
results = {}
for plugin in crush.list_plugins():
    for data in inputs:
        blob = crush.compress(data, plugin=plugin.name, block_size=1 << 14)
        report = crush.inspect(blob)
        assert report.plugin == plugin.name, (plugin.name, report.plugin)
        assert crush.decompress(blob) == data, (plugin.name, len(data))
    results[plugin.name] = "ok"

print(json.dumps({
    "file": crush.__file__,
    "names": [p.name for p in crush.list_plugins()],
    "results": results,
    "top_level_crush": sorted(m for m in sys.modules if m == "crush" or m.startswith("crush.")),
    "plugin_modules": sorted({type(p).__module__ for p in crush.list_plugins()}),
}))
"""


def test_crush_imports_only_relatively() -> None:
    """An absolute ``import crush...`` inside crush/ would escape the vendored copy."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name == "crush" or name.startswith("crush."):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: import {name}")
    assert not found, "use relative imports inside crush/:\n  " + "\n  ".join(found)


def vendor(root: Path) -> None:
    """Copy crush/ into *root* as the package ``app._vendor.crush``."""
    copy = root / "app" / "_vendor"
    shutil.copytree(PACKAGE, copy / "crush", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "app" / "__init__.py").write_text("")
    (copy / "__init__.py").write_text("")


def run_vendored(
    root: Path, script: str, *, pythonpath: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run *script* in a fresh interpreter started in *root*, without the top-level crush."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if pythonpath:
        env["PYTHONPATH"] = str(root)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_vendored_copy_round_trips(tmp_path: Path) -> None:
    vendor(tmp_path)
    proc = run_vendored(tmp_path, SCRIPT)
    assert proc.returncode == 0, f"vendored crush failed:\n{proc.stdout}\n{proc.stderr}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    assert Path(out["file"]).resolve().is_relative_to(tmp_path.resolve() / "app" / "_vendor")
    assert out["top_level_crush"] == [], (
        f"the vendored copy imported the top-level crush package: {out['top_level_crush']}"
    )
    assert all(m.startswith("app._vendor.crush.plugins.") for m in out["plugin_modules"])
    expected = [p.name for p in crush.list_plugins()]
    assert out["names"] == expected
    assert out["results"] == dict.fromkeys(expected, "ok")


ISOLATED = """
import os, sys
assert sys.path[0] == "", sys.path[:1]  # python -c: the start directory, relative
import app._vendor.crush as crush
os.chdir(sys.argv[1] if len(sys.argv) > 1 else "/")
data = bytes(range(256)) * 2000
blob = crush.compress(data, plugin="deflate", isolation="process", threads=2, timeout=120)
assert crush.decompress(blob, isolation="process", timeout=120) == data
print("isolated ok", os.getcwd())
"""


def test_vendored_process_isolation_after_chdir(tmp_path: Path) -> None:
    """The worker finds ``app._vendor.crush`` though the app left the directory '' meant."""
    vendor(tmp_path)
    proc = run_vendored(tmp_path, ISOLATED, pythonpath=False)
    assert proc.returncode == 0, f"isolated vendored crush failed:\n{proc.stdout}\n{proc.stderr}"
    assert "isolated ok /" in proc.stdout
