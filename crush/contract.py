"""The plugin contract: what a codec plugin is, may assume and must guarantee.

A plugin is any object with the attributes and methods of :class:`Plugin`.
It is registered statically: listed in ``plugins.toml`` and imported by the
generated ``crush/_registry.py``, or passed to :class:`crush.Registry`.

Rules a plugin may rely on:

* ``compress`` receives one block: at most the frame's block size
  (1 MiB by default), as ``bytes``, ``bytearray`` or ``memoryview``. It may
  be called concurrently from several threads, each with a different block.
* ``decompress`` receives exactly the bytes its own ``compress`` returned for
  one block and the block's uncompressed size as recorded in the frame.
* crush frames, checksums, splits into blocks, runs blocks in parallel and
  enforces deadlines. A plugin never does any of that.

Rules a plugin must keep:

* Never share a codec context between threads (python-zstandard compressor
  objects, for example, are not thread-safe): create one per call or keep one
  per thread.
* ``compress`` returns ``bytes``, or its input object itself to have the
  block stored raw without a copy (the store plugin does that). A result
  that is not smaller than the input is stored raw anyway.
* ``decompress`` returns exactly ``size`` bytes or raises; it must not
  allocate more than ``size`` bytes of output for hostile input.
* Long-running work polls ``cancel.check()`` (or ``cancel.cancelled``) between
  steps, so a cancelled or timed-out operation stops promptly. A plugin that
  never polls still cannot hang the caller; its thread is abandoned.
* ``plugin_id`` is the plugin's wire identity, written into every frame it
  makes. It never changes and is never reused: ids 0x00-0x7F are reserved
  for crush's built-ins, 0x80-0xFF are for third-party plugins
  (``docs/PLUGINS.md`` holds the table).
* Output is a pure function of ``(data, level)`` and the codec version, so two
  plugins may share output only if they share the codec's wire format; two
  plugins with different formats must never share an id.
* A plugin MAY also offer ``decompress_into(data, out, cancel)``
  (:class:`DecompressInto`): decode one block straight into *out*, a
  writable ``memoryview`` of exactly the block's size, and return the bytes
  written. crush then decodes without an intermediate copy; plugins without
  it are called through ``decompress`` and their result is copied.
* Codec libraries are imported inside the methods with literal ``import``
  statements, so ``import crush`` stays cheap and PyInstaller's static
  analysis still finds them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final
from typing import NamedTuple
from typing import Protocol
from typing import TypeAlias
from typing import final
from typing import runtime_checkable

from .errors import CancelledError

Buffer: TypeAlias = bytes | bytearray | memoryview
"""A contiguous read-only byte buffer accepted as plugin input."""

BUILTIN_IDS: Final = range(0x00, 0x80)
"""Plugin ids reserved for crush's own plugins."""

THIRD_PARTY_IDS: Final = range(0x80, 0x100)
"""Plugin ids free for third-party plugins."""

PRESETS: Final = ("fast", "balanced", "best")
"""Level presets every plugin maps onto one of its native levels."""


@final
class PluginMetadata(NamedTuple):
    """Facts about a plugin that selection, the CLI and ``inspect`` report.

    ``throughput`` is compression speed in MB/s (one thread, default level)
    and ``ratio`` is compressed/original size on the sample corpus; both are
    hand-written guesses until ``tools/calibrate`` measures them.
    ``min_level``..``max_level`` is the native level range; ``fast``,
    ``balanced`` and ``best`` are the native levels the presets map to.
    ``formats`` names the input formats a specialist plugin targets (empty
    for general-purpose codecs). Immutable and safe to share between threads.
    """

    version: str
    description: str
    throughput: float
    ratio: float
    min_level: int
    max_level: int
    default_level: int
    fast: int
    balanced: int
    best: int
    formats: tuple[str, ...] = ()

    def preset(self, name: str) -> int:
        """Return the native level for the preset *name* (fast, balanced, best)."""
        if name == "fast":
            return self.fast
        if name == "balanced":
            return self.balanced
        if name == "best":
            return self.best
        raise KeyError(name)


@runtime_checkable
class Plugin(Protocol):
    """What a codec plugin provides. See the module docstring for the rules."""

    @property
    def name(self) -> str:
        """Unique lower-case name, used by ``plugin=`` and ``plugins.toml``."""
        ...

    @property
    def plugin_id(self) -> int:
        """Wire identity (0-255) written into every frame; never reused."""
        ...

    @property
    def metadata(self) -> PluginMetadata:
        """Facts used for selection and reporting."""
        ...

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> Buffer:
        """Return the compressed form of one block at native *level*.

        Returning *data* itself (the same object) means "store this block
        raw" at no cost; any other result must be ``bytes``.
        """
        ...

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return exactly *size* bytes decoded from one compressed block."""
        ...

    def detect(self, header: bytes) -> bool:
        """Return True when this plugin is a candidate for input starting with *header*."""
        ...


@runtime_checkable
class DecompressInto(Protocol):
    """The optional fast path of a plugin: decode one block into a caller's buffer."""

    def decompress_into(self, data: Buffer, out: memoryview, cancel: CancelToken) -> int:
        """Decode one block into *out* (exactly its size, writable); return ``len(out)``.

        Raise when the block does not decode to exactly ``len(out)`` bytes,
        and never write outside *out*; what *out* holds after an error does
        not matter.
        """
        ...


@final
class CancelToken:
    """A cheap, thread-safe cancellation flag.

    ``cancel()`` may be called from any thread, any number of times.
    Plugins poll ``cancelled`` or call ``check()``; the engine links an
    operation's own token to the caller's, so cancelling the caller's token
    cancels every block in flight. A token cannot be reset; make a new one.
    """

    __slots__ = ("_callbacks", "_event", "_lock")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], object]] = []

    @property
    def cancelled(self) -> bool:
        """True once ``cancel()`` was called."""
        return self._event.is_set()

    def cancel(self) -> None:
        """Cancel the token and every token linked to it."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def check(self) -> None:
        """Raise :class:`crush.CancelledError` if the token was cancelled."""
        if self._event.is_set():
            raise CancelledError("operation cancelled")

    def wait(self, seconds: float | None = None) -> bool:
        """Block up to *seconds* until cancelled; return whether it was.

        Lets a cooperative plugin sleep or wait without missing a cancel.
        """
        return self._event.wait(seconds)

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Run *callback* once on cancel (now if already cancelled); return an unsubscriber."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._discard(callback)
        callback()
        return lambda: None

    def _discard(self, callback: Callable[[], object]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"
