"""crush speaks gzip and pigz: each flag does what those tools do with it, on the same input.

Every test runs the real gzip or pigz next to crush in the same directory
layout and compares the outcome (files made or removed, names, what is
printed, exit status). pigz is installed with apt when missing (a
session-scoped fixture); the tests skip only when that is impossible.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import apt_packages
import pytest
from test_cli_helpers import command
from test_cli_helpers import env
from test_cli_helpers import err
from test_cli_helpers import listing
from test_cli_helpers import run
from test_cli_helpers import sample

import crush


@pytest.fixture(scope="session")
def pigz() -> str:
    """Return the pigz executable, installing it with apt when missing."""
    found = shutil.which("pigz")
    if found is None:
        apt_packages.install("pigz")
        found = shutil.which("pigz")
    if found is None:
        pytest.skip("pigz is not installed and apt-get could not install it")
    return found


@pytest.fixture(scope="session")
def gzip() -> str:
    """Return the gzip executable (skip without one)."""
    found = shutil.which("gzip")
    if found is None:
        pytest.skip("gzip is not installed")
    return found


def tool(argv: Sequence[str], cwd: Path, input: bytes | None = None
         ) -> subprocess.CompletedProcess[bytes]:
    """Run gzip or pigz *argv* in *cwd*."""
    return subprocess.run(list(argv), cwd=cwd, input=input, capture_output=True, check=False,
                          timeout=120, stdin=None if input is not None else subprocess.DEVNULL)


def twin(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, Path]:
    """Return two directories holding the same *files*: one for gzip/pigz, one for crush."""
    dirs = (tmp_path / "theirs", tmp_path / "ours")
    for directory in dirs:
        directory.mkdir()
        for name, content in files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(content)
    return dirs


def ours(names: list[str], suffix: str = ".gz", into: str = ".crush") -> list[str]:
    """Return gzip's file names with crush's suffix."""
    return [n[: -len(suffix)] + into if n.endswith(suffix) else n for n in names]


DATA = sample(300_000)


def test_numeric_levels(tmp_path: Path, pigz: str) -> None:
    # -1 .. -9 are levels, never file names; for deflate they are zlib's own levels.
    theirs, mine = twin(tmp_path, {"f": DATA})
    sizes: dict[str, list[int]] = {"pigz": [], "crush": []}
    for level in ("-1", "-9"):
        assert tool([pigz, "-c", level, "f"], theirs).returncode == 0
        sizes["pigz"].append(len(tool([pigz, "-c", level, "f"], theirs).stdout))
        proc = run("-nc", "-m", "deflate", level, "f", cwd=mine)
        assert proc.returncode == 0, err(proc)
        assert proc.stdout == crush.compress(DATA, plugin="deflate", level=int(level[1:]))
        sizes["crush"].append(len(proc.stdout))
    assert sizes["pigz"][0] > sizes["pigz"][1] and sizes["crush"][0] > sizes["crush"][1]
    # Combined with other short flags, and without -m: the presets.
    assert run("-9k", "f", cwd=mine).returncode == 0
    assert tool([pigz, "-9k", "f"], theirs).returncode == 0
    assert ours(listing(theirs)) == listing(mine) == ["f", "f.crush"]
    for digit, preset in (("-1", "fast"), ("-5", "balanced"), ("-9", "best")):
        shorthand = run("-nc", digit, "f", cwd=mine).stdout
        assert shorthand == run("-nc", "-L", preset, "f", cwd=mine).stdout
    assert run("-nc", "-9", "f", cwd=mine).stdout != run("-nc", "f", cwd=mine).stdout
    # store has no level 9: the preset stands in.
    assert run("-nc", "-m", "store", "-9", "f", cwd=mine).returncode == 0


def test_fast_and_best(tmp_path: Path, gzip: str) -> None:
    theirs, mine = twin(tmp_path, {"f": DATA})
    for flag in ("--fast", "--best"):
        assert tool([gzip, "-c", flag, "f"], theirs).returncode == 0
        proc = run("-nc", "-m", "zstd", flag, "f", cwd=mine)
        assert proc.stdout == crush.compress(DATA, plugin="zstd", level=flag[2:])
    assert listing(theirs) == listing(mine) == ["f"]


def test_processes_is_the_thread_count(tmp_path: Path, pigz: str) -> None:
    theirs, mine = twin(tmp_path, {"f": DATA})
    one = run("-c", "-m", "zstd", "-p", "1", "f", cwd=mine)
    two = run("-c", "-m", "zstd", "--processes", "2", "f", cwd=mine)
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout  # blocks are independent: threads never change the bytes
    assert tool([pigz, "-c", "-p", "2", "f"], theirs).returncode == 0
    # A plugin name where pigz wants a number is an error in both, and harms nothing.
    assert tool([pigz, "-p", "zstd", "f"], theirs).returncode != 0
    proc = run("-p", "zstd", "f", cwd=mine)
    assert proc.returncode == 2 and "thread count" in err(proc)
    assert listing(theirs) == listing(mine) == ["f"]


def test_list(tmp_path: Path, gzip: str) -> None:
    theirs, mine = twin(tmp_path, {"a.txt": DATA, "b.txt": DATA[:1000]})
    assert tool([gzip, "a.txt", "b.txt"], theirs).returncode == 0
    assert run("a.txt", "b.txt", cwd=mine).returncode == 0
    expected = tool([gzip, "-l", "a.txt.gz", "b.txt.gz"], theirs).stdout.decode().splitlines()
    proc = run("-l", "a.txt.crush", "b.txt.crush", cwd=mine)
    assert proc.returncode == 0, err(proc)
    got = proc.stdout.decode().splitlines()
    assert got[0] == expected[0]  # the same header, the same columns
    assert [line.split()[-1] for line in got] == [line.split()[-1] for line in expected]
    sizes = [(int(line.split()[0]), int(line.split()[1])) for line in got[1:3]]
    assert sizes == [((mine / f"{n}.txt.crush").stat().st_size, len(c))
                     for n, c in (("a", DATA), ("b", DATA[:1000]))]
    ratio = re.compile(r"^ *\d+ +\d+ +-?\d+\.\d% ")
    assert all(ratio.match(line) for line in got[1:])
    # stdin, as gzip -l < FILE
    piped = run("-l", cwd=mine, input=(mine / "a.txt.crush").read_bytes())
    assert piped.returncode == 0 and piped.stdout.decode().splitlines()[1].split()[1] == "300000"


def test_recursive(tmp_path: Path, gzip: str) -> None:
    tree = {"d/a": DATA[:500], "d/sub/b": DATA[:700], "d/sub/deeper/c": b"c"}
    theirs, mine = twin(tmp_path, tree)
    assert tool([gzip, "-r", "d"], theirs).returncode == 0
    proc = run("-r", "d", cwd=mine)
    assert proc.returncode == 0, err(proc)

    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    assert ours(files(theirs)) == files(mine)
    assert tool([gzip, "-dr", "d"], theirs).returncode == 0
    assert run("-dr", "d", cwd=mine).returncode == 0
    assert files(theirs) == files(mine) == sorted(tree)
    assert (mine / "d/sub/b").read_bytes() == DATA[:700]


def test_suffix(tmp_path: Path, gzip: str) -> None:
    theirs, mine = twin(tmp_path, {"f": DATA})
    assert tool([gzip, "-S", ".z", "f"], theirs).returncode == 0
    assert run("-S", ".z", "f", cwd=mine).returncode == 0
    assert listing(theirs) == listing(mine) == ["f.z"]
    assert tool([gzip, "-d", "-S", ".z", "f.z"], theirs).returncode == 0
    assert run("-d", "-S", ".z", "f.z", cwd=mine).returncode == 0
    assert listing(theirs) == listing(mine) == ["f"]
    assert (mine / "f").read_bytes() == DATA


def test_no_name_gives_identical_bytes(tmp_path: Path, gzip: str) -> None:
    theirs, mine = twin(tmp_path, {"f": DATA})
    outputs: dict[str, list[bytes]] = {"gzip": [], "crush": []}
    for stamp in (1_000_000_000, 1_500_000_000):
        for directory in (theirs, mine):
            os.utime(directory / "f", (stamp, stamp))
        outputs["gzip"].append(tool([gzip, "-n", "-c", "f"], theirs).stdout)
        outputs["crush"].append(run("-n", "-c", "-m", "zstd", "f", cwd=mine).stdout)
    assert outputs["gzip"][0] == outputs["gzip"][1]
    assert outputs["crush"][0] == outputs["crush"][1]
    (mine / "g").write_bytes(DATA)  # another name, same content: the same bytes
    assert run("-n", "-c", "-m", "zstd", "g", cwd=mine).stdout == outputs["crush"][0]
    info = crush.inspect(outputs["crush"][0]).frames[0].info
    assert info == crush.FileInfo()
    # Without -n the name and mtime are stored, as gzip does.
    assert crush.inspect(run("-c", "f", cwd=mine).stdout).frames[0].info.name == "f"


def test_restore_name(tmp_path: Path, gzip: str) -> None:
    theirs, mine = twin(tmp_path, {"orig.txt": DATA})
    assert tool([gzip, "orig.txt"], theirs).returncode == 0
    assert run("orig.txt", cwd=mine).returncode == 0
    (theirs / "orig.txt.gz").rename(theirs / "renamed.gz")
    (mine / "orig.txt.crush").rename(mine / "renamed.crush")
    assert tool([gzip, "-dN", "renamed.gz"], theirs).returncode == 0
    proc = run("-dN", "renamed.crush", cwd=mine)
    assert proc.returncode == 0, err(proc)
    assert listing(theirs) == listing(mine) == ["orig.txt"]
    assert (mine / "orig.txt").read_bytes() == DATA


@pytest.mark.parametrize("stored", ["../escape", "/etc/passwd", "a/b", "..", "."])
def test_restore_name_refuses_paths(tmp_path: Path, stored: str) -> None:
    (tmp_path / "in").mkdir()
    packed = crush.compress(b"x", file_info=crush.FileInfo(name=stored))
    (tmp_path / "in" / "evil.crush").write_bytes(packed)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    proc = run("-dN", "evil.crush", cwd=tmp_path / "in")
    assert proc.returncode == 1 and "not a plain file name" in err(proc)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_quiet_by_default(tmp_path: Path, gzip: str) -> None:
    theirs, mine = twin(tmp_path, {"f": DATA})
    assert tool([gzip, "f"], theirs).stderr == b""
    proc = run("f", cwd=mine)
    assert proc.returncode == 0 and proc.stderr == b"" and proc.stdout == b""
    assert tool([gzip, "-d", "f.gz"], theirs).stderr == b""
    assert run("-d", "f.crush", cwd=mine).stderr == b""
    verbose = run("-v", "f", cwd=mine)
    assert verbose.stderr.decode().startswith("f -> f.crush  ")


def test_closed_pipe(tmp_path: Path, gzip: str) -> None:
    big = sample(8 << 20)
    theirs, mine = twin(tmp_path, {"f": big})
    assert tool([gzip, "f"], theirs).returncode == 0
    assert run("f", cwd=mine).returncode == 0
    for argv, cwd in (([gzip, "-dc", "f.gz"], theirs),
                      (command("-dc", "f.crush"), mine)):
        reader = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL)
        proc = subprocess.run(argv, cwd=cwd, stdout=reader.stdin, stderr=subprocess.PIPE,
                              env=env(), check=False, timeout=120)
        assert reader.stdin is not None
        reader.stdin.close()
        reader.wait(timeout=30)
        assert proc.stderr == b"", (argv, proc.stderr)


def test_dash_dash_and_dash_name(tmp_path: Path, gzip: str) -> None:
    theirs, mine = twin(tmp_path, {})
    (theirs / "-.gz").write_bytes(tool([gzip, "-c"], theirs, input=b"dash\n").stdout)
    (mine / "-.crush").write_bytes(crush.compress(b"dash\n"))
    assert tool([gzip, "-d", "--", "-.gz"], theirs).returncode == 0
    assert run("-d", "--", "-.crush", cwd=mine).returncode == 0
    assert listing(theirs) == listing(mine) == ["-"]
    assert (mine / "-").read_bytes() == b"dash\n"


def test_test_and_list_read_stdin(tmp_path: Path, gzip: str) -> None:
    packed_gz = tool([gzip, "-c"], tmp_path, input=DATA).stdout
    packed = crush.compress(DATA)
    assert tool([gzip, "-t"], tmp_path, input=packed_gz).returncode == 0
    assert run("-t", cwd=tmp_path, input=packed).returncode == 0
    assert run("test", cwd=tmp_path, input=packed).returncode == 0
    assert run("test", "-", cwd=tmp_path, input=packed).returncode == 0
    assert run("inspect", cwd=tmp_path, input=packed).stdout.startswith(b"stdin:")
    assert run("-t", cwd=tmp_path, input=packed[:-3]).returncode == 1


def test_keep_and_output(tmp_path: Path, gzip: str) -> None:
    theirs, mine = twin(tmp_path, {"f": DATA})
    assert tool([gzip, "-k", "f"], theirs).returncode == 0
    assert run("-k", "f", cwd=mine).returncode == 0
    assert ours(listing(theirs)) == listing(mine) == ["f", "f.crush"]
    # -o keeps the input, as zstd -o does; --rm removes it, as zstd --rm.
    assert run("-o", "out.crush", "f", cwd=mine).returncode == 0
    assert listing(mine) == ["f", "f.crush", "out.crush"]
    if shutil.which("zstd"):
        assert tool(["zstd", "-q", "-o", "out.zst", "f"], theirs).returncode == 0
        assert "f" in listing(theirs)
    assert run("--rm", "-f", "-o", "out.crush", "f", cwd=mine).returncode == 0
    assert listing(mine) == ["f.crush", "out.crush"]
