"""SIGINT and SIGTERM stop the CLI within a second, leave nothing behind, keep the input.

Each test starts a real slow operation, waits until its temporary output
exists (so the work is under way), sends the signal and times the exit.
The issue asks for 1 s; the assertion allows 3 s so a loaded 2-core machine
does not make the test flaky, and the measured time is in the message.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_cli_helpers import command
from test_cli_helpers import driver
from test_cli_helpers import env
from test_cli_helpers import listing
from test_cli_helpers import noisy
from test_cli_helpers import opened
from test_cli_helpers import sample
from test_cli_helpers import temporary_output

import crush

LIMIT = 3.0
STATUS = {signal.SIGHUP: 129, signal.SIGINT: 130, signal.SIGTERM: 143}


def _start(argv: Sequence[str], cwd: Path, stdin: object = subprocess.DEVNULL
           ) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(argv), cwd=cwd, env=env(), stdin=stdin,  # type: ignore[arg-type]
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_temp(directory: Path, proc: subprocess.Popen[bytes], prefix: str) -> None:
    # The output is an unnamed O_TMPFILE (or, elsewhere, a hidden named one):
    # wait until the process holds a temporary file open in *directory*.
    del prefix
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if temporary_output(proc.pid, directory):
            return
        if proc.poll() is not None:
            pytest.fail(f"crush ended before the test could signal it: {proc.communicate()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("crush never created its temporary output")


def _interrupt(proc: subprocess.Popen[bytes], signum: int) -> tuple[float, str]:
    started = time.monotonic()
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("crush did not stop within 30 s of the signal")
    return time.monotonic() - started, stderr.decode()


@pytest.fixture(scope="module")
def slow_input() -> bytes:
    # 16 MiB of base64 noise: lzma at its best level needs several seconds.
    return noisy(16 << 20, seed=7)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGINT, signal.SIGTERM],
                         ids=["SIGHUP", "SIGINT", "SIGTERM"])
def test_signal_during_slow_compression(tmp_path: Path, slow_input: bytes, signum: int) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(slow_input)
    proc = _start(command("-m", "lzma", "-L", "best", "-T", "2", "big.bin"), tmp_path)
    _wait_for_temp(tmp_path, proc, ".big.bin.crush.")
    time.sleep(0.3)  # inside the first blocks
    took, stderr = _interrupt(proc, signum)
    assert proc.returncode == STATUS[signum], stderr
    assert took < LIMIT, f"took {took:.2f} s to stop"
    assert "crush: Operation cancelled" in stderr
    assert "Traceback" not in stderr
    assert listing(tmp_path) == ["big.bin"]
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(slow_input).digest()


def test_sigint_with_one_thread_abandons_the_inline_block(tmp_path: Path,
                                                          slow_input: bytes) -> None:
    # -T 1 runs built-in codecs inline on crush's calling thread; the CLI
    # still stops because the main thread only waits for that thread.
    path = tmp_path / "big.bin"
    path.write_bytes(slow_input)
    proc = _start(command("-m", "lzma", "-L", "best", "-T", "1", "big.bin"), tmp_path)
    _wait_for_temp(tmp_path, proc, ".big.bin.crush.")
    time.sleep(0.3)
    took, stderr = _interrupt(proc, signal.SIGINT)
    assert proc.returncode == 130, stderr
    assert took < LIMIT, f"took {took:.2f} s to stop"
    assert listing(tmp_path) == ["big.bin"]
    assert path.read_bytes() == slow_input


def test_sigint_while_a_plugin_is_stuck(tmp_path: Path) -> None:
    data = sample(100_000)
    (tmp_path / "a.txt").write_bytes(data)
    proc = _start(driver("IgnoresCancel", "-m", "stuck", "--timeout", "0", "a.txt"), tmp_path)
    _wait_for_temp(tmp_path, proc, ".a.txt.crush.")
    time.sleep(0.3)
    took, stderr = _interrupt(proc, signal.SIGINT)
    assert proc.returncode == 130, stderr
    assert took < LIMIT, f"took {took:.2f} s to stop"
    assert listing(tmp_path) == ["a.txt"]
    assert (tmp_path / "a.txt").read_bytes() == data


def test_sigterm_while_waiting_for_input(tmp_path: Path) -> None:
    # Decompressing from a pipe that never delivers the rest of the frame.
    head = crush.compress(sample(200_000))[:50]
    proc = _start(command("-d", "-o", "out"), tmp_path, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(head)
    proc.stdin.flush()
    _wait_for_temp(tmp_path, proc, ".out.")
    took, stderr = _interrupt(proc, signal.SIGTERM)
    assert proc.returncode == 143, stderr
    assert took < LIMIT, f"took {took:.2f} s to stop"
    assert listing(tmp_path) == []


def test_sigint_stops_before_the_next_file(tmp_path: Path, slow_input: bytes) -> None:
    small = sample(10_000)
    (tmp_path / "a.txt").write_bytes(small)
    (tmp_path / "big.bin").write_bytes(slow_input)
    (tmp_path / "z.txt").write_bytes(small)
    proc = _start(command("-m", "lzma", "-L", "best", "a.txt", "big.bin", "z.txt"), tmp_path)
    deadline = time.monotonic() + 60
    while not opened(proc.pid, tmp_path / "big.bin") and time.monotonic() < deadline:
        time.sleep(0.01)
    _wait_for_temp(tmp_path, proc, ".big.bin.crush.")
    took, stderr = _interrupt(proc, signal.SIGINT)
    assert proc.returncode == 130, stderr
    assert took < LIMIT
    # a.txt was finished before the signal; big.bin was abandoned; z.txt never started.
    assert listing(tmp_path) == ["a.txt.crush", "big.bin", "z.txt"]
    assert crush.decompress((tmp_path / "a.txt.crush").read_bytes()) == small
    assert "3 files" not in stderr  # no summary after an interruption


def test_kill_9_leaves_no_partial_file(tmp_path: Path, slow_input: bytes) -> None:
    # SIGKILL cannot be handled: only an unnamed (O_TMPFILE) output leaves nothing.
    path = tmp_path / "big.bin"
    path.write_bytes(slow_input)
    proc = _start(command("-m", "lzma", "-L", "best", "-p", "1", "big.bin"), tmp_path)
    _wait_for_temp(tmp_path, proc, "")
    time.sleep(0.3)  # bytes are being written to the temporary output
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert listing(tmp_path) == ["big.bin"]
    assert path.read_bytes() == slow_input
