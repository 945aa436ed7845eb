"""Write a standard format: blocks become units on the worker pool, written in order.

The format's counterpart of :class:`crush.engine.Compressor`, with the
same ``feed``/``drain``/``finish``/``close`` shape so the in-memory API
and the streams drive either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..contract import Buffer
from ..errors import ConfigError
from ..execution import Deadline
from ..execution import InlineRunner
from ..execution import PoolRunner
from ..execution import Runner
from ..execution import resolve_timeout
from ..frame import FileInfo
from ..frame import check_file_info
from ..options import Options
from .contract import Format

if TYPE_CHECKING:
    from ..options import Level

INLINE_LIMIT = 64 << 10


def level_for(level: Level) -> int | None:
    """Return a format's native level for *level* (presets map to zlib/zstd-like levels)."""
    presets = {"fast": 1, "balanced": None, "best": 9}
    if level is None or (isinstance(level, int) and not isinstance(level, bool)):
        return level
    if isinstance(level, str) and level in presets:
        return presets[level]
    raise ConfigError(f"level must be an int or 'fast', 'balanced', 'best', got {level!r}")


class UnitCompressor:
    """Turn blocks of content into units of *fmt*, compressed in parallel, in order.

    ``feed(block)`` returns the bytes that became ready; at most ``threads``
    blocks are in flight. ``finish()`` returns the rest and the format's
    ending (seek table, EOF member). ``sizes`` lists the (stored, content)
    size of every unit written. Not thread-safe.
    """

    def __init__(self, fmt: Format, level: Level, opts: Options, *,
                 info: FileInfo | None = None, size_hint: int | None = None) -> None:
        self.fmt = fmt
        self._level = level_for(level)
        try:
            # Refuse a level the codec refuses before anything is written.
            fmt.encode_unit(b"", self._level, None)
        except Exception as exc:  # zlib's ValueError, zstd's ZstdError, ...
            raise ConfigError(f"level {level!r} is not a level of the {fmt.name} format "
                              f"({exc}); gzip and bgzf take 0-9, zstd 1-22") from exc
        self._info = check_file_info(info)
        self._opts = opts
        self.sizes: list[tuple[int, int]] = []
        self._inflight: list[int] = []
        timeout = resolve_timeout(opts.timeout, None, opts.registry.default_timeout)
        self._deadline = Deadline(fmt.name, timeout, opts.cancel)
        small = size_hint is not None and size_hint <= INLINE_LIMIT
        self._runner: Runner[bytes] = (
            InlineRunner(self._deadline) if opts.threads == 1 or small
            else PoolRunner(self._deadline, opts.threads))

    def rearm(self) -> None:
        """Restart the deadline (streams apply it per call)."""
        self._deadline.rearm()

    def _job(self, block: Buffer) -> Callable[[], bytes]:
        fmt, level = self.fmt, self._level
        info, self._info = self._info, None  # the first unit carries the file's facts
        return lambda: fmt.encode_unit(block, level, info)

    def feed(self, block: Buffer) -> list[Buffer]:
        """Submit one non-empty block; return unit bytes that are ready."""
        out: list[Buffer] = []
        if len(self._runner) >= self._opts.threads:
            self._take(out)
        self._inflight.append(len(block))
        self._runner.submit(self._job(block))
        return out

    def _take(self, out: list[Buffer]) -> None:
        unit = self._runner.take()
        self.sizes.append((len(unit), self._inflight.pop(0)))
        out.append(unit)

    def drain(self) -> list[Buffer]:
        """Wait for every block in flight and return their units."""
        out: list[Buffer] = []
        while self._inflight:
            self._take(out)
        return out

    def finish(self) -> list[Buffer]:
        """Return the remaining units and the format's ending."""
        out = self.drain()
        if not self.sizes and not self.fmt.finish(()):
            # A format with no ending (gzip) is still one unit when empty.
            out.append(self.fmt.encode_unit(b"", self._level, self._info))
            self.sizes.append((len(out[-1]), 0))
        out.append(self.fmt.finish(self.sizes))
        return out

    def close(self) -> None:
        """Abandon the operation: cancel blocks in flight."""
        self._runner.close()
        self._deadline.close()
