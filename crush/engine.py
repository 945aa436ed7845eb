"""The whole operation: blocks, plugin, parallel execution, checksums, frames.

The only module that knows all the parts. Compression turns an iterable of
input chunks (one per block) into frame bytes; decompression turns a frame
:class:`~crush.frame.Source` into content blocks. Both the in-memory API and
the streaming file objects drive these generators, so there is one
implementation of framing.
"""

from __future__ import annotations

import itertools
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, final

from . import frame
from .contract import Buffer, CancelToken, Plugin
from .errors import (
    CancelledError,
    ConfigError,
    CorruptFrameError,
    CrushError,
    OutputLimitError,
    PluginError,
)
from .execution import Deadline, default_threads, resolve_timeout, run_inline, run_pooled
from .registry import DEFAULT_REGISTRY, Registry

log = logging.getLogger("crush")

DEFAULT_BLOCK_SIZE: Final = 1 << 20
"""Block size used unless the caller picks one (see tools/bench for the measurement)."""

INLINE_LIMIT: Final = 64 << 10
"""Inputs up to this size run on the caller's thread when the plugin is a built-in."""

Level = int | str | None


@final
@dataclass(frozen=True, slots=True)
class Options:
    """Resolved per-call options shared by compression and decompression."""

    registry: Registry
    threads: int
    timeout: float | None
    cancel: CancelToken | None


def options(
    registry: Registry | None,
    threads: int | None,
    timeout: float | None,
    cancel: CancelToken | None,
) -> Options:
    """Validate the common keyword arguments of every API call."""
    if threads is None:
        threads = default_threads()
    elif isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be an int >= 1, got {threads!r}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0
    ):
        raise ConfigError(f"timeout must be seconds >= 0 (0 disables the deadline), got {timeout!r}")
    if cancel is not None and not isinstance(cancel, CancelToken):
        raise ConfigError(f"cancel must be a crush.CancelToken, got {type(cancel).__name__}")
    return Options(registry or DEFAULT_REGISTRY, threads, timeout, cancel)


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
        raise ConfigError(f"level must be an int or a preset name, got {level!r}")
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


def _trusted(plugin: Plugin) -> bool:
    # crush's own plugins wrap codecs that cannot hang on a small block, so
    # they may run on the caller's thread; anything else always runs on a
    # worker so its deadline can be enforced.
    return type(plugin).__module__.startswith(f"{__package__}.plugins.")


def _run(
    fns: Iterable[Callable[[], tuple[bool, int, Buffer]]],
    deadline: Deadline,
    plugin: Plugin,
    opts: Options,
    size_hint: int | None,
) -> Iterator[tuple[bool, int, Buffer]]:
    small = size_hint is not None and size_hint <= INLINE_LIMIT
    if _trusted(plugin) and (opts.threads == 1 or small):
        return run_inline(fns, deadline)
    return run_pooled(fns, deadline, opts.threads)


def _deadline(plugin: Plugin, opts: Options) -> Deadline:
    timeout = resolve_timeout(
        opts.timeout, opts.registry.timeout_for(plugin.name), opts.registry.default_timeout
    )
    if opts.registry.isolation_for(plugin.name) == "process":
        # TODO(issue 3): process isolation; until then such plugins run in threads.
        pass
    return Deadline(plugin.name, timeout, opts.cancel)


def _compress_job(
    plugin: Plugin, level: int, chunk: Buffer, token: CancelToken
) -> Callable[[], tuple[bool, int, Buffer]]:
    def job() -> tuple[bool, int, Buffer]:
        crc = zlib.crc32(chunk)
        try:
            out = plugin.compress(chunk, level, token)
        except (CancelledError, CrushError):
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin {plugin.name!r} failed to compress a block: {exc!r}",
                plugin=plugin.name, plugin_id=plugin.plugin_id,
            ) from exc
        if not isinstance(out, bytes | bytearray):
            raise PluginError(
                f"plugin {plugin.name!r} returned {type(out).__name__} from compress(), "
                "not bytes", plugin=plugin.name, plugin_id=plugin.plugin_id,
            )
        if len(out) >= len(chunk):
            return True, crc, chunk
        return False, crc, out

    return job


def compress_frames(
    chunks: Iterable[Buffer],
    plugin: Plugin,
    level: Level,
    opts: Options,
    *,
    block_size: int,
    info: frame.FileInfo | None = None,
    size_hint: int | None = None,
) -> Iterator[Buffer]:
    """Yield the bytes of the frame(s) compressing *chunks* (each <= *block_size*).

    When the plugin fails on a block, a warning is logged, the frame is ended
    after the last good block and the rest is compressed with the registry's
    default plugin in a new frame (frames concatenate, so the content is
    unchanged); for a failure on the first block that is simply one frame
    made by the default plugin. Timeouts and cancellation never fall back.
    """
    native = resolve_level(plugin, level)
    source = iter(chunks)
    with _deadline(plugin, opts) as deadline:
        header = frame.encode_header(plugin.plugin_id, block_size, info)
        window: dict[int, Buffer] = {}
        counter = itertools.count()

        def jobs() -> Iterator[Callable[[], tuple[bool, int, Buffer]]]:
            for chunk in source:
                if len(chunk):
                    window[next(counter)] = chunk
                    yield _compress_job(plugin, native, chunk, deadline.token)

        total = 0
        crc = 0
        index = 0
        try:
            for raw, block_crc, payload in _run(jobs(), deadline, plugin, opts, size_hint):
                if header:
                    yield header
                    header = b""
                size = len(window.pop(index))
                index += 1
                yield frame.encode_block_header(raw, size, len(payload), block_crc)
                yield payload
                crc = frame.crc32_combine(crc, block_crc, size)
                total += size
        except PluginError as exc:
            default = opts.registry.default
            if plugin is default or exc.plugin != plugin.name:
                raise
            log.warning("crush: plugin %r failed (%s); compressing with the default plugin %r "
                        "instead", plugin.name, exc.__cause__ or exc, default.name)
            rest = itertools.chain((window[i] for i in sorted(window) if i >= index), source)
            if not header:
                yield frame.encode_end(total, crc)
            yield from compress_frames(rest, default, None, opts, block_size=block_size,
                                       info=info, size_hint=size_hint)
            return
    if header:
        yield header
    yield frame.encode_end(total, crc)


@final
class FrameDecoder:
    """Decode every frame from a :class:`~crush.frame.Source` into content blocks.

    Iterating yields each block's content in order; blocks are decoded in
    parallel ahead of the consumer. Not thread-safe.
    """

    def __init__(
        self,
        src: frame.Source,
        opts: Options,
        max_output_size: int | None,
        size_hint: int | None = None,
    ) -> None:
        if max_output_size is not None and (
            isinstance(max_output_size, bool) or not isinstance(max_output_size, int)
            or max_output_size < 0
        ):
            raise ConfigError(f"max_output_size must be an int >= 0, got {max_output_size!r}")
        self._src = src
        self._opts = opts
        self._limit = max_output_size
        self._size_hint = size_hint
        self.produced = 0

    def __iter__(self) -> Iterator[Buffer]:
        first = True
        while first or not self._src.at_eof():
            first = False
            yield from self._frame()

    def _frame(self) -> Iterator[Buffer]:
        header = frame.read_header(self._src)
        plugin = self._opts.registry.by_id(header.plugin_id)
        end: list[frame.EndRecord] = []
        with _deadline(plugin, self._opts) as deadline:
            fns = self._jobs(header, plugin, deadline.token, end)
            blocks = _run(fns, deadline, plugin, self._opts, self._size_hint)
            total = 0
            crc = 0
            for _, block_crc, out in blocks:
                yield out
                total += len(out)
                crc = frame.crc32_combine(crc, block_crc, len(out))
        (marker,) = end
        if marker.total_size != total or marker.crc != crc:
            raise CorruptFrameError(
                f"crush frame content check failed at offset {marker.offset}: the end marker "
                f"declares {marker.total_size} bytes with CRC32 {marker.crc:08x}, the blocks "
                f"hold {total} bytes with CRC32 {crc:08x}",
                offset=marker.offset,
            )

    def _jobs(
        self,
        header: frame.FrameHeader,
        plugin: Plugin,
        token: CancelToken,
        end: list[frame.EndRecord],
    ) -> Iterator[Callable[[], tuple[bool, int, Buffer]]]:
        while True:
            record = frame.read_record(self._src, header)
            if isinstance(record, frame.EndRecord):
                end.append(record)
                return
            if self._limit is not None and self.produced + record.size > self._limit:
                raise OutputLimitError(
                    f"decompressed data would exceed max_output_size={self._limit} bytes",
                    limit=self._limit,
                )
            self.produced += record.size
            yield _decompress_job(plugin, record, token)


def _decompress_job(
    plugin: Plugin, record: frame.BlockRecord, token: CancelToken
) -> Callable[[], tuple[bool, int, Buffer]]:
    def job() -> tuple[bool, int, Buffer]:
        if record.raw:
            out: Buffer = record.payload
        else:
            try:
                out = plugin.decompress(record.payload, record.size, token)
            except (CancelledError, CrushError):
                raise
            except Exception as exc:
                raise PluginError(
                    f"plugin {plugin.name!r} failed to decompress the block at offset "
                    f"{record.offset}: {exc}", plugin=plugin.name, plugin_id=plugin.plugin_id,
                ) from exc
            if not isinstance(out, bytes | bytearray):
                raise PluginError(
                    f"plugin {plugin.name!r} returned {type(out).__name__} from decompress(), "
                    "not bytes", plugin=plugin.name, plugin_id=plugin.plugin_id,
                )
            if len(out) != record.size:
                raise PluginError(
                    f"plugin {plugin.name!r} decompressed the block at offset {record.offset} "
                    f"to {len(out)} bytes; the frame declares {record.size}",
                    plugin=plugin.name, plugin_id=plugin.plugin_id,
                )
        crc = zlib.crc32(out)
        if crc != record.crc:
            raise CorruptFrameError(
                f"block at offset {record.offset} fails its CRC32 check "
                f"(stored {record.crc:08x}, computed {crc:08x}); the data is corrupt",
                offset=record.offset,
            )
        return record.raw, crc, out

    return job
