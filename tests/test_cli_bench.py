"""``crush bench``: the table, JSON that parses, presets and native levels, the plot.

The subprocess tests measure small files with ``-r 1`` so they stay quick;
they check what was measured and how it is reported, not the speeds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_cli_helpers import err
from test_cli_helpers import listing
from test_cli_helpers import run
from test_cli_helpers import sample

import crush
from crush.cli.bench import Setting
from crush.cli.bench import pareto
from crush.cli.bench import plan
from crush.cli.corpus import KINDS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

NO_MATPLOTLIB = """
import sys
sys.modules["matplotlib"] = None  # any import of it now raises ImportError
from crush.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def data() -> bytes:
    return sample(200_000)


@pytest.fixture
def txt(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    return path


def test_table(tmp_path: Path, txt: Path) -> None:
    proc = run("bench", "-m", "lz4,zstd", "-L", "fast", "-r", "1", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith("crush bench: 1 file, 200.0 kB, 1 thread, median of 1 run")
    assert lines[1].split() == ["PLUGIN", "LEVEL", "RATIO", "COMPRESS", "DECOMPRESS", "SIZE"]
    rows = [line.split() for line in lines[2:4]]
    fast = {name: crush.get_plugin(name).metadata.fast for name in ("lz4", "zstd")}
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("lz4", str(fast["lz4"]), "(fast)"), ("zstd", str(fast["zstd"]), "(fast)")]
    for r in rows:
        assert 0 < float(r[3]) < 1
        assert r[5] == "MB/s" and r[7] == "MB/s"
    assert lines[4].startswith("Pareto front")
    assert len(lines) == 5
    assert proc.stderr == b""
    assert listing(tmp_path) == ["a.txt"]


def test_json(tmp_path: Path, txt: Path, data: bytes) -> None:
    (tmp_path / "b.txt").write_bytes(sample(50_000, seed=3))
    proc = run("bench", "-m", "lz4", "-m", "zstd", "-L", "fast", "--json", "-r", "2",
               "a.txt", "b.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    doc = json.loads(proc.stdout)
    assert doc["inputs"] == [{"name": "a.txt", "size": len(data)},
                             {"name": "b.txt", "size": 50_000}]
    assert doc["sample_corpus"] is False
    assert doc["total_size"] == len(data) + 50_000
    assert doc["threads"] == 1 and doc["runs"] == 2
    assert {"python", "cpus", "machine"} <= set(doc["machine"])
    assert [(r["plugin"], r["level"], r["presets"]) for r in doc["results"]] == [
        ("lz4", crush.get_plugin("lz4").metadata.fast, ["fast"]),
        ("zstd", crush.get_plugin("zstd").metadata.fast, ["fast"])]
    for r in doc["results"]:
        assert set(r) >= {"ratio", "compress_mb_s", "decompress_mb_s", "compressed_size",
                          "original_size", "runs", "pareto", "files"}
        assert r["compress_mb_s"] > 0 and r["decompress_mb_s"] > 0
        assert r["runs"] == {"compress": 2, "decompress": 2}
        # The same bytes the library makes with one thread.
        sizes = [len(crush.compress(content, plugin=r["plugin"], level=r["level"], threads=1))
                 for content in (data, (tmp_path / "b.txt").read_bytes())]
        assert [f["compressed_size"] for f in r["files"]] == sizes
        assert r["compressed_size"] == sum(sizes)
        assert r["ratio"] == pytest.approx(sum(sizes) / doc["total_size"], abs=1e-6)
    assert any(r["pareto"] for r in doc["results"])
    # The table still shows, on stderr.
    assert "PLUGIN" in err(proc) and "Pareto front" in err(proc)
    assert "PLUGIN" not in run("bench", "-q", "-m", "lz4", "-L", "fast", "-r", "1", "--json",
                               "a.txt", cwd=tmp_path).stderr.decode()


def test_presets_deduplicated_and_native_levels(tmp_path: Path, txt: Path) -> None:
    proc = run("bench", "-m", "store", "-r", "1", "--json", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    (only,) = json.loads(proc.stdout)["results"]
    assert (only["plugin"], only["level"], only["presets"]) == ("store", 0,
                                                                ["fast", "balanced", "best"])
    assert only["ratio"] >= 1.0
    proc = run("bench", "-m", "zstd", "-L", "1,3,best", "-r", "1", "--json", "a.txt",
               cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    results = json.loads(proc.stdout)["results"]
    best = crush.get_plugin("zstd").metadata.best
    assert [(r["level"], r["presets"]) for r in results] == [(1, []), (3, []), (best, ["best"])]


def test_default_is_every_plugin_on_the_sample_corpus(tmp_path: Path) -> None:
    # Only the cheap store plugin, so the sample corpus is all that costs time.
    proc = run("bench", "-m", "store", "-r", "1", "--json", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    doc = json.loads(proc.stdout)
    assert doc["sample_corpus"] is True
    assert [i["name"] for i in doc["inputs"]] == list(KINDS)
    assert "the sample corpus" in doc["title"]
    names = [p.name for p in crush.list_plugins()]
    settings = plan(names, ("fast", "balanced", "best"), None)
    assert [s.plugin for s in settings] == sorted(
        (s.plugin for s in settings), key=names.index)
    assert {s.plugin for s in settings} == set(names)
    assert len({(s.plugin, s.level) for s in settings}) == len(settings)


def test_usage_errors(tmp_path: Path, txt: Path) -> None:
    proc = run("bench", "-L", "3", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2
    assert "-L 3 is a native level" in err(proc) and "-m" in err(proc)
    assert "crush bench --help" in err(proc)
    proc = run("bench", "-m", "lz4", "-L", "99", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "out of range for lz4" in err(proc)
    proc = run("bench", "-m", "nosuch", "a.txt", cwd=tmp_path)
    assert proc.returncode == 1 and "no plugin named 'nosuch'" in err(proc)
    proc = run("bench", "-r", "0", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "invalid run count" in err(proc)
    proc = run("bench", "-m", "lz4", "missing.bin", cwd=tmp_path)
    assert proc.returncode == 2 and "crush: missing.bin" in err(proc)
    (tmp_path / "empty").write_bytes(b"")
    proc = run("bench", "-m", "lz4", "empty", cwd=tmp_path)
    assert proc.returncode == 2 and "nothing to measure" in err(proc)
    assert proc.stdout == b""


def test_plot_writes_a_png(tmp_path: Path, txt: Path) -> None:
    pytest.importorskip("matplotlib")
    proc = run("bench", "-m", "lz4,zstd,store", "-L", "fast,best", "-r", "1", "--plot",
               "out.png", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert "plot written to out.png" in err(proc)
    picture = (tmp_path / "out.png").read_bytes()
    assert picture.startswith(PNG_MAGIC)
    assert 10_000 < len(picture) < 300_000


def test_plot_without_matplotlib_is_a_clear_error(tmp_path: Path, txt: Path) -> None:
    argv = [sys.executable, "-c", NO_MATPLOTLIB, "bench", "--plot", "out.png", "a.txt"]
    proc = run(cwd=tmp_path, argv=argv, timeout=30)
    assert proc.returncode == 1
    lines = err(proc).splitlines()
    assert lines == ["crush: --plot needs matplotlib, which is not installed: "
                     "pip install 'crush[plot]'"]
    assert proc.stdout == b""  # checked before measuring anything
    assert listing(tmp_path) == ["a.txt"]


# ----------------------------------------------------------------------------- in process


def test_pareto_front() -> None:
    assert pareto([(100.0, 0.5)]) == [True]
    points = [(500.0, 0.50), (300.0, 0.36), (30.0, 0.35), (20.0, 0.36), (300.0, 0.36),
              (5.0, 0.30), (4.0, 0.30), (400.0, 0.60)]
    assert pareto(points) == [True, True, True, False, True, True, False, False]


def test_plan_merges_presets_that_share_a_level() -> None:
    store = crush.get_plugin("store").metadata
    assert plan(["store"], ("fast", "balanced", "best"), None) == [
        Setting("store", store.fast, ("fast", "balanced", "best"))]
    zstd = crush.get_plugin("zstd").metadata
    assert plan(["zstd"], (zstd.best, "best", 1), None) == [
        Setting("zstd", 1, ()), Setting("zstd", zstd.best, ("best",))]
    with pytest.raises(crush.ConfigError):
        plan(["lz4"], (99,), None)
