"""Automatic plugin selection on the command line: --prefer, -v, numeric levels, --explain.

Expectations come from :func:`crush.select_plugin` on the same bytes, so the
tests hold whatever figures plugins.toml carries; they check that the CLI
passes the choice through and shows the library's reasons.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from test_cli_helpers import err
from test_cli_helpers import listing
from test_cli_helpers import run
from test_cli_helpers import sample

import crush


@pytest.fixture
def data() -> bytes:
    return sample(300_000)


@pytest.fixture
def txt(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    return path


def _plugin(proc: subprocess.CompletedProcess[bytes]) -> str | None:
    """Return the plugin that made the frame the CLI wrote to stdout."""
    assert proc.returncode == 0, err(proc)
    return crush.inspect(proc.stdout).plugin


def test_prefer_changes_the_choice(tmp_path: Path, txt: Path, data: bytes) -> None:
    speed = crush.select_plugin(data).plugin.name
    ratio = crush.select_plugin(data, prefer="ratio").plugin.name
    assert speed != ratio, "precondition: text must tip from a fast codec to a dense one"
    assert crush.get_plugin(ratio).metadata.formats == ()  # a codec, not the store specialist
    proc = run("-cv", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert _plugin(proc) == speed
    assert f"  {speed}  " in err(proc)  # the per-file line names the chosen plugin
    proc = run("-cv", "--prefer", "ratio", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert _plugin(proc) == ratio
    assert f"  {ratio}  " in err(proc)
    assert crush.decompress(proc.stdout) == data
    balanced = crush.select_plugin(data, prefer="balanced").plugin.name
    assert _plugin(run("-c", "--prefer", "balanced", "a.txt", cwd=tmp_path)) == balanced
    assert listing(tmp_path) == ["a.txt"]


def test_prefer_from_the_environment_and_flags_win(tmp_path: Path, txt: Path,
                                                   data: bytes) -> None:
    speed = crush.select_plugin(data).plugin.name
    ratio = crush.select_plugin(data, prefer="ratio").plugin.name
    env = {"CRUSH_PREFER": "ratio"}
    assert _plugin(run("-c", "a.txt", cwd=tmp_path, extra_env=env)) == ratio
    assert _plugin(run("-c", "--prefer", "speed", "a.txt", cwd=tmp_path, extra_env=env)) == speed
    # A named plugin always wins over a preference.
    assert _plugin(run("-c", "-m", "lz4", "--prefer", "ratio", "a.txt", cwd=tmp_path)) == "lz4"
    assert _plugin(run("-c", "a.txt", cwd=tmp_path,
                       extra_env={"CRUSH_PREFER": "ratio", "CRUSH_PLUGIN": "lz4"})) == "lz4"
    for args, extra in ((("--prefer", "fastest"), {}), ((), {"CRUSH_PREFER": "fastest"})):
        proc = run("-c", *args, "a.txt", cwd=tmp_path, extra_env=extra)
        assert proc.returncode == 2, args
        assert "invalid preference 'fastest'" in err(proc)
        assert "speed, balanced, ratio" in err(proc)


def test_presets_work_with_automatic_selection(tmp_path: Path, txt: Path, data: bytes) -> None:
    chosen = crush.select_plugin(data).plugin.name
    proc = run("-c", "-L", "best", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert proc.stdout == crush.compress(data, plugin=chosen, level="best",
                                         file_info=crush.inspect(proc.stdout).frames[0].info)


def test_native_level_without_plugin_is_a_usage_error(tmp_path: Path, txt: Path) -> None:
    for args, extra, shown in ((("-L", "19"), {}, "-L 19"),
                               (("--level=3",), {}, "-L 3"),
                               ((), {"CRUSH_LEVEL": "19"}, "CRUSH_LEVEL=19")):
        proc = run("-k", *args, "a.txt", cwd=tmp_path, extra_env=extra)
        assert proc.returncode == 2, (args, err(proc))
        text = err(proc)
        assert text.startswith(f"crush: {shown} is a native level")
        assert "-m NAME" in text and "fast, balanced or best" in text
        assert "Traceback" not in text
    assert listing(tmp_path) == ["a.txt"]
    # With a plugin named by flag or environment, a native level is fine.
    proc = run("-c", "-L", "19", "a.txt", cwd=tmp_path, extra_env={"CRUSH_PLUGIN": "zstd"})
    assert proc.returncode == 0, err(proc)
    assert _plugin(proc) == "zstd"


def test_random_data_is_stored(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(1 << 20)
    (tmp_path / "noise.bin").write_bytes(noise)
    proc = run("-kv", "noise.bin", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert "  store  " in err(proc)
    packed = (tmp_path / "noise.bin.crush").read_bytes()
    assert crush.inspect(packed).plugin == "store"
    assert len(packed) < len(noise) + 200  # frame overhead only
    assert crush.decompress(packed) == noise


def test_verbose_says_why(tmp_path: Path, txt: Path, data: bytes) -> None:
    (tmp_path / "noise.bin").write_bytes(random.Random(1).randbytes(200_000))
    proc = run("-k", "-v", "a.txt", "noise.bin", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    lines = err(proc).splitlines()
    text_choice = crush.select_plugin(data)
    assert lines[0].startswith("a.txt -> a.txt.crush  ")
    assert f"  {text_choice.plugin.name}  " in lines[0]
    assert lines[1] == f"  a.txt: chose {text_choice.plugin.name}: {text_choice.reason}"
    assert lines[3].startswith("  noise.bin: chose store: ")
    assert "specialist" in lines[3]
    proc = run("-v", "--prefer", "ratio", cwd=tmp_path, input=data)
    ratio_choice = crush.select_plugin(data, prefer="ratio")
    assert f"  stdin: chose {ratio_choice.plugin.name}: {ratio_choice.reason}" in err(proc)
    # Without -v, or with a named plugin, no reason line.
    assert "chose" not in err(run("-k", "-f", "a.txt", cwd=tmp_path))
    assert "chose" not in err(run("-k", "-f", "-v", "-m", "lz4", "a.txt", cwd=tmp_path))


# ----------------------------------------------------------------------------- --explain


def test_explain_text(tmp_path: Path, txt: Path, data: bytes) -> None:
    choice = crush.select_plugin(data)
    proc = run("plugins", "--explain", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == f"a.txt: {choice.plugin.name}"
    assert lines[1] == f"  why:     {choice.reason}"
    assert "throughput 0.7, ratio 0.3 (--prefer speed)" in lines[2]
    table = lines[lines.index(next(x for x in lines if x.split()[:2] == ["PLUGIN", "MB/S"])) + 1:]
    rows = [line.split() for line in table if not line.startswith("  not candidates")]
    assert [r[0] for r in rows] == [c.plugin for c in choice.candidates]
    for r, c in zip(rows, choice.candidates, strict=True):
        assert float(r[1]) == pytest.approx(c.throughput, rel=0.01)
        assert float(r[2]) == pytest.approx(c.ratio, abs=0.0006)
        assert float(r[3]) == pytest.approx(c.score, abs=0.0006)
    assert rows[0][-1] == "chosen"
    assert listing(tmp_path) == ["a.txt"]  # explaining writes nothing


def test_explain_json_matches_the_library(tmp_path: Path, txt: Path, data: bytes) -> None:
    for prefer in ("speed", "balanced", "ratio"):
        proc = run("plugins", "--explain", "a.txt", "--json", "--prefer", prefer, cwd=tmp_path)
        assert proc.returncode == 0, err(proc)
        doc = json.loads(proc.stdout)
        choice = crush.select_plugin(data, prefer=prefer)  # type: ignore[arg-type]
        assert doc["file"] == "a.txt"
        assert doc["plugin"] == choice.plugin.name
        assert doc["reason"] == choice.reason
        assert doc["prefer"] == prefer
        assert (doc["weights"]["throughput"], doc["weights"]["ratio"]) == choice.weights
        assert doc["sample_bytes"] == 4096
        assert [c["plugin"] for c in doc["candidates"]] == [c.plugin for c in choice.candidates]
        for got, want in zip(doc["candidates"], choice.candidates, strict=True):
            assert got["throughput_mb_s"] == want.throughput
            assert got["ratio"] == want.ratio
            assert got["specialist"] == want.specialist
            assert got["score"] == pytest.approx(want.score, abs=1e-6)
    doc = json.loads(run("plugins", "--explain", "a.txt", "--json", cwd=tmp_path,
                         extra_env={"CRUSH_PREFER": "ratio"}).stdout)
    assert doc["plugin"] == crush.select_plugin(data, prefer="ratio").plugin.name


def test_explain_store_stdin_and_errors(tmp_path: Path) -> None:
    gz = b"\x1f\x8b\x08\x00" + bytes(200)
    (tmp_path / "x.gz").write_bytes(gz)
    doc = json.loads(run("plugins", "--explain", "x.gz", "--json", cwd=tmp_path).stdout)
    assert doc["plugin"] == "store"
    assert [c["plugin"] for c in doc["candidates"]] == ["store"]
    assert doc["candidates"][0]["specialist"] is True
    proc = run("plugins", "--explain", "-", cwd=tmp_path, input=gz)
    assert proc.returncode == 0, err(proc)
    assert proc.stdout.decode().startswith("stdin: store\n")
    assert "specialist" in proc.stdout.decode()
    proc = run("plugins", "--explain", "missing.txt", cwd=tmp_path)
    assert proc.returncode == 2 and err(proc).startswith("crush: missing.txt: ")
    proc = run("plugins", "zstd", "--explain", "x.gz", cwd=tmp_path)
    assert proc.returncode == 2 and "not both" in err(proc)
    proc = run("plugins", "--explain", "x.gz", "--prefer", "most", cwd=tmp_path)
    assert proc.returncode == 2 and "invalid preference" in err(proc)
