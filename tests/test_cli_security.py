"""The CLI under attack: each test reproduces one attack from issue 10 with real processes.

Root's crush against a directory an unprivileged user owns (``setpriv``),
crafted stored names, non-UTF-8 names, hostile inputs for ``inspect``,
stored modes, FIFOs that open late, exit statuses. Tests that need root,
``setpriv`` or Linux's /proc skip elsewhere.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_helpers import command
from test_cli_helpers import env
from test_cli_helpers import err
from test_cli_helpers import listing
from test_cli_helpers import noisy
from test_cli_helpers import opened
from test_cli_helpers import run
from test_cli_helpers import sample

import crush
from crush import frame

NOBODY = 65534
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not (ROOT and shutil.which("setpriv")
                                     and os.path.isdir("/proc/self/fd")),
                                reason="needs root, setpriv and /proc")


def as_nobody(*argv: str, cwd: Path | str = "/") -> subprocess.CompletedProcess[bytes]:
    """Run *argv* as the unprivileged user nobody."""
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                           "--clear-groups", *argv], cwd=cwd, capture_output=True, check=True,
                          timeout=60)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory others can traverse (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="crush-attack-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _stop_when_reading(proc: subprocess.Popen[bytes], path: Path) -> None:
    """SIGSTOP *proc* once it has *path* open (the work is under way)."""
    deadline = time.monotonic() + 60
    while not opened(proc.pid, path):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"crush never read {path}: {proc.communicate()}")
        time.sleep(0.002)
    proc.send_signal(signal.SIGSTOP)


# ----------------------------------------------------------------------------- TOCTOU


@needs_root
@pytest.mark.parametrize("output", [(), ("--rm", "-o", "OUT")], ids=["next-to-input", "rm-o"])
def test_swapped_directory_cannot_redirect_removal(shared: Path, output: tuple[str, ...]) -> None:
    # The attacker owns u/ and u/d/; root compresses u/d/notes.txt. Mid-run the
    # attacker renames u/d away and puts a symlink to a root-only directory in
    # its place. Path-based unlink("u/d/notes.txt") then deleted the root-only
    # secret/notes.txt; unlinkat on the directory opened at the start cannot.
    secret = shared / "secret"
    secret.mkdir(mode=0o700)
    (secret / "notes.txt").write_bytes(b"root only\n")
    attacker = shared / "u"
    (attacker / "d").mkdir(parents=True)
    content = noisy(8 << 20, seed=3)
    (attacker / "d" / "notes.txt").write_bytes(content)
    for path in (attacker, attacker / "d", attacker / "d" / "notes.txt"):
        os.chown(path, NOBODY, NOBODY)
    args = [a.replace("OUT", str(shared / "out.crush")) for a in output]
    proc = subprocess.Popen(command("-m", "lzma", "-L", "best", "-p", "1", *args,
                                    str(attacker / "d" / "notes.txt")),
                            cwd=shared, env=env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _stop_when_reading(proc, attacker / "d" / "notes.txt")
        as_nobody("sh", "-c", f"mv {attacker}/d {attacker}/d.old && ln -s {secret} {attacker}/d")
    finally:
        proc.send_signal(signal.SIGCONT)
    _, stderr = proc.communicate(timeout=300)
    assert (secret / "notes.txt").read_bytes() == b"root only\n", stderr.decode()
    assert listing(secret) == ["notes.txt"]  # no output went there either
    assert proc.returncode == 0, stderr.decode()
    # The input was removed from, and the output landed in, the original directory.
    moved = attacker / "d.old"
    if output:
        assert listing(moved) == []
        assert crush.decompress((shared / "out.crush").read_bytes()) == content
    else:
        assert listing(moved) == ["notes.txt.crush"]
        assert crush.decompress((moved / "notes.txt.crush").read_bytes()) == content


@needs_root
def test_replaced_input_is_not_removed(shared: Path) -> None:
    # The attacker swaps the input itself for a link to a root file: the name no
    # longer refers to the file that was read, so crush keeps it and says so.
    secret = shared / "secret"
    secret.mkdir(mode=0o700)
    (secret / "key").write_bytes(b"root only\n")
    attacker = shared / "u"
    attacker.mkdir()
    (attacker / "notes.txt").write_bytes(noisy(8 << 20, seed=4))
    for path in (attacker, attacker / "notes.txt"):
        os.chown(path, NOBODY, NOBODY)
    proc = subprocess.Popen(command("-m", "lzma", "-L", "best", "-p", "1", "-f",
                                    str(attacker / "notes.txt")),
                            cwd=shared, env=env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _stop_when_reading(proc, attacker / "notes.txt")
        as_nobody("sh", "-c", f"rm {attacker}/notes.txt && ln -s {secret}/key "
                              f"{attacker}/notes.txt")
    finally:
        proc.send_signal(signal.SIGCONT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert "was replaced while crush was working" in stderr.decode()
    assert (secret / "key").read_bytes() == b"root only\n"
    assert os.path.islink(attacker / "notes.txt")


# ----------------------------------------------------------------------------- inspect output


def _named(name: str, data: bytes = b"payload\n") -> bytes:
    return crush.compress(data, plugin="deflate", file_info=crush.FileInfo(name=name))


def test_inspect_escapes_control_characters(tmp_path: Path) -> None:
    hostile = "x\x1b]0;pwned\x07\x1b[2J\nforged.crush: zstd, 0 B -> 0 B\r\t\\"
    (tmp_path / "evil.crush").write_bytes(_named(hostile))
    proc = run("inspect", "evil.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    out = proc.stdout.decode()
    assert not any(c in out for c in "\x1b\x07\r\t")
    assert "\nforged" not in out
    assert r"x\x1b]0;pwned\x07\x1b[2J\nforged.crush: zstd, 0 B -> 0 B\r\t\\" in out
    proc = run("-l", "-N", "evil.crush", cwd=tmp_path)
    assert proc.returncode == 0 and b"\x1b" not in proc.stdout and proc.stdout.count(b"\n") == 2
    doc = run("inspect", "--json", "evil.crush", cwd=tmp_path).stdout
    import json

    assert json.loads(doc)[0]["frames"][0]["name"] == hostile  # JSON escapes by itself


def test_inspect_csv_cannot_inject_formulas(tmp_path: Path) -> None:
    import csv
    import io

    for number, name in enumerate(("=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)")):
        (tmp_path / f"{number}.crush").write_bytes(_named(name))
    (tmp_path / "=cmd.crush").write_bytes(_named("plain"))
    names = [f"{n}.crush" for n in range(4)] + ["=cmd.crush"]
    proc = run("inspect", "--csv", *names, cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    cells = [row["name"] for row in rows[:4]] + [rows[4]["file"]]
    assert all(cell.startswith("'") for cell in cells), cells
    assert cells[1] == "'+1+1"


def test_non_utf8_names_print_without_traceback(tmp_path: Path) -> None:
    raw = os.fsdecode(b"caf\xe9")  # Latin-1 bytes: not UTF-8
    (tmp_path / f"{raw}.crush").write_bytes(_named(raw))
    strict = {"PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}
    for args in (("inspect", f"{raw}.crush"), ("-l", "-N", f"{raw}.crush"),
                 ("-tv", f"{raw}.crush"), ("inspect", f"{raw}.crush", "missing")):
        proc = run(*args, cwd=tmp_path, extra_env=strict)
        text = proc.stdout + proc.stderr
        assert b"Traceback" not in text and b"UnicodeEncodeError" not in text, args
        assert b"caf\\xe9" in text, (args, text)


# ----------------------------------------------------------------------------- inspect memory


def test_inspect_dev_zero_and_endless_pipe(tmp_path: Path) -> None:
    proc = run("inspect", "/dev/zero", cwd=tmp_path, timeout=60)
    assert proc.returncode == 1 and "not crush data" in err(proc)
    assert "MemoryError" not in err(proc) and "out of memory" not in err(proc)
    with open("/dev/zero", "rb") as zero:
        proc = run("inspect", cwd=tmp_path, stdin=zero, timeout=60)
    assert proc.returncode == 1 and "not crush data" in err(proc)


@pytest.fixture(scope="module")
def one_byte_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid 49 MB frame of 3.5 million one-byte raw blocks."""
    count = 49_000_000 // (frame.RECORD_SIZE + 1)
    record = frame.encode_block_header(True, 1, 1, zlib.crc32(b"a")) + b"a"
    content_crc = zlib.crc32(b"a" * count)
    path = tmp_path_factory.mktemp("blocks") / "tiny.crush"
    path.write_bytes(frame.encode_header(0, 1) + record * count
                     + frame.encode_end(count, content_crc))
    return path


def _peak_rss_mb(argv: list[str], **kwargs: object
                 ) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    # A fresh parent whose only child is crush: RUSAGE_CHILDREN is crush's peak.
    probe = ("import resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], stdin=sys.stdin, stdout=subprocess.DEVNULL)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n")
    proc = subprocess.run([sys.executable, "-c", probe, *argv], env=env(), capture_output=True,
                          check=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    kib, status = proc.stdout.split()
    return int(kib) / 1024, subprocess.CompletedProcess(argv, int(status), b"", proc.stderr)


def test_inspect_one_byte_blocks_in_bounded_memory(one_byte_blocks: Path) -> None:
    peak, proc = _peak_rss_mb(command("inspect", one_byte_blocks))
    assert proc.returncode == 0
    assert peak < 120, f"inspect peaked at {peak:.0f} MB for a 49 MB file"  # was 409 MB
    with open(one_byte_blocks, "rb") as pipe_in:
        peak, proc = _peak_rss_mb(command("-l"), stdin=pipe_in)
    assert proc.returncode == 0
    assert peak < 120, f"-l on stdin peaked at {peak:.0f} MB"


def test_inspect_survives_a_file_shrinking(tmp_path: Path, one_byte_blocks: Path) -> None:
    # With the file mapped into memory, truncating it meanwhile killed crush with SIGBUS.
    path = tmp_path / "shrinks.crush"
    shutil.copyfile(one_byte_blocks, path)
    proc = subprocess.Popen(command("inspect", path), env=env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not opened(proc.pid, path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    os.truncate(path, 1000)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), stderr  # 1: truncated; 0 if it finished first
    assert proc.returncode != -signal.SIGBUS
    if proc.returncode:
        assert b"truncated" in stderr


# ----------------------------------------------------------------------------- modes, FIFOs


@needs_root
def test_stored_mode_respects_the_umask_for_other_users(shared: Path) -> None:
    packed = crush.compress(b"x", file_info=crush.FileInfo(name="f", mode=0o777))
    work = shared / "w"
    work.mkdir()
    os.chown(work, NOBODY, NOBODY)
    (work / "f.crush").write_bytes(packed)
    os.chown(work / "f.crush", NOBODY, NOBODY)
    script = f"umask 022 && PYTHONPATH={env()['PYTHONPATH']} {sys.executable} -m crush -d f.crush"
    as_nobody("sh", "-c", script, cwd=work)
    assert (work / "f").stat().st_mode & 0o7777 == 0o755  # as tar: umask applied
    (shared / "g.crush").write_bytes(packed)
    assert run("-d", "g.crush", cwd=shared).returncode == 0
    assert (shared / "g").stat().st_mode & 0o7777 == 0o777  # root: as stored, as tar


def test_test_waits_for_a_late_fifo_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    packed = crush.compress(sample(100_000))

    def late_writer() -> None:
        time.sleep(1.0)
        with open(fifo, "wb") as out:
            out.write(packed)

    writer = threading.Thread(target=late_writer)
    writer.start()
    proc = run("test", "-v", "pipe", cwd=tmp_path, timeout=60)
    writer.join()
    assert proc.returncode == 0, err(proc)
    assert "pipe: OK" in err(proc)


# ----------------------------------------------------------------------------- parsing, statuses


def test_command_word_after_options(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(crush.compress(b"hello\n"))
    proc = run("-q", "test", "notes.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert listing(tmp_path) == ["notes.txt"]  # tested, not compressed and removed
    proc = run("-v", "-p", "2", "inspect", "notes.txt", cwd=tmp_path)
    assert proc.returncode == 2 and listing(tmp_path) == ["notes.txt"]  # inspect has no -p
    assert run("-v", "inspect", "notes.txt", cwd=tmp_path).stdout.startswith(b"notes.txt:")


def test_double_dash_dash_name_makes_a_file(tmp_path: Path) -> None:
    (tmp_path / "-.crush").write_bytes(crush.compress(b"dash\n"))
    proc = run("-d", "--", "-.crush", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert proc.stdout == b""
    assert (tmp_path / "-").read_bytes() == b"dash\n"
    assert listing(tmp_path) == ["-"]


def test_usage_and_configuration_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"text\n")
    for args, extra in ((("-c", "a.txt"), {"CRUSH_PLUGIN": "nope"}),
                        (("-c", "-m", "nope", "a.txt"), {}),
                        (("-c", "-p", "nope", "a.txt"), {}),
                        (("-c", "-m", "zstd", "-L", "99", "a.txt"), {}),
                        (("-c", "a.txt"), {"CRUSH_THREADS": "x"})):
        proc = run(*args, cwd=tmp_path, extra_env=extra)
        assert proc.returncode == 2, (args, extra, err(proc))
        assert "Traceback" not in err(proc)
        if extra.get("CRUSH_PLUGIN"):
            assert err(proc).startswith("crush: CRUSH_PLUGIN=nope: no plugin named 'nope'")
    (tmp_path / "bad.crush").write_bytes(b"CR\x01garbage")
    assert run("-t", "bad.crush", cwd=tmp_path).returncode == 1  # an operation failure
    assert listing(tmp_path) == ["a.txt", "bad.crush"]


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    data = sample(8 << 20)
    (tmp_path / "x.crush").write_bytes(crush.compress(data))
    for stage in ("-dc x.crush", "inspect -v x.crush x.crush x.crush"):
        shell = f"{' '.join(command())} {stage} | head -c 100 > /dev/null"
        proc = subprocess.run(["bash", "-c", f"{shell}; echo ${{PIPESTATUS[0]}}"],
                              cwd=tmp_path, env=env(), capture_output=True, timeout=120,
                              check=False)
        assert proc.stderr == b"", (stage, proc.stderr)
        assert int(proc.stdout) in (0, 1), stage


def test_recursive_never_follows_links(tmp_path: Path) -> None:
    # -r on a tree holding a link to another directory (or file) leaves the
    # link's target alone, as gzip -r does.
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key").write_bytes(b"elsewhere\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a").write_bytes(b"a\n")
    (tree / "link").symlink_to(tmp_path / "secret")
    (tree / "sub" / "filelink").symlink_to(tmp_path / "secret" / "key")
    proc = run("-r", "tree", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert listing(tmp_path / "secret") == ["key"]
    assert listing(tree / "sub") == ["a.crush", "filelink"]
    assert run("-dr", "tree", cwd=tmp_path).returncode == 0
    assert (tree / "sub" / "a").read_bytes() == b"a\n"
