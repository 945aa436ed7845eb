"""SIGHUP, SIGINT and SIGTERM: cancel the running operation and stop within a second.

The work of each file runs on a helper thread while the main thread waits,
so the main thread is always free to run Python signal handlers. The
handler only records the signal, cancels the operation's
:class:`crush.CancelToken` and wakes the main thread through a
:class:`queue.SimpleQueue` (whose ``put`` is safe in a signal handler; a
``threading.Event`` is not). crush then stops the operation promptly —
blocks waiting in its pool are abandoned — and the caller cleans up. If the
helper thread itself is stuck (a codec running inline in C code), the main
thread gives it :data:`GRACE` seconds, then abandons it: the caller cleans
up and exits the process with :func:`os._exit`, since a daemon thread
blocked in C code could otherwise hang interpreter shutdown.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING
from typing import Final
from typing import TypeVar

if TYPE_CHECKING:
    from .. import CancelToken

T = TypeVar("T")

GRACE: Final = 0.4
"""Seconds a cancelled operation gets to stop on its own before it is abandoned."""

SIGNALS: Final = (*((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()), signal.SIGINT,
                  signal.SIGTERM)
"""Handled alike: a closed terminal (SIGHUP, 129) must clean up as Ctrl+C (130) does."""


class Interrupted(Exception):
    """A signal stopped the run; ``exit_status`` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The conventional shell status for death by this signal (129, 130, 143)."""
        return 128 + self.signum


class Supervisor:
    """Run each operation on a helper thread, cancellable by SIGHUP, SIGINT and SIGTERM.

    Use from the main thread only: ``install()`` once, ``run(fn)`` per
    operation, ``restore()`` at the end. ``abandoned`` turns True when an
    operation did not stop within :data:`GRACE` seconds of a signal.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.abandoned = False
        self._token: CancelToken | None = None
        self._wake: queue.SimpleQueue[None] | None = None
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        """Route SIGHUP, SIGINT and SIGTERM to this supervisor (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        """Put back the signal handlers that were there before :meth:`install`."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Runs in the main thread between bytecodes: touch no lock the main
        # thread might hold. CancelToken's lock is only ever held by the
        # helper and pool threads, which never wait for the main thread.
        if self.signum is None:
            self.signum = signum
        token = self._token
        if token is not None:
            token.cancel()
        wake = self._wake
        if wake is not None:
            wake.put(None)

    def check(self) -> None:
        """Raise :class:`Interrupted` if a signal arrived."""
        if self.signum is not None:
            raise Interrupted(self.signum)

    def run(self, fn: Callable[[CancelToken], T]) -> T:
        """Return ``fn(token)`` run on a helper thread; a signal cancels *token*.

        Raises :class:`Interrupted` when a signal arrived (whatever *fn* did
        then), else whatever *fn* raised.
        """
        from .. import CancelToken

        self.check()
        token = CancelToken()
        wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        outcome: list[tuple[bool, object]] = []

        def work() -> None:
            try:
                outcome.append((True, fn(token)))
            except BaseException as exc:  # handed to the main thread
                outcome.append((False, exc))
            finally:
                wake.put(None)

        self._token, self._wake = token, wake
        try:
            if self.signum is not None:  # a signal between check() and here
                token.cancel()
            helper = threading.Thread(target=work, name="crush-cli", daemon=True)
            helper.start()
            while not outcome and self.signum is None:
                with contextlib.suppress(queue.Empty):
                    wake.get(timeout=1.0)
            if not outcome:
                helper.join(GRACE)
                if not outcome:
                    self.abandoned = True
        finally:
            self._token = self._wake = None
        self.check()
        ok, value = outcome[0]
        if ok:
            return value  # type: ignore[return-value]
        raise value  # type: ignore[misc]
