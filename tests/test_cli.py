"""The crush command line: commands, naming, pipelines, options, messages, exit statuses.

Every test runs ``python -m crush`` as a subprocess on real files in a
temporary directory (see test_cli_helpers.py). File safety, terminals and
signals have their own modules: test_cli_files.py, test_cli_signals.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_helpers import env
from test_cli_helpers import err
from test_cli_helpers import listing
from test_cli_helpers import run
from test_cli_helpers import sample

import crush
from crush.cli import main

LINE = re.compile(r"^(\S+) -> (\S+)  (\d+\.\d) %  (\w+)  ([\d.]+) MB/s$")


@pytest.fixture
def data() -> bytes:
    return sample(300_000)


@pytest.fixture
def txt(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- basics


def test_version_and_help(tmp_path: Path) -> None:
    for flag in ("--version", "-V"):
        proc = run(flag, cwd=tmp_path)
        assert proc.returncode == 0
        assert proc.stdout.decode().strip() == f"crush {crush.__version__}"
    proc = run("--help", cwd=tmp_path)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    for word in ("compress", "decompress", "test", "inspect", "plugins", "bench", "-k, --keep",
                 "--prefer", "--explain", "CRUSH_PLUGIN", "CRUSH_PREFER", "130/143"):
        assert word in out
    for command in ("compress", "decompress", "test", "inspect", "plugins", "bench"):
        sub = run(command, "--help", cwd=tmp_path)
        assert sub.returncode == 0, err(sub)
        assert f"crush {command}" in sub.stdout.decode()


def test_version_and_help_import_nothing_heavy(tmp_path: Path) -> None:
    for flag in ("--version", "--help"):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "crush", flag], cwd=tmp_path,
            env=env(), capture_output=True, check=True,
        )
        imported = {line.rsplit("|", 1)[-1].strip() for line in err(proc).splitlines()}
        # (--help lets argparse import shutil, which imports the stdlib's bz2 and lzma.)
        for heavy in ("tqdm", "zstandard", "lz4", "brotli", "json", "csv", "mmap", "tomllib",
                      "matplotlib", "crush.cli.commands", "crush.cli.report", "crush.cli.files",
                      "crush.cli.bench", "crush.cli.plot", "crush.cli.corpus"):
            assert heavy not in imported, f"{flag} imported {heavy}"


def test_main_in_process_returns_status() -> None:
    assert main(["--version"]) == 0
    assert main(["compress", "--no-such-flag"]) == 2


def test_usage_errors_exit_2(tmp_path: Path, txt: Path) -> None:
    cases = [
        ("--no-such-flag",),
        ("-L", "superfast", txt.name),
        ("-T", "-3", txt.name),
        ("--timeout", "soon", txt.name),
        ("-o", "x", "-c", txt.name),
        ("-o", "x", txt.name, txt.name),
        ("inspect", "--json", "--csv", txt.name),
    ]
    for args in cases:
        proc = run(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, err(proc))
        assert err(proc).startswith("crush: "), args
        assert "Traceback" not in err(proc)
    assert listing(tmp_path) == ["a.txt"]


# ----------------------------------------------------------------------------- naming


def test_compress_then_decompress_replaces_files(tmp_path: Path, txt: Path, data: bytes) -> None:
    proc = run("compress", "-v", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert listing(tmp_path) == ["a.txt.crush"]
    assert crush.decompress((tmp_path / "a.txt.crush").read_bytes()) == data
    match = LINE.match(err(proc).splitlines()[0])  # then -v says why that plugin
    assert match, err(proc)
    assert match.group(1, 2) == ("a.txt", "a.txt.crush")
    size = (tmp_path / "a.txt.crush").stat().st_size
    assert float(match.group(3)) == pytest.approx(100 * size / len(data), abs=0.06)
    # No -p: the plugin automatic selection picks for these bytes (see test_cli_select.py).
    assert match.group(4) == crush.select_plugin(data).plugin.name
    assert crush.inspect((tmp_path / "a.txt.crush").read_bytes()).plugin == match.group(4)

    proc = run("decompress", "-v", "a.txt.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert listing(tmp_path) == ["a.txt"]
    assert txt.read_bytes() == data
    assert LINE.match(err(proc).strip()).group(1, 2) == ("a.txt.crush", "a.txt")  # type: ignore[union-attr]


def test_gzip_style_short_forms(tmp_path: Path, txt: Path, data: bytes) -> None:
    assert run("a.txt", cwd=tmp_path).returncode == 0
    assert listing(tmp_path) == ["a.txt.crush"]
    proc = run("-tv", "a.txt.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert "a.txt.crush: OK" in err(proc)
    assert run("-d", "a.txt.crush", cwd=tmp_path).returncode == 0
    assert txt.read_bytes() == data


def test_keep(tmp_path: Path, txt: Path, data: bytes) -> None:
    assert run("-k", "a.txt", cwd=tmp_path).returncode == 0
    assert listing(tmp_path) == ["a.txt", "a.txt.crush"]
    txt.unlink()
    assert run("-d", "--keep", "a.txt.crush", cwd=tmp_path).returncode == 0
    assert listing(tmp_path) == ["a.txt", "a.txt.crush"]
    assert txt.read_bytes() == data


def test_decompress_needs_suffix_or_output(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "blob.bin").write_bytes(crush.compress(data))
    proc = run("-d", "blob.bin", cwd=tmp_path)
    assert proc.returncode == 2
    assert "crush: blob.bin: does not end in .crush" in err(proc)
    assert "-o PATH" in err(proc) and "-c" in err(proc)
    assert listing(tmp_path) == ["blob.bin"]
    (tmp_path / ".crush").write_bytes(crush.compress(data))
    assert run("-d", ".crush", cwd=tmp_path).returncode == 2  # would have an empty name
    assert run("-d", "-o", "out", "blob.bin", cwd=tmp_path).returncode == 0
    assert (tmp_path / "out").read_bytes() == data
    assert (tmp_path / "blob.bin").exists()  # -o keeps the input, as zstd
    assert run("-d", "-f", "--rm", "-o", "out", "blob.bin", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "blob.bin").exists()
    proc = run("-dc", ".crush", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == data


def test_compress_refuses_crush_suffix_without_force(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "x.crush").write_bytes(data)
    proc = run("x.crush", cwd=tmp_path)
    assert proc.returncode == 2
    assert "already has the .crush suffix" in err(proc)
    assert run("-f", "x.crush", cwd=tmp_path).returncode == 0
    assert listing(tmp_path) == ["x.crush.crush"]


def test_output_option(tmp_path: Path, txt: Path, data: bytes) -> None:
    (tmp_path / "sub").mkdir()
    proc = run("-v", "-o", "sub/out.bin", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert "a.txt -> sub/out.bin" in err(proc)
    assert crush.decompress((tmp_path / "sub" / "out.bin").read_bytes()) == data
    proc = run("-k", "-o", "-", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0 and crush.decompress(proc.stdout) == data
    proc = run("-k", "-o", "sub", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "is a directory" in err(proc)


# ----------------------------------------------------------------------------- pipelines


def test_stdin_to_stdout_both_ways(tmp_path: Path, data: bytes) -> None:
    packed = run("-v", cwd=tmp_path, input=data)
    assert packed.returncode == 0, err(packed)
    assert crush.decompress(packed.stdout) == data
    assert "stdin -> stdout" in err(packed)
    unpacked = run("-d", cwd=tmp_path, input=packed.stdout)
    assert unpacked.returncode == 0 and unpacked.stdout == data
    again = run("decompress", "-", cwd=tmp_path, input=packed.stdout)
    assert again.stdout == data
    assert listing(tmp_path) == []


def test_pipeline_through_a_shell(tmp_path: Path, txt: Path, data: bytes) -> None:
    cmd = f"{sys.executable} -m crush -c a.txt | {sys.executable} -m crush -d > back.txt"
    proc = subprocess.run(cmd, shell=True, cwd=tmp_path, env=env(),
                          capture_output=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "back.txt").read_bytes() == data
    assert txt.exists()  # -c keeps the input


def test_stdout_with_several_files_concatenates(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"first\n")
    (tmp_path / "y").write_bytes(b"second\n")
    proc = run("-c", "-q", "x", "y", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == b""
    assert crush.decompress(proc.stdout) == b"first\nsecond\n"
    assert [f.info.name for f in crush.inspect(proc.stdout).frames] == ["x", "y"]
    assert listing(tmp_path) == ["x", "y"]


def test_stdin_compress_to_output_file(tmp_path: Path, data: bytes) -> None:
    proc = run("-o", "piped.crush", cwd=tmp_path, input=data)
    assert proc.returncode == 0, err(proc)
    frame = crush.inspect((tmp_path / "piped.crush").read_bytes()).frames[0]
    assert frame.info == crush.FileInfo()  # stdin has no name, mtime or mode
    mode = (tmp_path / "piped.crush").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


# ----------------------------------------------------------------------------- options


def test_plugin_and_level_flags(tmp_path: Path, txt: Path, data: bytes) -> None:
    for plugin in ("zstd", "lz4", "bz2"):
        proc = run("-cv", "-m", plugin, "-L", "best", "a.txt", cwd=tmp_path)
        assert proc.returncode == 0, err(proc)
        assert crush.inspect(proc.stdout).plugin == plugin
        assert f"  {plugin}  " in err(proc)
    fast = run("-c", "-m", "zstd", "--fast", "a.txt", cwd=tmp_path).stdout
    best = run("-c", "-m", "zstd", "--best", "a.txt", cwd=tmp_path).stdout
    native = run("-c", "-m", "zstd", "-L", "19", "a.txt", cwd=tmp_path).stdout
    assert best == native != fast
    proc = run("-c", "-m", "zstd", "-L", "99", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "out of range for zstd" in err(proc)
    proc = run("-c", "-m", "nosuch", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "no plugin named 'nosuch'" in err(proc)


def test_environment_defaults_and_flags_win(tmp_path: Path, txt: Path) -> None:
    plain = run("-c", "-m", "zstd", "-L", "best", "a.txt", cwd=tmp_path).stdout
    env = {"CRUSH_PLUGIN": "zstd", "CRUSH_LEVEL": "best", "CRUSH_THREADS": "1",
           "CRUSH_TIMEOUT": "60"}
    proc = run("-c", "a.txt", cwd=tmp_path, extra_env=env)
    assert proc.returncode == 0, err(proc)
    assert proc.stdout == plain
    proc = run("-c", "-m", "lz4", "-L", "fast", "a.txt", cwd=tmp_path, extra_env=env)
    assert crush.inspect(proc.stdout).plugin == "lz4"
    for key, bad in (("CRUSH_THREADS", "many"), ("CRUSH_LEVEL", "max"),
                     ("CRUSH_TIMEOUT", "soon"), ("CRUSH_TIMEOUT", "-1")):
        proc = run("-c", "a.txt", cwd=tmp_path, extra_env={key: bad})
        assert proc.returncode == 2, (key, bad)
        assert key in err(proc)
    proc = run("-c", "a.txt", cwd=tmp_path, extra_env={"CRUSH_PLUGIN": "nosuch"})
    assert proc.returncode == 2 and "nosuch" in err(proc)  # a configuration error


def test_threads_and_timeout_flags(tmp_path: Path, txt: Path, data: bytes) -> None:
    for threads in ("1", "2", "0"):
        proc = run("-c", "-T", threads, "--timeout", "0", "a.txt", cwd=tmp_path)
        assert proc.returncode == 0, err(proc)
        assert crush.decompress(proc.stdout) == data


def test_quiet_and_verbose(tmp_path: Path, txt: Path) -> None:
    proc = run("-q", "-k", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == b""
    (tmp_path / "bad.crush").write_bytes(b"CR garbage")
    proc = run("-q", "-d", "bad.crush", cwd=tmp_path)
    assert proc.returncode == 1
    lines = err(proc).splitlines()
    assert len(lines) == 1 and lines[0].startswith("crush: bad.crush: ")
    proc = run("-v", "-d", "bad.crush", cwd=tmp_path)
    assert "Traceback" not in err(proc)
    proc = run("-vv", "-d", "bad.crush", cwd=tmp_path)
    assert "Traceback" in err(proc)
    assert err(proc).splitlines()[-1].startswith("crush: bad.crush: ")


# ----------------------------------------------------------------------------- several files


def test_several_files_one_bad(tmp_path: Path) -> None:
    contents = {name: sample(50_000, seed=i) for i, name in enumerate(["a", "c"])}
    for name, content in contents.items():
        (tmp_path / f"{name}.crush").write_bytes(crush.compress(content))
    (tmp_path / "b.crush").write_bytes(crush.compress(b"x" * 5000)[:-5])  # truncated
    proc = run("-dc", "a.crush", "b.crush", "missing.crush", "c.crush", cwd=tmp_path)
    assert proc.returncode == 2  # the worst status wins: a missing input
    # With -c, what a damaged file decoded before the damage may reach stdout (as with gzip).
    assert proc.stdout.startswith(contents["a"]) and proc.stdout.endswith(contents["c"])
    proc = run("-dv", "a.crush", "b.crush", "c.crush", cwd=tmp_path)
    assert proc.returncode == 1, err(proc)
    assert listing(tmp_path) == ["a", "b.crush", "c"]
    for name, content in contents.items():
        assert (tmp_path / name).read_bytes() == content
    text = err(proc)
    assert "crush: b.crush: crush data is truncated" in text
    assert "copy or download it again" in text
    assert text.strip().splitlines()[-1].startswith("3 files: ")
    assert text.strip().endswith("; 1 failed")


def test_summary_line(tmp_path: Path) -> None:
    for name in ("x", "y", "z"):
        (tmp_path / name).write_bytes(sample(10_000))
    proc = run("-kv", "-m", "zstd", "x", "y", "z", cwd=tmp_path)
    lines = err(proc).strip().splitlines()
    assert len(lines) == 4
    assert all(LINE.match(line) for line in lines[:3])
    assert re.match(r"^3 files: [\d.]+ kB -> [\d.]+ kB  \d+\.\d %  [\d.]+ MB/s$", lines[3])


# ----------------------------------------------------------------------------- metadata


def test_mtime_and_mode_stored_and_restored(tmp_path: Path, txt: Path, data: bytes) -> None:
    mtime = 1_500_000_000_123_456_789
    txt.chmod(0o640)
    os.utime(txt, ns=(mtime, mtime))
    assert run("a.txt", cwd=tmp_path).returncode == 0
    packed = tmp_path / "a.txt.crush"
    info = crush.inspect(packed.read_bytes()).frames[0].info
    assert info == crush.FileInfo(name="a.txt", mtime_ns=mtime, mode=0o640)
    assert packed.stat().st_mode & 0o777 == 0o640  # like gzip: the mode carries over
    # Change the compressed file's own metadata: decompress must use the stored one.
    packed.chmod(0o600)
    os.utime(packed, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
    assert run("-d", "a.txt.crush", cwd=tmp_path).returncode == 0
    st = txt.stat()
    assert st.st_mode & 0o777 == 0o640
    assert st.st_mtime_ns == mtime
    assert txt.read_bytes() == data


def test_decompress_without_stored_metadata_copies_input(tmp_path: Path, data: bytes) -> None:
    packed = tmp_path / "lib.crush"
    packed.write_bytes(crush.compress(data))  # the library stores no FileInfo
    packed.chmod(0o604)
    os.utime(packed, ns=(10**18, 10**18))
    assert run("-d", "lib.crush", cwd=tmp_path).returncode == 0
    st = (tmp_path / "lib").stat()
    assert st.st_mode & 0o777 == 0o604 and st.st_mtime_ns == 10**18


def test_setuid_bits_are_not_restored(tmp_path: Path, data: bytes) -> None:
    info = crush.FileInfo(name="x", mtime_ns=None, mode=0o4755)
    (tmp_path / "x.crush").write_bytes(crush.compress(data, file_info=info))
    assert run("-d", "x.crush", cwd=tmp_path).returncode == 0
    assert (tmp_path / "x").stat().st_mode & 0o7777 == 0o755


# ----------------------------------------------------------------------------- test command


def test_test_command_verifies_and_writes_nothing(tmp_path: Path, data: bytes) -> None:
    good = crush.compress(data, plugin="zstd")
    (tmp_path / "good.crush").write_bytes(good)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    (tmp_path / "bad.crush").write_bytes(bytes(bad))
    proc = run("test", "-v", "good.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert re.match(r"^good\.crush: OK  \d+\.\d %  zstd  [\d.]+ MB/s$", err(proc).strip())
    proc = run("test", "-v", "good.crush", "bad.crush", cwd=tmp_path)
    assert proc.returncode == 1
    assert "crush: bad.crush: " in err(proc)
    assert "2 files tested: 1 OK; 1 failed" in err(proc)
    assert listing(tmp_path) == ["bad.crush", "good.crush"]
    proc = run("test", "-", cwd=tmp_path, input=good)
    assert proc.returncode == 0 and proc.stdout == b""
