"""``import crush`` stays cheap: codecs and build-time tools load only when used.

Each check runs in a fresh interpreter so modules imported by other tests (or
by pytest itself) cannot hide a regression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Must not be loaded by a bare ``import crush``.
HEAVY = (
    "jinja2",
    "codegen",
    "zstandard",
    "lz4",
    "brotli",
    "tomllib",
    "tqdm",
    "lzma",
    "bz2",
    "concurrent.futures",
    "importlib.metadata",
    # Each costs milliseconds of import time (measured with -X importtime);
    # crush imports them only when it needs them.
    "dataclasses",
    "logging",
    "subprocess",
    "multiprocessing",
    # The integrations and their host libraries load only when asked for
    # (crush/integrations/, tests/test_integrations_*.py).
    "crush.integrations",
    "fsspec",
    "numpy",
    "pandas",
    "numcodecs",
    "zarr",
    "dask",
    "distributed",
)


def _run(code: str) -> dict[str, object]:
    """Run *code* in a fresh interpreter that imports the repo's crush; return its JSON output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_import_crush_loads_no_heavy_modules() -> None:
    out = _run(
        f"""
        import json, sys, threading
        import crush
        heavy = {HEAVY!r}
        print(json.dumps({{
            "file": crush.__file__,
            "loaded": [m for m in heavy if m in sys.modules],
            "threads": threading.active_count(),
        }}))
        """
    )
    assert Path(str(out["file"])).resolve().is_relative_to(REPO / "crush")
    assert out["loaded"] == [], f"import crush loaded {out['loaded']}; import them lazily"
    assert out["threads"] == 1, "import crush must not start threads (the pool starts on use)"


def test_codec_is_imported_on_first_use() -> None:
    out = _run(
        """
        import json, sys
        import crush
        before = "zstandard" in sys.modules
        data = b"x" * 1000
        blob = crush.compress(data, plugin="zstd")
        assert crush.decompress(blob) == data
        print(json.dumps({
            "before": before,
            "after": "zstandard" in sys.modules,
            "plugin": crush.inspect(blob).plugin,
            "others": [m for m in ("lz4", "brotli", "lzma", "bz2") if m in sys.modules],
        }))
        """
    )
    assert out["plugin"] == "zstd"
    assert out["before"] is False
    assert out["after"] is True, "compressing with zstd did not import zstandard"
    assert out["others"] == [], f"using zstd also imported {out['others']}"


# What a command line run must not load before it has work to do (the
# library's file API, the engine, the codecs), and what none of its plain
# compress/decompress runs need at all. Each costs start-up time a CLI user
# pays on every file (see ``python -m tools.bench.processes``).
CLI_NEVER = ("dataclasses", "logging", "traceback", "inspect", "crush.formats.bgzf",
             "crush.formats.gzip", "crush.formats.decode", "crush.formats.encode",
             "crush.isolation", "crush.api", "brotli")


def test_import_crush_loads_only_the_errors() -> None:
    out = _run(
        """
        import json, sys
        import crush
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("crush"))))
        """
    )
    assert out == ["crush", "crush._version", "crush.errors"], out  # type: ignore[comparison-overlap]


def test_public_names_load_on_first_use() -> None:
    out = _run(
        """
        import json, sys
        import crush
        names = sorted(crush.__all__)
        missing = [n for n in names if getattr(crush, n, None) is None]
        print(json.dumps({"missing": missing, "dir": sorted(set(names) - set(dir(crush)))}))
        """
    )
    assert out == {"missing": [], "dir": []}


def test_cli_runs_load_nothing_they_do_not_need(tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.write_bytes(b"crush " * 50000)
    out = _run(
        f"""
        import json, sys
        from crush.cli import main
        never = {CLI_NEVER!r}
        statuses = [main(["--version"])]
        version_loaded = sorted(m for m in sys.modules if m.startswith("crush."))
        statuses.append(main(["-k", "-m", "zstd", {str(src)!r}]))
        statuses.append(main(["-t", {str(src) + ".crush"!r}]))
        print(json.dumps({{"statuses": statuses, "version": version_loaded,
                           "loaded": [m for m in never if m in sys.modules]}}))
        """
    )
    assert out["statuses"] == [0, 0, 0]
    assert out["version"] == ["crush._version", "crush.cli", "crush.errors"], out["version"]
    assert out["loaded"] == [], f"a compress and a test run loaded {out['loaded']}"
