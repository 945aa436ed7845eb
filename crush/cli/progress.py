"""The progress bar: a reader that counts bytes into a tqdm bar on stderr.

crush's stream functions read their source with ``read(n)``, so wrapping
the source is all it takes to follow progress; no API hook is needed.
tqdm is imported only when a bar is actually shown (it costs ~100 ms), and
a missing tqdm just means no bar.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from typing import Any
from typing import Final

THRESHOLD: Final = 1 << 20
"""Inputs larger than this (bytes) may get a bar; smaller ones finish too fast to need one."""

DELAY: Final = 1.0
"""Seconds before a bar appears: work that ends sooner shows none (quiet like gzip)."""


class CountingReader(io.RawIOBase):
    """A read-only binary stream that reports how many bytes pass through it.

    ``on_read(n)`` is called after every read that returned *n* > 0 bytes.
    Wraps *raw* without owning it: ``close()`` leaves *raw* open. Not
    thread-safe (one reader thread).
    """

    def __init__(self, raw: Any, on_read: Callable[[int], object]) -> None:
        super().__init__()
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        """Return True: this stream only reads."""
        return True

    def read(self, size: int = -1, /) -> bytes:
        """Return up to *size* bytes from the wrapped stream (all for -1)."""
        data: bytes = self._raw.read(size)
        if data:
            self._on_read(len(data))
        return data or b""

    def readinto(self, buffer: Any, /) -> int:
        """Read into *buffer*; return the number of bytes read."""
        n: int = self._raw.readinto(buffer) or 0
        if n:
            self._on_read(n)
        return n


def _has_size() -> bool:
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (AttributeError, ValueError, OSError):
        return False
    return size.columns > 0 and size.lines > 0


class Bar:
    """A tqdm bar counting bytes on stderr (bytes, percentage, MB/s, ETA).

    ``update`` may be called from the thread doing the work; ``close``
    from any thread once the work stopped.
    """

    def __init__(self, total: int, label: str) -> None:
        import threading

        from tqdm import tqdm  # type: ignore[import-untyped,import-not-found,unused-ignore]

        # tqdm's default lock and monitor thread pull in multiprocessing and
        # another thread; one bar at a time needs neither.
        tqdm.set_lock(threading.RLock())
        tqdm.monitor_interval = 0
        # A terminal that reports no size (a bare pty, `script`) makes tqdm
        # hide the bar: assume 80x24 there.
        sized = _has_size()
        self._bar: Any = tqdm(
            total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1000,
            file=sys.stderr, leave=False, mininterval=0.2, delay=DELAY, dynamic_ncols=sized,
            ncols=None if sized else 80, nrows=None if sized else 24,
        )

    def update(self, n: int) -> None:
        """Add *n* processed bytes."""
        self._bar.update(n)

    def close(self) -> None:
        """Remove the bar from the terminal."""
        self._bar.close()


def make_bar(total: int | None, label: str, *, enabled: bool) -> Bar | None:
    """Return a bar for *total* bytes when wanted and possible, else None.

    Wanted means *enabled* (not ``-q``/``--no-progress``), stderr is a
    terminal and the input is larger than :data:`THRESHOLD`; the bar then
    appears only once the work has lasted :data:`DELAY` seconds.
    """
    if not enabled or total is None or total <= THRESHOLD:
        return None
    try:
        if not sys.stderr.isatty():
            return None
    except (AttributeError, ValueError):  # stderr closed or replaced
        return None
    try:
        return Bar(total, label)
    except ImportError:
        return None
