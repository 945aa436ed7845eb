"""Process isolation: run a plugin's block jobs in worker processes.

The only way to stop a plugin that holds the GIL forever (a C extension
that never releases it, catastrophic regex backtracking) is to kill the
process it runs in. Each job is sent to an idle worker process; when the
deadline passes first, that process is killed and a fresh one started for
the next job. Workers are started with the ``spawn`` method and look the
plugin up in the *generated* registry, so the plugin must be compiled in
(listed in plugins.toml); nothing is imported by name. Workers are daemons,
so they never keep the interpreter from exiting.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any

from .contract import Buffer
from .contract import CancelToken
from .contract import Plugin
from .errors import ConfigError
from .errors import CrushError
from .errors import PluginError
from .execution import wait_slice

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


def serve(conn: Connection) -> None:
    """Answer (plugin name, method, argument, data) requests until the pipe closes.

    Runs in the worker process (see ``crush/_worker.py``); plugins come from
    the generated registry.
    """
    from .registry import DEFAULT_REGISTRY

    token = CancelToken()
    while True:
        try:
            name, method, arg, data = conn.recv()
        except EOFError:
            return
        try:
            plugin = DEFAULT_REGISTRY.get(name)
            if method == "compress":
                out = plugin.compress(data, arg, token)
            else:
                out = plugin.decompress(data, arg, token)
            conn.send((True, bytes(out) if isinstance(out, bytes | bytearray) else out))
        except Exception as exc:
            conn.send((False, f"{type(exc).__name__}: {exc}"))


class _Worker:
    __slots__ = ("conn", "process")

    def __init__(self) -> None:
        # A plain interpreter running this package's _worker module, not
        # multiprocessing: spawn would re-run the caller's __main__ script,
        # and fork would copy a process whose other threads may hold locks.
        import subprocess  # only when isolation is used: it costs import time

        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        # The directory holding the top-level package (``crush``, or ``app``
        # for a vendored ``app._vendor.crush``) comes first and absolute:
        # the caller may have changed directory since importing it through
        # a relative sys.path entry such as ''.
        path = [_package_root(), *(p for p in sys.path if p)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"{__package__}._worker", str(child_reads), str(child_writes)],
            pass_fds=(child_reads, child_writes),
            env=env,
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        os.close(child_reads)
        os.close(child_writes)
        self.conn = _Pipe(parent_reads, parent_writes)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        self.conn.close()


def _package_root() -> str:
    root = os.path.dirname(os.path.abspath(__file__))
    for _ in (__package__ or "").split("."):
        root = os.path.dirname(root)
    return root


class _Pipe:
    """A duplex message channel over two pipe file descriptors."""

    __slots__ = ("_reader", "_writer")

    def __init__(self, read_fd: int, write_fd: int) -> None:
        # Imported here: multiprocessing pulls in tempfile, bz2 and lzma,
        # which would slow down every `import crush`.
        from multiprocessing.connection import Connection

        self._reader = Connection(read_fd, writable=False)
        self._writer = Connection(write_fd, readable=False)

    def send(self, obj: object) -> None:
        self._writer.send(obj)

    def recv(self) -> Any:
        return self._reader.recv()

    def poll(self, timeout: float | None) -> bool:
        return self._reader.poll(timeout)

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


_idle: list[_Worker] = []
_lock = threading.Lock()


def _acquire() -> _Worker:
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive():
                return worker
    return _Worker()


def check_isolatable(plugin: Plugin) -> None:
    """Raise ConfigError unless *plugin* is compiled into the generated registry."""
    from .registry import DEFAULT_REGISTRY

    if getattr(sys, "frozen", False):
        raise ConfigError(
            "isolation='process' needs a Python interpreter to start workers; a frozen "
            "executable has none, so use isolation='thread'"
        )
    compiled = DEFAULT_REGISTRY.find_name(plugin.name)
    if compiled is None or type(compiled) is not type(plugin):
        raise ConfigError(
            f"isolation='process' runs plugins from the generated registry, and {plugin.name!r} "
            "is not compiled in; add it to plugins.toml and rebuild (python -m codegen)"
        )


def run(
    plugin: Plugin,
    method: str,
    /,
    arg: int,
    data: Buffer,
    *,
    remaining: Callable[[], float | None],
    on_timeout: Callable[[], None],
) -> bytes:
    """Run ``plugin.<method>(data, arg, ...)`` in a worker process and return its bytes.

    Waits at most ``remaining()`` seconds; then kills the worker and calls
    *on_timeout* (which raises). Plugin exceptions become PluginError.
    """
    worker = _acquire()
    try:
        worker.conn.send((plugin.name, method, arg, bytes(data)))
        while not worker.conn.poll(wait_slice(remaining())):
            left = remaining()
            if left is not None and left <= 0:
                worker.kill()
                on_timeout()
        ok, value = worker.conn.recv()
    except CrushError:  # the deadline: the worker was killed already
        raise
    except (EOFError, OSError) as exc:
        worker.kill()
        raise PluginError(f"plugin {plugin.name!r} crashed its worker process",
                          plugin=plugin.name, plugin_id=plugin.plugin_id) from exc
    except BaseException:
        # Killed, interrupted or broken mid-job: never reuse this process.
        worker.kill()
        raise
    with _lock:
        _idle.append(worker)
    if not ok:
        raise PluginError(f"plugin {plugin.name!r} failed in its worker process: {value}",
                          plugin=plugin.name, plugin_id=plugin.plugin_id)
    if not isinstance(value, bytes):
        raise PluginError(f"plugin {plugin.name!r} returned {type(value).__name__}, not bytes",
                          plugin=plugin.name, plugin_id=plugin.plugin_id)
    return value
