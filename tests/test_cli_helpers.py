"""Helpers for the CLI tests: run ``python -m crush`` (or a driver) as a real subprocess.

Holds no tests. Every run gets a clean environment (no ``CRUSH_*`` from the
caller), the repo on ``PYTHONPATH`` and stdin from /dev/null unless a test
says otherwise, so results do not depend on the terminal pytest runs in.
"""

from __future__ import annotations

import base64
import errno
import os
import pty
import random
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

DRIVER = """
import sys
import crush
from crush.plugins.deflate import DeflatePlugin
import faulty
from crush.cli import main
plugins = [getattr(faulty, name)() for name in sys.argv[1].split(",")]
sys.exit(main(sys.argv[2:], registry=crush.Registry([DeflatePlugin(), *plugins])))
"""
"""Runs the CLI with deflate plus fault-injecting plugins from tests/faulty.py named in argv[1]."""


def env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a clean environment for the CLI: no CRUSH_* variables, the repo importable."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("CRUSH_")}
    out["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TESTS)])
    out.pop("PYTHONWARNINGS", None)
    out.update(extra or {})
    return out


def command(*args: str | Path) -> list[str]:
    """Return the argv that runs ``python -m crush ARGS``."""
    return [sys.executable, "-m", "crush", *map(str, args)]


def driver(plugins: str, *args: str | Path) -> list[str]:
    """Return the argv that runs the CLI with the test plugins *plugins* (comma-separated)."""
    return [sys.executable, "-c", DRIVER, plugins, *map(str, args)]


def run(
    *args: str | Path,
    cwd: Path,
    input: bytes | None = None,
    extra_env: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
    timeout: float = 120,
    **kwargs: Any,
) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with *args* in *cwd*; capture stdout and stderr (bytes)."""
    if input is None and "stdin" not in kwargs:
        kwargs["stdin"] = subprocess.DEVNULL
    return subprocess.run(
        list(argv) if argv is not None else command(*args),
        cwd=cwd, input=input, env=env(extra_env), capture_output=True, timeout=timeout,
        check=False, **kwargs,
    )


def err(proc: subprocess.CompletedProcess[bytes]) -> str:
    """Return the decoded stderr."""
    return proc.stderr.decode("utf-8", "replace")


def sample(size: int, seed: int = 0) -> bytes:
    """Return *size* deterministic bytes: compressible text-like, not trivially so."""
    rnd = random.Random(seed)
    words = [base64.b32encode(rnd.randbytes(rnd.randint(1, 6))).decode().rstrip("=").lower()
             for _ in range(500)]
    text = " ".join(rnd.choice(words) for _ in range(size // 4 + 16)).encode()
    return text[:size]


def noisy(size: int, seed: int = 0) -> bytes:
    """Return *size* bytes of base64 random data: slow for lzma at its best level."""
    return base64.b64encode(random.Random(seed).randbytes(size * 3 // 4 + 3))[:size]


def listing(directory: Path) -> list[str]:
    """Return the sorted names in *directory*, hidden ones included."""
    return sorted(os.listdir(directory))


def read_pty(master: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> bytes:
    """Read everything the child writes to the pty until it exits; return it."""
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError as exc:  # EIO: every slave end closed
                if exc.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    return b"".join(chunks)


def run_on_pty(
    *args: str | Path, cwd: Path, which: str, stdin_path: Path | None = None,
) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """Run the CLI with *which* (stdin, stdout or stderr) on a new pty.

    Returns the finished process (the other streams captured) and what the
    child wrote to the pty.
    """
    master, slave = pty.openpty()
    stdin: Any = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    streams: dict[str, Any] = {"stdin": stdin, "stdout": subprocess.PIPE,
                               "stderr": subprocess.PIPE}
    streams[which] = slave
    try:
        proc = subprocess.Popen(command(*args), cwd=cwd, env=env(), **streams)
        os.close(slave)
        slave = -1
        seen = read_pty(master, proc)
        out = proc.stdout.read() if proc.stdout else b""
        error = proc.stderr.read() if proc.stderr else b""
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
        if stdin_path:
            stdin.close()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, error), seen


def open_files(pid: int) -> list[str]:
    """Return what process *pid* has open, as /proc/PID/fd shows it (empty once it ended)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    targets = []
    for fd in fds:
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return targets


def temporary_output(pid: int, directory: Path) -> bool:
    """Return True when process *pid* holds a temporary output file open in *directory*.

    Linux: an O_TMPFILE shows in /proc/PID/fd as ``DIR/#INODE (deleted)``, the
    named fallback as ``DIR/.NAME.RANDOM.crush-tmp``.
    """
    where = os.path.realpath(directory)
    return any(os.path.dirname(t) == where and t.endswith((" (deleted)", ".crush-tmp"))
               for t in open_files(pid))


def opened(pid: int, path: Path) -> bool:
    """Return True when process *pid* has *path* open."""
    return os.path.realpath(path) in open_files(pid)
