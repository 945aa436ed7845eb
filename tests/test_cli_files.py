"""CLI file safety: refusals, never overwriting, nothing left behind on failure, terminals.

On any failure the directory must hold exactly what it held before, with the
input unchanged: no output, no temporary file.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
from pathlib import Path

import pytest
from test_cli_helpers import command
from test_cli_helpers import driver
from test_cli_helpers import err
from test_cli_helpers import listing
from test_cli_helpers import noisy
from test_cli_helpers import run
from test_cli_helpers import run_on_pty
from test_cli_helpers import sample

import crush
from crush import frame


@pytest.fixture
def data() -> bytes:
    return sample(200_000)


@pytest.fixture
def txt(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    return path


def _unchanged(tmp_path: Path, before: list[str], path: Path, content: bytes) -> None:
    assert listing(tmp_path) == before
    assert path.read_bytes() == content


# ----------------------------------------------------------------------------- refusals


def test_refuses_directories_symlinks_and_special_files(tmp_path: Path, txt: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to("a.txt")
    os.mkfifo(tmp_path / "fifo")
    before = listing(tmp_path)
    for name, words in (("dir", "is a directory"), ("link", "is a symbolic link"),
                        ("fifo", "is not a regular file")):
        for verb in ("compress", "decompress"):
            proc = run(verb, "-o", "out", name, cwd=tmp_path, timeout=30)
            assert proc.returncode == 2, (verb, name)
            assert err(proc).startswith(f"crush: {name}: {words}"), err(proc)
            assert "Traceback" not in err(proc)
    assert listing(tmp_path) == before


def test_force_follows_a_symlink(tmp_path: Path, txt: Path, data: bytes) -> None:
    (tmp_path / "link").symlink_to("a.txt")
    proc = run("-f", "link", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert listing(tmp_path) == ["a.txt", "link.crush"]  # the link went, its target stays
    assert crush.decompress((tmp_path / "link.crush").read_bytes()) == data


def test_never_overwrites_without_force(tmp_path: Path, txt: Path, data: bytes) -> None:
    (tmp_path / "a.txt.crush").write_bytes(b"precious")
    proc = run("a.txt", cwd=tmp_path)
    assert proc.returncode == 2
    assert "crush: a.txt: a.txt.crush already exists; use -f to overwrite it" in err(proc)
    assert (tmp_path / "a.txt.crush").read_bytes() == b"precious"
    assert listing(tmp_path) == ["a.txt", "a.txt.crush"]
    proc = run("-f", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert listing(tmp_path) == ["a.txt.crush"]
    assert crush.decompress((tmp_path / "a.txt.crush").read_bytes()) == data


def test_force_replaces_a_symlink_not_its_target(tmp_path: Path, txt: Path) -> None:
    (tmp_path / "victim").write_bytes(b"keep me")
    (tmp_path / "a.txt.crush").symlink_to("victim")
    assert run("-f", "-k", "a.txt", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "a.txt.crush").is_symlink()
    assert (tmp_path / "victim").read_bytes() == b"keep me"


def test_refuses_same_file_as_output(tmp_path: Path, txt: Path, data: bytes) -> None:
    proc = run("-f", "-o", "a.txt", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "is the input file" in err(proc)
    _unchanged(tmp_path, ["a.txt"], txt, data)


def test_refuses_hard_linked_input_unless_kept(tmp_path: Path, txt: Path, data: bytes) -> None:
    os.link(txt, tmp_path / "twin")
    proc = run("a.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "has 1 other link" in err(proc)
    _unchanged(tmp_path, ["a.txt", "twin"], txt, data)
    assert run("-k", "a.txt", cwd=tmp_path).returncode == 0


def test_missing_and_unreadable_input_exit_2(tmp_path: Path) -> None:
    proc = run("nothing.txt", cwd=tmp_path)
    assert proc.returncode == 2
    assert err(proc) == "crush: nothing.txt: no such file or directory\n"
    (tmp_path / "dangling").symlink_to("nowhere")
    proc = run("-f", "dangling", cwd=tmp_path)
    assert proc.returncode == 2 and "does not exist" in err(proc)


# ----------------------------------------------------------------------------- failures


def test_disk_full_dev_full(tmp_path: Path, txt: Path, data: bytes) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    proc = run("-o", "/dev/full", "a.txt", cwd=tmp_path)
    assert proc.returncode == 1
    assert err(proc).startswith("crush: a.txt: No space left on device")
    assert "write elsewhere" in err(proc)
    _unchanged(tmp_path, ["a.txt"], txt, data)  # a device output never removes the input
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # written to, never replaced
    (tmp_path / "a.crush").write_bytes(crush.compress(data))
    proc = run("-d", "-o", "/dev/full", "a.crush", cwd=tmp_path)
    assert proc.returncode == 1 and "No space left on device" in err(proc)


def test_device_output_keeps_the_input(tmp_path: Path, txt: Path, data: bytes) -> None:
    proc = run("-o", os.devnull, "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    _unchanged(tmp_path, ["a.txt"], txt, data)


def test_output_through_a_symlink_to_a_device(tmp_path: Path, txt: Path, data: bytes) -> None:
    if not os.path.islink("/dev/stdout"):
        pytest.skip("/dev/stdout is not a symbolic link here")
    proc = run("-o", "/dev/stdout", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert crush.decompress(proc.stdout) == data
    assert os.path.islink("/dev/stdout")  # written through, never replaced
    _unchanged(tmp_path, ["a.txt"], txt, data)


def test_write_error_mid_file_leaves_no_temporary(tmp_path: Path, data: bytes) -> None:
    big = sample(3 << 20)
    (tmp_path / "big").write_bytes(big)

    def small_files() -> None:  # the child may write at most 64 KiB per file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))

    proc = run("-m", "lz4", "big", cwd=tmp_path, preexec_fn=small_files)
    assert proc.returncode == 1
    assert "crush: big: File too large" in err(proc)
    _unchanged(tmp_path, ["big"], tmp_path / "big", big)


def _as_unprivileged() -> list[str]:
    """Return a prefix that runs a command without root's permission override."""
    if os.geteuid() != 0:
        return []
    tool = shutil.which("setpriv")
    if tool is None:
        pytest.skip("running as root without setpriv: a read-only directory stays writable")
    return [tool, "--bounding-set=-dac_override", "--inh-caps=-dac_override", "--"]


def test_read_only_output_directory(tmp_path: Path, txt: Path, data: bytes) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        argv = [*_as_unprivileged(), *command(
            "-o", "locked/a.crush", "a.txt")]
        proc = run(cwd=tmp_path, argv=argv)
        assert proc.returncode == 1, err(proc)
        assert err(proc).startswith("crush: a.txt: cannot write (locked/a.crush): "
                                    "Permission denied; write elsewhere")
        assert listing(locked) == []
        _unchanged(tmp_path, ["a.txt", "locked"], txt, data)
        # Decompressing into a read-only directory fails the same way.
        (tmp_path / "locked.crush").write_bytes(crush.compress(data))
        argv = [*_as_unprivileged(), *command(
            "-d", "-o", "locked/x", "locked.crush")]
        assert run(cwd=tmp_path, argv=argv).returncode == 1
        assert listing(locked) == []
    finally:
        locked.chmod(0o755)


def test_corrupt_input_leaves_nothing(tmp_path: Path, data: bytes) -> None:
    packed = bytearray(crush.compress(data * 8, plugin="zstd"))
    packed[-100] ^= 0x55
    path = tmp_path / "bad.crush"
    path.write_bytes(bytes(packed))
    proc = run("-d", "bad.crush", cwd=tmp_path)
    assert proc.returncode == 1
    assert "restore the file from a good copy" in err(proc) or "crush: bad.crush:" in err(proc)
    _unchanged(tmp_path, ["bad.crush"], path, bytes(packed))
    path.write_bytes(data)
    proc = run("-d", "bad.crush", cwd=tmp_path)
    assert proc.returncode == 1 and "not crush data" in err(proc)
    _unchanged(tmp_path, ["bad.crush"], path, data)


def test_plugin_not_compiled_in(tmp_path: Path) -> None:
    # Every built-in id is compiled into the default build, so the driver runs a build
    # without zstd (deflate and a test plugin): id 0x01 is assigned but not compiled in.
    (tmp_path / "zstd.crush").write_bytes(crush.compress(b"zstd data " * 100, plugin="zstd"))
    proc = run(cwd=tmp_path, argv=driver("CompressRaises", "-d", "zstd.crush"))
    assert proc.returncode == 1
    assert "'zstd' plugin" in err(proc) and "not compiled into this crush" in err(proc)
    assert "pip install zstandard" in err(proc) and "plugins.toml" in err(proc)
    assert listing(tmp_path) == ["zstd.crush"]
    proc = run(cwd=tmp_path, argv=driver("CompressRaises", "inspect", "zstd.crush"))
    assert proc.returncode == 0, err(proc)
    assert "zstd (id 0x01, not compiled in)" in proc.stdout.decode()


def test_third_party_plugin_not_compiled_in(tmp_path: Path) -> None:
    # 0x9f is in the third-party range: no crush build knows it.
    body = frame.encode_header(0x9F, 1 << 20, None) + frame.encode_end(0, 0)
    (tmp_path / "other.crush").write_bytes(body)
    proc = run("-d", "other.crush", cwd=tmp_path)
    assert proc.returncode == 1
    assert "plugin id 0x9f, which is not compiled in" in err(proc)
    assert "third-party plugin" in err(proc) and "plugins.toml" in err(proc)
    assert listing(tmp_path) == ["other.crush"]
    proc = run("inspect", "other.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert "unknown plugin (id 0x9f, not compiled in)" in proc.stdout.decode()


def test_failing_plugin_leaves_nothing(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "a.txt").write_bytes(data)
    proc = run(cwd=tmp_path, argv=driver("DecompressRaises", "-k", "-m", "raises-decompress",
                                          "a.txt"))
    assert proc.returncode == 0, err(proc)
    proc = run(cwd=tmp_path, argv=driver("DecompressRaises", "-d", "-o", "back",
                                          "a.txt.crush"))
    assert proc.returncode == 1
    assert "crush: a.txt.crush: plugin 'raises-decompress' could not decode" in err(proc)
    assert listing(tmp_path) == ["a.txt", "a.txt.crush"]


def test_compress_plugin_failure_falls_back_with_a_warning(tmp_path: Path, txt: Path,
                                                           data: bytes) -> None:
    proc = run(cwd=tmp_path, argv=driver("CompressRaises", "-m", "raises-compress", "a.txt"))
    assert proc.returncode == 0, err(proc)
    assert "crush: WARNING: plugin 'raises-compress' failed" in err(proc)
    assert crush.decompress((tmp_path / "a.txt.crush").read_bytes()) == data


def test_timeout_leaves_nothing(tmp_path: Path, txt: Path, data: bytes) -> None:
    proc = run(cwd=tmp_path, argv=driver("IgnoresCancel", "-m", "stuck", "--timeout", "0.5",
                                          "a.txt"), timeout=60)
    assert proc.returncode == 1
    assert "did not finish within the 0.5 s deadline" in err(proc)
    assert "raise it with --timeout SECONDS" in err(proc) and "timeout=" not in err(proc)
    _unchanged(tmp_path, ["a.txt"], txt, data)


# ----------------------------------------------------------------------------- terminals


def test_refuses_to_write_compressed_data_to_a_terminal(tmp_path: Path, txt: Path) -> None:
    proc, seen = run_on_pty("-c", "a.txt", cwd=tmp_path, which="stdout")
    assert proc.returncode == 2
    assert "compressed data not written to a terminal" in err(proc)
    assert seen == b""
    proc, _ = run_on_pty(cwd=tmp_path, which="stdout", stdin_path=txt)  # stdin -> tty
    assert proc.returncode == 2
    assert listing(tmp_path) == ["a.txt"]
    proc, seen = run_on_pty("-f", "-c", "-m", "lz4", "a.txt", cwd=tmp_path, which="stdout")
    assert proc.returncode == 0, err(proc)
    assert seen.startswith(b"CR")


def test_refuses_to_read_compressed_data_from_a_terminal(tmp_path: Path) -> None:
    for args in (("-d",), ("decompress", "-"), ("test", "-"), ("inspect", "-")):
        proc, _ = run_on_pty(*args, cwd=tmp_path, which="stdin")
        assert proc.returncode == 2, args
        assert "compressed data not read from a terminal" in err(proc)
    assert listing(tmp_path) == []


def test_decompressed_data_may_go_to_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "t.crush").write_bytes(crush.compress(b"hello terminal\n"))
    proc, seen = run_on_pty("-dc", "t.crush", cwd=tmp_path, which="stdout")
    assert proc.returncode == 0
    assert b"hello terminal" in seen


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    # lzma at its best level on noise: well over the one second before a bar shows.
    # The bar is drawn by a read after that second, and the last read comes one
    # block's compression before the end, so the run must last about 2 s.
    (tmp_path / "big.bin").write_bytes(noisy(10 << 20))
    slow = ("-m", "lzma", "-L", "best", "-p", "1")
    proc, seen = run_on_pty("-k", "-f", "-v", *slow, "big.bin", cwd=tmp_path, which="stderr")
    assert proc.returncode == 0
    assert b"%|" in seen and b"big.bin" in seen  # tqdm's bar
    assert b"big.bin -> big.bin.crush" in seen
    # Over the 1 MiB floor, but lz4 is done far within the second (2 MiB,
    # so that even a loaded machine does not take a second): no bar.
    (tmp_path / "quick.bin").write_bytes(noisy(2 << 20))
    proc, seen = run_on_pty("-k", "-f", "-m", "lz4", "quick.bin", cwd=tmp_path, which="stderr")
    assert proc.returncode == 0 and b"%|" not in seen  # done within the second: no bar
    assert seen == b""  # and quiet by default, as gzip
    for flag in ("--no-progress", "-q"):
        proc, seen = run_on_pty("-k", "-f", flag, *slow, "big.bin", cwd=tmp_path,
                                which="stderr")
        assert proc.returncode == 0
        assert b"%|" not in seen
    piped = run("-k", "-f", "big.bin", cwd=tmp_path)
    assert b"%|" not in piped.stderr
    (tmp_path / "small.bin").write_bytes(sample(100_000))
    proc, seen = run_on_pty("-k", "small.bin", cwd=tmp_path, which="stderr")
    assert b"%|" not in seen  # under 1 MiB: no bar


def test_no_temporary_files_survive_success(tmp_path: Path, txt: Path) -> None:
    assert run("-k", "a.txt", cwd=tmp_path).returncode == 0
    assert run("-d", "-f", "a.txt.crush", cwd=tmp_path).returncode == 0
    assert listing(tmp_path) == ["a.txt"]
    assert not any(name.endswith(".crush-tmp") for name in listing(tmp_path))



@pytest.mark.parametrize("args", [("-k",), ("-k", "-f")], ids=["new", "replace"])
def test_named_temporary_fallback(tmp_path: Path, txt: Path, data: bytes,
                                  monkeypatch: pytest.MonkeyPatch,
                                  args: tuple[str, ...]) -> None:
    # Where O_TMPFILE is missing, a hidden named file stands in; success leaves none.
    from crush.cli import main
    from crush.cli import targets

    monkeypatch.setattr(targets, "_O_TMPFILE", 0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt.crush").write_bytes(b"old")
    if "-f" not in args:
        (tmp_path / "a.txt.crush").unlink()
    assert main([*args, "a.txt"]) == 0
    assert listing(tmp_path) == ["a.txt", "a.txt.crush"]
    assert crush.decompress((tmp_path / "a.txt.crush").read_bytes()) == data
