"""Validate the options every API call takes and resolve levels and block sizes."""

from __future__ import annotations

from typing import Final
from typing import NamedTuple
from typing import final

from . import frame
from .contract import CancelToken
from .contract import Plugin
from .errors import ConfigError
from .execution import MAX_THREADS
from .execution import default_threads
from .registry import DEFAULT_REGISTRY
from .registry import Isolation
from .registry import Registry

DEFAULT_BLOCK_SIZE: Final = 1 << 20
"""Block size used unless the caller picks one (see tools/bench for the measurement)."""

Level = int | str | None


@final
class Options(NamedTuple):
    """Resolved per-call options shared by compression and decompression."""

    registry: Registry
    threads: int
    timeout: float | None
    cancel: CancelToken | None
    isolation: Isolation | None = None


def options(
    registry: Registry | None,
    threads: int | None,
    timeout: float | None,
    cancel: CancelToken | None,
    isolation: Isolation | None = None,
) -> Options:
    """Validate the common keyword arguments of every API call."""
    if threads is None:
        threads = default_threads()
    elif isinstance(threads, bool) or not isinstance(threads, int) \
            or not 1 <= threads <= MAX_THREADS:
        # Each thread costs a stack and a block in flight; thousands only
        # exhaust memory (and the OS's thread limit) without adding speed.
        raise ConfigError(f"threads must be an int in 1..{MAX_THREADS} "
                          f"(crush.execution.MAX_THREADS), got {threads!r}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0
    ):
        raise ConfigError(
            f"timeout must be a number of seconds >= 0 (0 or math.inf disables the "
            f"deadline), got {timeout!r}"
        )
    if cancel is not None and not isinstance(cancel, CancelToken):
        raise ConfigError(f"cancel must be a crush.CancelToken, got {type(cancel).__name__}")
    if isolation not in (None, "thread", "process"):
        raise ConfigError(f"isolation must be 'thread' or 'process', got {isolation!r}")
    return Options(registry or DEFAULT_REGISTRY, threads, timeout, cancel, isolation)


def resolve_level(plugin: Plugin, level: Level) -> int:
    """Return the native level for *level* (None, a preset name, or a native int)."""
    meta = plugin.metadata
    if level is None:
        return meta.default_level
    if isinstance(level, str):
        try:
            return meta.preset(level)
        except KeyError:
            raise ConfigError(
                f"level {level!r} is not a preset; use 'fast', 'balanced', 'best' or an int in "
                f"{meta.min_level}..{meta.max_level} for {plugin.name}"
            ) from None
    if isinstance(level, bool) or not isinstance(level, int):
        raise ConfigError(
            f"level must be an int in {meta.min_level}..{meta.max_level} or 'fast', "
            f"'balanced', 'best' for {plugin.name}, got {level!r}"
        )
    if not meta.min_level <= level <= meta.max_level:
        raise ConfigError(
            f"level {level} is out of range for {plugin.name}: use {meta.min_level}..."
            f"{meta.max_level} or 'fast', 'balanced', 'best'"
        )
    return level


def check_block_size(block_size: int | None) -> int:
    """Validate a caller's block size; None means the default."""
    if block_size is None:
        return DEFAULT_BLOCK_SIZE
    if isinstance(block_size, bool) or not isinstance(block_size, int) \
            or not 1 <= block_size <= frame.MAX_BLOCK_SIZE:
        raise ConfigError(f"block_size must be an int in 1..{frame.MAX_BLOCK_SIZE}, "
                          f"got {block_size!r}")
    return block_size
