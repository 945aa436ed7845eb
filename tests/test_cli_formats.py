"""The CLI reads every standard format by magic and writes gzip, BGZF and zstd with -F.

Real tools make and check the files (installed with apt by the
``tools`` fixture of test_formats.py when missing).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from test_cli_helpers import run
from test_cli_helpers import sample
from test_formats import tool
from test_formats import tools  # noqa: F401 - the session fixture

DATA = sample(400_000)
MAKERS = {".gz": ["gzip", "-k"], ".zst": ["zstd", "-q", "-k"], ".xz": ["xz", "-k"],
          ".bz2": ["bzip2", "-k"], ".lz4": ["lz4", "-q", "-k"]}


@pytest.mark.parametrize("suffix", sorted(MAKERS))
def test_decompress_by_suffix_writes_the_plain_name(tools: dict[str, str | None],  # noqa: F811
                                                     tmp_path: Path, suffix: str) -> None:
    maker = MAKERS[suffix]
    (tmp_path / "a.txt").write_bytes(DATA)
    args = [tool(tools, maker[0]), *maker[1:], "a.txt"]
    if maker[0] == "lz4":
        args.append("a.txt.lz4")
    subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)
    os.unlink(tmp_path / "a.txt")
    proc = run("-d", f"a.txt{suffix}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a.txt").read_bytes() == DATA
    assert not (tmp_path / f"a.txt{suffix}").exists()


def test_tgz_becomes_tar(tools: dict[str, str | None], tmp_path: Path) -> None:  # noqa: F811
    packed = subprocess.run([tool(tools, "gzip"), "-c"], input=DATA, capture_output=True,
                            check=True).stdout
    (tmp_path / "x.tgz").write_bytes(packed)
    assert run("-d", "x.tgz", cwd=tmp_path).returncode == 0
    assert (tmp_path / "x.tar").read_bytes() == DATA


@pytest.mark.parametrize(("fmt", "suffix", "check"), [
    ("gzip", ".gz", ["gzip", "-t"]), ("bgzf", ".gz", ["bgzip", "-t"]),
    ("zstd", ".zst", ["zstd", "-qt"]),
])
def test_format_flag_writes_what_the_real_tool_accepts(
        tools: dict[str, str | None], tmp_path: Path, fmt: str, suffix: str,  # noqa: F811
        check: list[str]) -> None:
    (tmp_path / "a.txt").write_bytes(DATA)
    proc = run("-F", fmt, "-k", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / f"a.txt{suffix}"
    subprocess.run([tool(tools, check[0]), *check[1:], str(out)], check=True)
    assert run("-t", out.name, cwd=tmp_path).returncode == 0
    assert run("-dc", out.name, cwd=tmp_path).stdout == DATA


def test_gzip_stores_name_and_mtime_like_gzip(tools: dict[str, str | None],  # noqa: F811
                                              tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(DATA)
    os.utime(tmp_path / "a.txt", (1_600_000_000, 1_600_000_000))
    assert run("-F", "gzip", "a.txt", cwd=tmp_path).returncode == 0
    subprocess.run([tool(tools, "gzip"), "-dN", "a.txt.gz"], cwd=tmp_path, check=True)
    assert int((tmp_path / "a.txt").stat().st_mtime) == 1_600_000_000
    assert run("-F", "gzip", "-n", "a.txt", cwd=tmp_path).returncode == 0
    head = (tmp_path / "a.txt.gz").read_bytes()[:10]
    assert head[4:8] == bytes(4)


def test_trailing_garbage_fails(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "a.gz").write_bytes(gzip.compress(DATA) + b"garbage!")
    proc = run("-d", "a.gz", cwd=tmp_path)
    assert proc.returncode != 0
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("fmt", ["gzip", "zstd"])
def test_levels_are_the_formats_own(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "a.txt").write_bytes(DATA)
    sizes = {}
    for flag in ("-1", "-9", "--fast", "--best"):
        proc = run("-F", fmt, flag, "-c", "a.txt", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        sizes[flag] = len(proc.stdout)
    assert sizes["-1"] == sizes["--fast"]
    assert sizes["-9"] == sizes["--best"]
    proc = run("-F", fmt, "-L", "99", "-c", "a.txt", cwd=tmp_path)
    assert proc.returncode != 0
    assert b"not a level of the" in proc.stderr


def test_format_and_method_together_are_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(DATA)
    proc = run("-F", "gzip", "-m", "zstd", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2
    assert b"drop -m" in proc.stderr
    assert not (tmp_path / "a.txt.gz").exists()
