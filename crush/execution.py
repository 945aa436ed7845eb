"""Run block jobs under a deadline with cooperative cancellation.

One persistent pool of daemon worker threads serves every call. A call
submits at most ``threads`` blocks at a time (at most :data:`MAX_THREADS`),
waits for them in order and, when its deadline passes, cancels its token and
raises at once — even if a worker is stuck in C code or ignores the token.
Such a worker is *abandoned*: it may finish its call some day, but it never
returns to the pool, and a new worker takes its place so later calls keep
full capacity. Abandoned threads are daemons, so they never keep the
interpreter from exiting.

Threads stay bounded whatever callers do. At most :data:`MAX_STUCK_WORKERS`
workers inside one plugin and :data:`MAX_STUCK_TOTAL` in the whole process
are replaced; a worker stuck past those caps is kept (the pool runs one
worker short) instead of spawning another thread. Calls to a plugin with
:data:`MAX_STUCK_WORKERS` workers adrift — or with any once the process-wide
cap is reached — fail fast with :class:`~crush.PluginError`. So the pool
never holds more than its size plus :data:`MAX_STUCK_TOTAL` threads.

Closing a runner never starts a thread, takes no lock and never waits: it
cancels the token and leaves a note; workers that ignore the cancellation
are abandoned by the next call into the pool (or :func:`diagnostics`) once
:data:`STUCK_AFTER` has passed. A worker counts as *stuck* (in diagnostics
and the warning) once it stayed :data:`STUCK_AFTER` seconds past its
deadline or cancellation.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final
from typing import Generic
from typing import NamedTuple
from typing import TypeVar
from typing import final

from .contract import CancelToken
from .errors import CancelledError
from .errors import ConfigError
from .errors import CrushTimeoutError
from .errors import PluginError
from .errors import warn

T = TypeVar("T")


MAX_THREADS: Final = 256
"""Largest ``threads=`` a call may ask for (``CRUSH_THREADS``, ``-T``); more is a ConfigError."""

MAX_STUCK_WORKERS: Final = 32
"""Workers adrift in one plugin after which calls to it fail fast."""

MAX_STUCK_TOTAL: Final = 64
"""Abandoned workers replaced in the whole process; past it stuck workers are not replaced."""

STUCK_AFTER: Final = 0.5
"""Seconds past its deadline after which a worker still inside a job counts as stuck."""

DEFAULT_TIMEOUT: Final = 30.0

MAX_WAIT: Final = 3600.0
"""Longest single blocking wait; longer deadlines are waited for in slices.

Lock and poll timeouts overflow long before a float does (``poll`` takes
milliseconds in a C int: about 24 days), so no wait is ever given more.
"""


def wait_slice(remaining: float | None) -> float:
    """Return how long one blocking wait may last with *remaining* seconds left (None: no end)."""
    if remaining is None:
        return MAX_WAIT
    return max(0.0, min(remaining, MAX_WAIT))


@final
class PluginDiagnostics(NamedTuple):
    """Abandoned-worker counts for one plugin: ``stuck`` now, ``abandoned`` ever."""

    plugin: str
    stuck: int
    abandoned: int


def resolve_timeout(
    call: float | None, plugin: float | None, default: float | None
) -> float | None:
    """Return the deadline in seconds, or None for none.

    Precedence: the call's ``timeout=`` > the plugin's timeout in
    plugins.toml > ``CRUSH_TIMEOUT`` > the global default (30 s). A value of
    0 (or ``inf``) at the winning level disables the deadline.
    """
    for value in (call, plugin, _env_timeout(), default, DEFAULT_TIMEOUT):
        if value is not None:
            return None if value == 0 or math.isinf(value) else float(value)
    return None  # pragma: no cover - DEFAULT_TIMEOUT is never None


def _env_timeout() -> float | None:
    raw = os.environ.get("CRUSH_TIMEOUT")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        from .errors import ConfigError

        raise ConfigError(
            f"CRUSH_TIMEOUT={raw!r} is not a number of seconds; set it like CRUSH_TIMEOUT=60 "
            "(0 disables the deadline)"
        ) from None
    if value < 0 or math.isnan(value):
        from .errors import ConfigError

        raise ConfigError(f"CRUSH_TIMEOUT={raw!r} must be >= 0 (0 disables the deadline)")
    return value


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_SKIPPED: Final = object()


class _Job:
    __slots__ = ("call", "fn", "index", "worker")

    def __init__(self, call: _Call, index: int, fn: Callable[[], object]) -> None:
        self.call = call
        self.index = index
        self.fn = fn
        self.worker: _Worker | None = None


class _Call:
    """One operation's state shared with the workers running its jobs."""

    __slots__ = ("plugin", "results", "running", "token")

    def __init__(self, plugin: str, token: CancelToken) -> None:
        self.plugin = plugin
        self.token = token
        self.results: queue.SimpleQueue[tuple[int, object]] = queue.SimpleQueue()
        self.running: dict[int, _Worker] = {}


class _Worker(threading.Thread):
    def __init__(self, pool: _Pool) -> None:
        super().__init__(name="crush-worker", daemon=True)
        self.pool = pool

    def run(self) -> None:
        pool = self.pool
        jobs = pool.jobs
        while True:
            job = jobs.get()
            if job is None:
                return
            call = job.call
            # Checked under the lock that abandon() holds after cancelling:
            # a job is either skipped or visible to abandon(), never a
            # stuck worker nobody counts.
            with pool.lock:
                skip = call.token.cancelled
                if not skip:
                    call.running[job.index] = self
            if skip:
                call.results.put((job.index, _SKIPPED))
                del job, call
                continue
            try:
                result: object = job.fn()
            except BaseException as exc:
                result = _Failure(exc)
            with pool.lock:
                call.running.pop(job.index, None)
                replaced = pool.returned(self)
            call.results.put((job.index, result))
            # An idle worker must not keep its last block (or job) alive:
            # with many workers that is many blocks of memory.
            del job, call, result
            if replaced:
                return


@final
class _Adrift(NamedTuple):
    plugin: str
    since: float
    replaced: bool


class _Pool:
    """The process-wide worker pool; grows to the largest ``threads`` asked for.

    ``size`` counts the workers that serve the job queue; a worker set
    adrift and replaced leaves that count at once and the thread ends when
    its job returns. Replacements are started by :meth:`ensure` only, on a
    caller's thread, never from :meth:`abandon` or a runner's ``close()``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.size = 0
        self.target = 0
        self.adrift: dict[_Worker, _Adrift] = {}
        self.replaced = 0  # adrift workers already replaced (their threads still run)
        self.settled: dict[str, int] = {}  # stuck workers that returned later
        # Calls closed with jobs still running, as (when to abandon, call).
        # Appended without the lock by close(), so closing never blocks.
        self.lingering: deque[tuple[float, _Call]] = deque()
        self._warned: set[str] = set()
        self._pid = os.getpid()

    def ensure(self, threads: int) -> None:
        """Abandon what is overdue and start workers up to the largest ``threads`` asked for."""
        self._after_fork()
        with self.lock:
            self._sweep()
            self.target = max(self.target, min(threads, MAX_THREADS))
            while self.size < self.target:
                _Worker(self).start()
                self.size += 1

    def _after_fork(self) -> None:
        if self._pid != os.getpid():  # forked child: the parent's threads are gone
            self.__init__()  # type: ignore[misc]

    def abandon(self, call: _Call, since: float | None = None) -> None:
        """Set the workers inside *call*'s jobs adrift; :meth:`ensure` replaces them."""
        with self.lock:
            self._abandon(call, time.monotonic() if since is None else since)

    def _abandon(self, call: _Call, since: float) -> None:
        for worker in call.running.values():
            if worker in self.adrift:
                continue
            mine = sum(1 for a in self.adrift.values() if a.plugin == call.plugin)
            # Past either cap a stuck worker stays in the pool, one short,
            # rather than costing another thread.
            replace = self.replaced < MAX_STUCK_TOTAL and mine < MAX_STUCK_WORKERS
            self.adrift[worker] = _Adrift(call.plugin, since, replace)
            if replace:
                self.replaced += 1
                self.size -= 1
        call.running.clear()

    def _sweep(self) -> None:
        """Abandon the workers of closed calls whose grace has passed (lock held)."""
        if not self.lingering:
            return
        now = time.monotonic()
        waiting = []
        while self.lingering:
            due, call = self.lingering.popleft()
            if due <= now:
                self._abandon(call, due)
            else:
                waiting.append((due, call))
        self.lingering.extend(waiting)

    def returned(self, worker: _Worker) -> bool:
        """Note that *worker* left its job; return whether it was replaced (lock held)."""
        adrift = self.adrift.pop(worker, None)
        if adrift is None:
            return False
        if time.monotonic() - adrift.since >= STUCK_AFTER:
            self.settled[adrift.plugin] = self.settled.get(adrift.plugin, 0) + 1
        if adrift.replaced:
            self.replaced -= 1
        return adrift.replaced

    def stuck(self) -> dict[str, int]:
        """Return the workers stuck per plugin now; warn once per plugin."""
        counts: dict[str, int] = {}
        with self.lock:
            self._sweep()
            cutoff = time.monotonic() - STUCK_AFTER
            for adrift in self.adrift.values():
                if adrift.since <= cutoff:
                    counts[adrift.plugin] = counts.get(adrift.plugin, 0) + 1
            fresh = [p for p in counts if p not in self._warned]
            self._warned.update(fresh)
        for plugin in fresh:
            warn(
                "a call to plugin %r did not return after its deadline or cancellation; "
                "its worker thread was abandoned and replaced (crush.diagnostics() counts "
                "them)",
                plugin,
            )
        return counts

    def check_capacity(self, plugin: str) -> None:
        """Raise PluginError when *plugin* may not have another worker, or none is left.

        Refused: a plugin with :data:`MAX_STUCK_WORKERS` workers adrift, or
        with any once :data:`MAX_STUCK_TOTAL` were replaced — and every call
        when all of the pool's workers are stuck and may not be replaced, as
        it could only wait for its deadline.
        """
        self._after_fork()
        if not self.adrift and not self.lingering:
            return
        self.stuck()  # for the warning
        with self.lock:
            mine = sum(1 for a in self.adrift.values() if a.plugin == plugin)
            held = sorted({a.plugin for a in self.adrift.values() if not a.replaced})
            serving = self.size - sum(1 for a in self.adrift.values() if not a.replaced)
            full = self.replaced >= MAX_STUCK_TOTAL
        if mine >= MAX_STUCK_WORKERS or (full and mine):
            why = (f"past {MAX_STUCK_WORKERS} for one plugin" if mine >= MAX_STUCK_WORKERS
                   else f"the process already has {MAX_STUCK_TOTAL} hung workers")
            raise PluginError(
                f"plugin {plugin!r} has {mine} calls that never returned after their deadline; "
                f"crush refuses new calls to it ({why}) to avoid piling up threads. The plugin "
                "hangs: report it to its authors, or run it with isolation='process' so hung "
                "calls are killed",
                plugin=plugin,
            )
        if serving <= 0:
            raise PluginError(
                f"every crush worker is stuck in a hung plugin ({', '.join(held)}) past the "
                f"caps on replacing them ({MAX_STUCK_WORKERS} per plugin, {MAX_STUCK_TOTAL} in "
                f"all), so no call to plugin {plugin!r} can run; run the hung plugins with "
                "isolation='process' so hung calls are killed, or restart the process",
                plugin=plugin,
            )


_POOL: Final = _Pool()


def diagnostics() -> tuple[PluginDiagnostics, ...]:
    """Return hung-worker counts per plugin that ever had one.

    A worker is counted once it has stayed inside a call for
    ``STUCK_AFTER`` seconds past that call's deadline (the call itself
    raised at the deadline and a new worker took its place): ``stuck``
    counts those still inside their call, ``abandoned`` every one ever.
    """
    stuck = _POOL.stuck()
    with _POOL.lock:
        settled = dict(_POOL.settled)
    return tuple(
        PluginDiagnostics(name, stuck.get(name, 0), stuck.get(name, 0) + settled.get(name, 0))
        for name in sorted(set(stuck) | set(settled))
    )


def default_threads() -> int:
    """Return the default parallelism: CRUSH_THREADS, else the CPUs this process may use.

    The CPUs count affinity (``taskset``) and the cgroup CPU quota of a
    container, capped at :data:`crush._cpus.MAX_DEFAULT_THREADS`. Set
    ``CRUSH_THREADS=1`` where an outer pool (Dask workers, a process pool)
    already uses every CPU. Raises ConfigError for an invalid CRUSH_THREADS.
    """
    from . import _cpus

    threads = _cpus.env_threads()
    if threads is not None and threads > MAX_THREADS:
        raise ConfigError(f"CRUSH_THREADS={threads} is more than crush's maximum of "
                          f"{MAX_THREADS} threads (crush.execution.MAX_THREADS)")
    return threads or min(_cpus.usable_cpus(), _cpus.MAX_DEFAULT_THREADS)


@final
class Deadline:
    """An operation's deadline and its cancellation token.

    The token is linked to the caller's, so either cancels the operation.
    ``close()`` unlinks it; use the object as a context manager.
    """

    __slots__ = ("_unlink", "expires", "plugin", "timeout", "token")

    def __init__(self, plugin: str, timeout: float | None, cancel: CancelToken | None) -> None:
        self.plugin = plugin
        self.timeout = timeout
        self.expires = math.inf if timeout is None else time.monotonic() + timeout
        self.token = CancelToken()
        self._unlink = cancel.on_cancel(self.token.cancel) if cancel is not None else None

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Unlink from the caller's token."""
        if self._unlink is not None:
            self._unlink()
            self._unlink = None

    def rearm(self) -> None:
        """Start a new deadline of the same length from now (for streams, per call)."""
        if self.timeout is not None:
            self.expires = time.monotonic() + self.timeout

    def remaining(self) -> float | None:
        """Seconds left, or None without a deadline."""
        return None if self.expires == math.inf else self.expires - time.monotonic()

    def check(self) -> None:
        """Raise CrushTimeoutError or CancelledError if the operation must stop."""
        # The clock first: expire() cancels the token too, and a deadline
        # that passed must surface as a timeout, not as a cancellation.
        if time.monotonic() >= self.expires:
            self.expire()
        if self.token.cancelled:
            raise CancelledError("operation cancelled")

    def expire(self) -> None:
        """Cancel the token and raise the timeout error."""
        self.token.cancel()
        assert self.timeout is not None
        raise CrushTimeoutError(
            f"plugin {self.plugin!r} did not finish within the {self.timeout:g} s deadline; "
            "raise it with timeout=SECONDS (or CRUSH_TIMEOUT, or the plugin's timeout in "
            "plugins.toml), 0 disables it",
            plugin=self.plugin,
            timeout=self.timeout,
        )


class InlineRunner(Generic[T]):
    """Run block jobs on the caller's thread, lazily, when their result is taken.

    Same interface as :class:`PoolRunner`; the deadline is checked before and
    after each job, so a job that hangs hangs the caller (used only for
    plugins that cannot hang, see ``engine``). Not thread-safe.
    """

    __slots__ = ("_deadline", "_queue")

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._queue: deque[Callable[[], T]] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def submit(self, fn: Callable[[], T]) -> None:
        """Queue *fn*; it runs when its result is taken."""
        self._queue.append(fn)

    def take(self) -> T:
        """Run the oldest job and return its result."""
        self._deadline.check()
        result = self._queue.popleft()()
        self._deadline.check()
        return result

    def close(self) -> None:
        """Drop queued jobs."""
        self._queue.clear()


class PoolRunner(Generic[T]):
    """Run block jobs on the shared pool; results are taken in submission order.

    The caller keeps at most ``threads`` jobs pending (``len(runner)``).
    ``take()`` waits for the oldest job until the deadline, then cancels the
    operation's token, abandons the workers still inside its jobs (they are
    replaced) and raises CrushTimeoutError; it raises CancelledError when the
    token is cancelled and re-raises a job's exception. *grace* delays the
    timeout for jobs that enforce the deadline themselves (process
    isolation). ``close()`` cancels what is left. Not thread-safe.
    """

    __slots__ = ("_call", "_deadline", "_done", "_grace", "_results", "_submitted", "_unlink")

    def __init__(self, deadline: Deadline, threads: int, *, grace: float = 0.0) -> None:
        # Grown first: a larger pool may have a worker for this call.
        _POOL.ensure(threads)
        _POOL.check_capacity(deadline.plugin)
        self._deadline = deadline
        self._grace = grace
        self._call = _Call(deadline.plugin, deadline.token)
        wake = self._call.results.put
        self._unlink = deadline.token.on_cancel(lambda: wake((-1, _SKIPPED)))
        self._results: dict[int, object] = {}
        self._submitted = 0
        self._done = 0

    def __len__(self) -> int:
        return self._submitted - self._done

    def submit(self, fn: Callable[[], T]) -> None:
        """Queue *fn* on the pool."""
        _POOL.jobs.put(_Job(self._call, self._submitted, fn))
        self._submitted += 1

    def take(self) -> T:
        """Wait for the oldest pending job and return its result (or raise its error)."""
        index = self._done
        results = self._results
        while index not in results:
            got, value = self._wait()
            if got >= 0:
                results[got] = value
        value = results.pop(index)
        self._done += 1
        if value is _SKIPPED:
            self._deadline.check()
        if isinstance(value, _Failure):
            raise value.exc
        return value  # type: ignore[return-value]

    def _wait(self) -> tuple[int, object]:
        deadline = self._deadline
        while True:
            if deadline.token.cancelled:
                deadline.check()
            remaining = deadline.remaining()
            wait = wait_slice(None if remaining is None else remaining + self._grace)
            if _POOL.lingering:
                # Closed calls may free (abandon) workers soon: replace them
                # then, or this call could starve behind them.
                wait = min(wait, STUCK_AFTER)
            try:
                return self._call.results.get(timeout=wait)
            except queue.Empty:
                if time.monotonic() < deadline.expires + self._grace:
                    _POOL.ensure(0)
                    continue
                # Cancel before abandoning, so cooperative jobs start stopping.
                deadline.token.cancel()
                _POOL.abandon(self._call)
                _POOL.ensure(0)
                deadline.expire()

    def close(self) -> None:
        """Cancel jobs not yet taken; have workers that ignore it abandoned later.

        Never starts a thread, takes no lock and never waits, so it is safe
        in a finaliser and at interpreter exit. Jobs still running get
        :data:`STUCK_AFTER` seconds (none past the deadline) to notice the
        cancelled token; workers still inside them then are abandoned and
        replaced by the next call into the pool, so a plugin that ignores
        cancellation cannot eat the pool's capacity.
        """
        self._unlink()
        if len(self):
            self._deadline.token.cancel()
            now = time.monotonic()
            due = now if now >= self._deadline.expires else now + STUCK_AFTER
            _POOL.lingering.append((due, self._call))


Runner = InlineRunner[T] | PoolRunner[T]
