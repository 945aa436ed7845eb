"""``crush inspect`` and ``crush plugins``: text for people, JSON and CSV that parse."""

from __future__ import annotations

import csv
import io
import json
import os
import zlib
from pathlib import Path

import pytest
from test_cli_helpers import driver
from test_cli_helpers import err
from test_cli_helpers import run
from test_cli_helpers import sample

import crush

MTIME = 1_700_000_000_000_000_000


@pytest.fixture
def files(tmp_path: Path) -> dict[str, bytes]:
    """Write a two-frame file with metadata and a one-frame file without; return contents."""
    first, second = sample(1_500_000, seed=1), sample(1000, seed=2)
    info = crush.FileInfo(name="data.txt", mtime_ns=MTIME, mode=0o640)
    two = crush.compress(first, plugin="zstd", file_info=info) + crush.compress(
        second, plugin="deflate")
    (tmp_path / "two.crush").write_bytes(two)
    (tmp_path / "plain.crush").write_bytes(crush.compress(b"", plugin="lz4"))
    return {"first": first, "second": second, "two": two}


def test_inspect_text(tmp_path: Path, files: dict[str, bytes]) -> None:
    proc = run("inspect", "two.crush", "plain.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    out = proc.stdout.decode()
    assert out.startswith("two.crush:\n  frame 1: ")  # frames as they are read
    assert "\ntwo.crush: zstd, 1.5 MB -> " in out  # then the totals
    assert "2 frames, 3 blocks" in out
    assert "frame 1: plugin zstd (id 0x01), format v1, block size 1,048,576" in out
    assert f"size: {len(files['first']):,} -> " in out
    assert f"content CRC32: {zlib.crc32(files['first']):08x}" in out
    assert f"content CRC32: {zlib.crc32(files['second']):08x}" in out
    assert "stored name: data.txt, mtime: 2023-11-14T22:13:20Z, mode: 0640" in out
    assert "stored name: -, mtime: -, mode: -" in out
    assert "plain.crush: lz4, 0 B -> " in out
    assert proc.stderr == b""


def test_inspect_json(tmp_path: Path, files: dict[str, bytes]) -> None:
    proc = run("inspect", "--json", "two.crush", "plain.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    doc = json.loads(proc.stdout)
    assert [entry["file"] for entry in doc] == ["two.crush", "plain.crush"]
    two = doc[0]
    assert two["plugin"] == "zstd"
    assert two["original_size"] == len(files["first"]) + len(files["second"])
    assert two["compressed_size"] == len(files["two"])
    assert two["blocks"] == 3
    first, second = two["frames"]
    assert first["plugin"] == "zstd" and first["plugin_id"] == 1 and first["compiled_in"]
    assert first["content_crc32"] == f"{zlib.crc32(files['first']):08x}"
    assert len(first["block_crc32"]) == 2
    assert first["block_crc32"][1] == f"{zlib.crc32(files['first'][1 << 20:]):08x}"
    assert (first["name"], first["mtime_ns"], first["mode"], first["mode_octal"]) == (
        "data.txt", MTIME, 0o640, "0640")
    assert first["ratio"] == pytest.approx(first["compressed_size"] / first["original_size"],
                                           abs=1e-6)
    assert second["plugin"] == "deflate" and second["name"] is None
    assert doc[1]["frames"][0]["blocks"] == 0


def test_inspect_csv(tmp_path: Path, files: dict[str, bytes]) -> None:
    proc = run("inspect", "--csv", "two.crush", "plain.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    assert [(r["file"], r["frame"], r["plugin"]) for r in rows] == [
        ("two.crush", "1", "zstd"), ("two.crush", "2", "deflate"), ("plain.crush", "1", "lz4")]
    assert rows[0]["original_size"] == str(len(files["first"]))
    assert rows[0]["content_crc32"] == f"{zlib.crc32(files['first']):08x}"
    assert len(rows[0]["block_crc32"].split()) == 2
    assert (rows[0]["name"], rows[0]["mtime_ns"], rows[0]["mode"]) == ("data.txt", str(MTIME),
                                                                       str(0o640))
    assert rows[1]["name"] == "" and rows[1]["mode"] == ""


def test_inspect_bad_files(tmp_path: Path, files: dict[str, bytes]) -> None:
    (tmp_path / "notes.txt").write_bytes(b"just text")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "dir").mkdir()
    proc = run("inspect", "--json", "notes.txt", "two.crush", "empty", "dir", cwd=tmp_path)
    assert proc.returncode == 2  # a directory is unusable input; the others failed (1)
    assert [e["file"] for e in json.loads(proc.stdout)] == ["two.crush"]
    text = err(proc)
    assert "crush: notes.txt: not crush data" in text
    assert "crush: empty: crush data is truncated" in text
    assert "crush: dir: is a directory" in text
    proc = run("inspect", "notes.txt", cwd=tmp_path)
    assert proc.returncode == 1


def test_inspect_stdin_and_large_file_by_map(tmp_path: Path, files: dict[str, bytes]) -> None:
    proc = run("inspect", "--json", "-", cwd=tmp_path, input=files["two"])
    assert proc.returncode == 0, err(proc)
    assert json.loads(proc.stdout)[0]["file"] == "stdin"
    os.truncate(tmp_path / "two.crush", len(files["two"]) - 3)
    proc = run("inspect", "two.crush", cwd=tmp_path)
    assert proc.returncode == 1 and "truncated" in err(proc)


def test_plugins_table_and_json(tmp_path: Path) -> None:
    proc = run("plugins", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    lines = proc.stdout.decode().splitlines()
    assert lines[0].split()[:3] == ["NAME", "ID", "LEVELS"]
    names = [p.name for p in crush.list_plugins()]
    assert [line.split()[0].rstrip("*") for line in lines[1:1 + len(names)]] == names
    assert "* default plugin" in lines
    doc = json.loads(run("plugins", "--json", cwd=tmp_path).stdout)
    assert [p["name"] for p in doc["plugins"]] == names
    assert sum(p["default"] for p in doc["plugins"]) == 1
    by_name = {p["name"]: p for p in doc["plugins"]}
    assert by_name["lzma"]["timeout_s"] == 120.0  # from plugins.toml
    assert by_name["zstd"]["plugin_id"] == 1
    assert by_name["zstd"]["levels"]["best"] == crush.get_plugin("zstd").metadata.best
    assert all(m["name"] not in by_name for m in doc["not_compiled_in"])


def test_plugins_one(tmp_path: Path) -> None:
    proc = run("plugins", "zstd", cwd=tmp_path)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "name         zstd" in out and "id           0x01" in out and "timeout" in out
    doc = json.loads(run("plugins", "lz4", "--json", cwd=tmp_path).stdout)
    assert doc["name"] == "lz4" and doc["plugin_id"] == 2
    proc = run("plugins", "store", cwd=tmp_path)  # the specialist for incompressible data
    assert proc.returncode == 0, err(proc)
    assert "name         store" in proc.stdout.decode()
    assert "gzip" in proc.stdout.decode() and "high-entropy" in proc.stdout.decode()
    proc = run("plugins", "nosuch", cwd=tmp_path)
    assert proc.returncode == 1
    assert "crush: nosuch: no plugin named 'nosuch' is compiled in" in err(proc)
    # A crush built-in this build leaves out: the message says how to compile it in.
    proc = run(cwd=tmp_path, argv=driver("CompressRaises", "plugins", "zstd"))
    assert proc.returncode == 1
    assert "crush: zstd: no plugin named 'zstd' is compiled in" in err(proc)
    assert "crush built-in" in err(proc) and "plugins.toml" in err(proc)


def test_plugins_follow_crush_timeout(tmp_path: Path) -> None:
    doc = json.loads(run("plugins", "--json", cwd=tmp_path,
                         extra_env={"CRUSH_TIMEOUT": "7"}).stdout)
    by_name = {p["name"]: p for p in doc["plugins"]}
    assert by_name["lzma"]["timeout_s"] == 120.0  # the plugin's own timeout wins
    assert doc["plugins"][0]["timeout_s"] in (7.0, 30.0)


def test_inspect_json_stays_valid_when_a_later_frame_is_damaged(tmp_path: Path) -> None:
    good = crush.compress(b"first frame\n" * 1000, plugin="lz4")
    (tmp_path / "cut.crush").write_bytes(good + good[:-5])
    proc = run("inspect", "--json", "cut.crush", cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)  # frames stream out, and the document still closes
    assert len(doc[0]["frames"]) == 1 and "truncated" in doc[0]["error"]
    assert "crush: cut.crush: crush data is truncated" in err(proc)
