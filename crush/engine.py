"""The whole operation: blocks, plugin, parallel execution, checksums, frames.

The only module that knows all the parts. :class:`Compressor` turns blocks
of input into frame bytes, pushed one block at a time so both the in-memory
API and the streaming writer drive it; :class:`FrameDecoder` turns a frame
:class:`~crush.frame.Source` into content blocks for the in-memory API and
the streaming reader alike. There is no second implementation of framing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from collections.abc import Generator
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Final
from typing import NamedTuple
from typing import TypeVar
from typing import final

from . import _into
from . import checksum
from . import frame
from . import frame_v2
from .contract import Buffer
from .contract import CancelToken
from .contract import Plugin
from .errors import ConfigError
from .errors import CorruptBlockError
from .errors import CorruptFrameError
from .errors import CrushError
from .errors import CrushTimeoutError
from .errors import OutputLimitError
from .errors import PluginError
from .errors import warn
from .execution import Deadline
from .execution import InlineRunner
from .execution import PoolRunner
from .execution import Runner
from .execution import resolve_timeout
from .options import Level
from .options import Options
from .options import resolve_level

if TYPE_CHECKING:  # selection, seek tables and process isolation load only when used
    from . import seektable
    from .selection import Probe

INLINE_LIMIT: Final = 64 << 10
"""Inputs up to this size run on the caller's thread when the plugin is a built-in."""

Block = tuple[bool, int, Buffer]
"""A finished block job: (stored raw, CRC32 of the content, payload or content)."""


def _trusted(plugin: Plugin) -> bool:
    # crush's own plugins wrap codecs that cannot hang on a small block.
    return type(plugin).__module__.startswith(f"{__package__}.plugins.")


@final
class _Operation:
    """One plugin's part of a call: deadline, token, thread or process, runner."""

    __slots__ = ("deadline", "isolated", "plugin", "runner")

    def __init__(self, plugin: Plugin, opts: Options, size_hint: int | None) -> None:
        timeout = resolve_timeout(
            opts.timeout, opts.registry.timeout_for(plugin.name), opts.registry.default_timeout
        )
        self.plugin = plugin
        self.isolated = (opts.isolation or opts.registry.isolation_for(plugin.name)) == "process"
        if self.isolated:
            from . import isolation

            isolation.check_isolatable(plugin)
        self.deadline = Deadline(plugin.name, timeout, opts.cancel)
        small = size_hint is not None and size_hint <= INLINE_LIMIT
        # A built-in codec cannot hang on a small block and an isolated plugin
        # enforces its deadline by killing its process, so both may run on
        # the caller's thread. Anything else runs on a pool worker, so the
        # deadline holds even if the plugin never returns.
        self.runner: Runner[Block]
        # The store plugin does no codec work (only the CRC32, limited by
        # memory speed), so a pool hop would only add latency.
        passthrough = _trusted(plugin) and plugin.metadata.ratio >= 1.0
        if (self.isolated or _trusted(plugin)) and (opts.threads == 1 or small or passthrough):
            self.runner = InlineRunner(self.deadline)
        else:
            # An isolated job raises the timeout itself after killing its
            # process; the grace keeps its thread from being abandoned.
            grace = 1.0 if self.isolated else 0.0
            self.runner = PoolRunner(self.deadline, opts.threads, grace=grace)

    def close(self) -> None:
        """Cancel what is still pending and unlink from the caller's token."""
        self.runner.close()
        self.deadline.close()

    def compress(self, chunk: Buffer, level: int) -> Buffer:
        """Call the plugin's compress in this operation's mode."""
        if self.isolated:
            from . import isolation

            return isolation.run(self.plugin, "compress", level, chunk,
                                 remaining=self.deadline.remaining,
                                 on_timeout=self.deadline.expire)
        return self.plugin.compress(chunk, level, self.deadline.token)

    def decompress(self, payload: Buffer, size: int) -> bytes:
        """Call the plugin's decompress in this operation's mode."""
        if self.isolated:
            from . import isolation

            return isolation.run(self.plugin, "decompress", size, payload,
                                 remaining=self.deadline.remaining,
                                 on_timeout=self.deadline.expire)
        return self.plugin.decompress(payload, size, self.deadline.token)

    def fail(self, what: str, exc: Exception) -> PluginError:
        """Return a PluginError for the plugin's exception *exc* while doing *what*."""
        error = PluginError(f"plugin {self.plugin.name!r} failed to {what}: {exc!r}",
                            plugin=self.plugin.name, plugin_id=self.plugin.plugin_id)
        error.__cause__ = exc
        return error

    def reject(self, record: frame.BlockRecord, exc: Exception) -> CorruptBlockError:
        """Return the error for a block the plugin could not decode."""
        error = CorruptBlockError(
            f"plugin {self.plugin.name!r} could not decode the block at offset "
            f"{record.offset}: {exc}; the data is corrupt (or the plugin is broken)",
            plugin=self.plugin.name, plugin_id=self.plugin.plugin_id, offset=record.offset,
        )
        error.__cause__ = exc
        return error


def _compress_job(op: _Operation, level: int, chunk: Buffer) -> Callable[[], Block]:
    def job() -> Block:
        crc = checksum.crc32(chunk)
        try:
            out = op.compress(chunk, level)
        except CrushError:
            raise
        except Exception as exc:
            raise op.fail("compress a block", exc) from exc
        if out is chunk:  # the plugin asks for the block to be stored raw
            return True, crc, chunk
        return _payload(op, chunk, crc, out)

    return job


def _payload(op: _Operation, chunk: Buffer, crc: int, out: object) -> Block:
    """Return the block record for what a plugin's compress returned, or raise PluginError.

    Whatever a plugin returns, the frame written must decode: a compressed
    record holds 1 to size-1 stored bytes (see ``frame.read_record``), so
    output that is not smaller is stored raw and an empty or non-bytes
    result is a plugin failure (the caller falls back to the default plugin).
    """
    if isinstance(out, memoryview):
        out = out.tobytes()  # its len() counts items, not bytes
    if not isinstance(out, bytes | bytearray):
        raise op.fail("compress a block", TypeError(
            f"compress() returned {type(out).__name__}, not bytes"))
    if not out:
        raise op.fail("compress a block", ValueError(
            f"compress() returned no bytes for a block of {len(chunk)} bytes"))
    if len(out) >= len(chunk):
        return True, crc, chunk
    return False, crc, out


T = TypeVar("T")


def _prober(opts: Options) -> Probe:
    """Return a :class:`~crush.selection.Probe` that runs calls like any plugin call.

    A third-party plugin's ``detect`` or sample compression runs on the pool
    under its plugin's deadline and the caller's token; a timeout costs only
    that plugin's deadline, is logged, and (in selection) makes the plugin no
    candidate or leaves it unsampled. A plugin past the stuck cap raises
    ``PluginError``. Built-in plugins run inline (they cannot hang).
    """

    def probe(plugin: Plugin, what: str, call: Callable[[CancelToken], T]) -> T:
        timeout = resolve_timeout(
            opts.timeout, opts.registry.timeout_for(plugin.name), opts.registry.default_timeout
        )
        with Deadline(plugin.name, timeout, opts.cancel) as deadline:
            runner: Runner[T] = (
                InlineRunner(deadline) if _trusted(plugin) else PoolRunner(deadline, 1)
            )
            try:
                runner.submit(lambda: call(deadline.token))
                return runner.take()
            except CrushTimeoutError as exc:
                warn("%s of plugin %r did not return within its %g s deadline; it is not "
                     "a candidate for this input", what, plugin.name, exc.timeout)
                raise
            finally:
                runner.close()

    return probe


@final
class Compressor:
    """Turn blocks of content into crush frame bytes, in parallel, in order.

    ``feed(block)`` submits one block (at most ``block_size`` bytes) and
    returns the frame bytes that became ready; at most ``threads`` blocks are
    in flight, so memory stays bounded. ``finish()`` returns the rest and the
    end marker; ``close()`` abandons the operation. Blocks that compression
    does not shrink are stored raw.

    When the plugin fails on a block, a warning is logged and the frame is
    ended after the last good block; the rest goes into a new frame made by
    the registry's default plugin (frames concatenate, so the content is
    unchanged; a failure on the first block gives a single default-plugin
    frame). Timeouts and cancellation never fall back.

    *plugin* may instead be a function that chooses the plugin from the
    first block (automatic selection, see :func:`crush.selection.chooser`);
    an empty input is offered ``b""``. It gets a probe that runs every
    ``detect`` and sample compression under the deadline and the caller's
    token, so a hung plugin cannot make choosing outlast the call's timeout.
    Not thread-safe.
    """

    def __init__(
        self,
        plugin: Plugin | Callable[[Buffer, Probe], Plugin],
        level: Level,
        opts: Options,
        *,
        block_size: int,
        info: frame.FileInfo | None = None,
        size_hint: int | None = None,
        version: int = frame.VERSION,
    ) -> None:
        self._level_asked = level
        self._version = version
        self._index: frame_v2.IndexWriter | None = None
        self._opts = opts
        self._block_size = block_size
        self._info = frame.check_file_info(info)
        self._size_hint = size_hint
        self._inflight: list[Buffer] = []  # blocks submitted, oldest first
        self._header_sent = False
        self._total = 0
        self._crc = 0
        self._op: _Operation | None = None
        self._choose: Callable[[Buffer, Probe], Plugin] | None = None
        self.plugin: Plugin | None = None
        """The plugin of the frame being written (None until chosen; changes on fallback)."""
        if hasattr(plugin, "compress"):  # a plugin, not a chooser (cheaper than isinstance)
            self._begin(plugin)  # type: ignore[arg-type]
        else:
            self._choose = plugin

    def _begin(self, plugin: Plugin) -> _Operation:
        self._level = resolve_level(plugin, self._level_asked)
        self.plugin = plugin
        op = self._op = _Operation(plugin, self._opts, self._size_hint)
        return op

    def _operation(self, first: Buffer) -> _Operation:
        if self._op is not None:
            return self._op
        assert self._choose is not None
        return self._begin(self._choose(first, _prober(self._opts)))

    def rearm(self) -> None:
        """Restart the deadline (streams apply it per call)."""
        if self._op is not None:
            self._op.deadline.rearm()

    def feed(self, block: Buffer) -> list[Buffer]:
        """Submit one non-empty block; return frame bytes that are ready."""
        if not 0 < len(block) <= self._block_size:
            # The frame's records declare 1..block_size bytes; anything else
            # would be written and then refused by every reader.
            raise ValueError(f"a block must hold 1..{self._block_size} bytes, got {len(block)}")
        op = self._operation(block)
        out: list[Buffer] = []
        if len(op.runner) >= self._opts.threads:
            self._take(out)
            op = self._operation(block)  # a fallback may have replaced it
        self._inflight.append(block)
        op.runner.submit(_compress_job(op, self._level, block))
        return out

    @property
    def pending(self) -> int:
        """Blocks fed whose frame bytes have not been returned yet.

        The others are done with: a caller that reuses block buffers may
        refill them once the bytes returned with them are written.
        """
        return len(self._inflight)

    def drain(self) -> list[Buffer]:
        """Wait for every block in flight and return their frame bytes."""
        out: list[Buffer] = []
        while self._inflight:
            self._take(out)
        return out

    def finish(self) -> list[Buffer]:
        """Wait for every block and return the remaining frame bytes and end marker."""
        out = self.drain()
        op = self._operation(b"")
        if not self._header_sent:
            out.append(self._header())
        out.append(self._end())
        op.close()
        return out

    def close(self) -> None:
        """Abandon the operation: cancel blocks in flight."""
        if self._op is not None:
            self._op.close()

    def _header(self) -> bytes:
        assert self.plugin is not None
        self._header_sent = True
        head = frame.encode_header(self.plugin.plugin_id, self._block_size, self._info,
                                   self._version)
        self._index = frame_v2.IndexWriter(len(head)) if self._version != 1 else None
        return head

    def _end(self) -> bytes:
        if self._index is None:
            return frame.encode_end(self._total, self._crc)
        return self._index.footer(self._total, self._crc)

    def _take(self, out: list[Buffer]) -> None:
        while True:
            assert self._op is not None and self.plugin is not None
            try:
                raw, crc, payload = self._op.runner.take()
            except PluginError as exc:
                if exc.plugin != self.plugin.name or self.plugin is self._opts.registry.default:
                    raise
                self._fall_back(exc, out)
                continue
            block = self._inflight.pop(0)
            if not self._header_sent:
                out.append(self._header())
            if self._index is None:
                out.append(frame.encode_block_header(raw, len(block), len(payload), crc))
            else:
                out.append(self._index.record(raw, len(block), payload, crc))
            out.append(payload)
            self._crc = frame.crc32_combine(self._crc, crc, len(block))
            self._total += len(block)
            return

    def _fall_back(self, exc: PluginError, out: list[Buffer]) -> None:
        assert self._op is not None and self.plugin is not None
        default = self._opts.registry.default
        warn("plugin %r failed (%s); compressing with the default plugin %r instead",
             self.plugin.name, exc.__cause__ or exc, default.name)
        self._op.close()
        if self._header_sent:
            out.append(self._end())
        self._header_sent = False
        self._total = self._crc = 0
        self._level_asked = None
        op = self._begin(default)
        for block in self._inflight:
            op.runner.submit(_compress_job(op, self._level, block))


def _decompress_job(op: _Operation, record: frame.BlockRecord) -> Callable[[], Block]:
    def job() -> Block:
        if record.raw:
            out: Buffer = record.payload
        else:
            try:
                out = op.decompress(record.payload, record.size)
            except CrushError:
                raise
            except Exception as exc:
                raise op.reject(record, exc) from exc
            if not isinstance(out, bytes | bytearray):
                raise op.fail("decompress a block", TypeError(
                    f"decompress() returned {type(out).__name__}, not bytes"))
            if len(out) != record.size:
                raise op.fail("decompress a block", ValueError(
                    f"the block at offset {record.offset} decoded to {len(out)} bytes; the "
                    f"frame declares {record.size}"))
        return record.raw, _into.check_crc(record, out), out

    return job


@final
class BlockStart(NamedTuple):
    """Where a block starts: enough to resume decoding there (used for seeking).

    ``file_offset`` is the block record's offset in the source and
    ``next_offset`` the offset just past it; ``content_offset`` is the offset
    of its first content byte in the whole decoded stream, ``size`` and
    ``crc`` its content's size and stored CRC32; ``frame_total`` and
    ``frame_crc`` are the size and CRC32 of the frame's content before it
    (``frame_crc`` is None when unknown, as when a seek table located the
    block: the frame's end is then checked by size, and each block by its CRC).
    """

    file_offset: int
    next_offset: int
    content_offset: int
    size: int
    crc: int
    header: frame.FrameHeader
    frame_total: int
    frame_crc: int | None


def _chain(crc: int | None, record: frame.BlockRecord) -> int | None:
    # The content CRC32 through *record*; None stays unknown (see BlockStart).
    return None if crc is None else frame.crc32_combine(crc, record.crc, record.size)


def _read_record(src: frame.Source, header: frame.FrameHeader,
                 tally: frame_v2.Tally | None) -> frame.BlockRecord | frame.EndRecord:
    if tally is None:
        return frame.read_record(src, header)
    return frame_v2.read_record(src, header, tally)


def resume_point(index: seektable.BlockIndex, entry: seektable.BlockEntry) -> BlockStart:
    """Return the :class:`BlockStart` that resumes decoding at *entry* of a seek table.

    The table has no running content CRC32 for a block inside a frame
    (``frame_crc`` is None); every block's own CRC32 is still checked.
    """
    found = index.frames[entry.frame]
    return BlockStart(
        entry.offset, entry.offset + entry.record_size + entry.stored_size,
        entry.content_offset, entry.size, entry.crc, found.header,
        entry.content_offset - found.content_offset, None)


@final
class FrameDecoder:
    """Decode every frame from a :class:`~crush.frame.Source` into content blocks.

    Iterating yields each block's content in order; up to ``threads`` blocks
    are read and decoded ahead of the consumer. Concatenated frames decode as
    one stream. With *into* (a writable byte view exactly the content's
    size, see :mod:`crush._into`) each block is decoded into its slice of it
    and iterating yields empty blocks. With *reuse*, blocks of plugins that
    decode into a buffer are decoded into a few block-sized buffers used over
    and over (no fresh memory, so no page faults, per block): each yielded
    block is then a view valid only until the next is taken, as the
    ``write(b)`` of a file object needs. *resume* starts in the middle of a frame, at a block a
    previous decoder reported to *on_block* (called as each block record is
    read); *source* must then be positioned at that block's record. Not
    thread-safe.
    """

    def __init__(
        self,
        src: frame.Source,
        opts: Options,
        max_output_size: int | None = None,
        size_hint: int | None = None,
        *,
        resume: BlockStart | None = None,
        on_block: Callable[[BlockStart], object] | None = None,
        into: memoryview | None = None,
        reuse: bool = False,
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
        self._resume = resume
        self._on_block = on_block
        self._into = into
        self._reuse = reuse and into is None
        self._spare: list[bytearray] = []
        self._lent: bytearray | None = None
        self._op: _Operation | None = None
        self._offset = resume.content_offset if resume else 0
        self.produced = 0
        """Content bytes declared by the block records read so far."""
        self.header: frame.FrameHeader | None = resume.header if resume else None
        """The header of the frame being decoded (None before the first is read)."""

    def rearm(self) -> None:
        """Restart the current frame's deadline (streams apply it per call)."""
        if self._op is not None:
            self._op.deadline.rearm()

    def __iter__(self) -> Iterator[Buffer]:
        return self.blocks()

    def blocks(self) -> Generator[Buffer, None, None]:
        """Iterate the content blocks; ``close()`` on the generator cancels read-ahead.

        Empty input has no frames and no content (as gzip); zero padding
        after a frame is skipped (see :func:`crush.frame.more_frames`).
        """
        resume, self._resume = self._resume, None
        if resume is not None or not self._src.at_eof():
            yield from self._frame(resume, following=False)
        while frame.more_frames(self._src):
            yield from self._frame(None, following=True)

    def close(self) -> None:
        """Cancel blocks decoding ahead."""
        if self._op is not None:
            self._op.close()

    def _frame(self, resume: BlockStart | None, *, following: bool) -> Iterator[Buffer]:
        crc: int | None
        if resume is None:
            header = self.header = frame.read_header(self._src, following=following)
            total = crc = 0
        else:
            header, total, crc = resume.header, resume.frame_total, resume.frame_crc
        # A v2 footer is checked against every block read, unless decoding
        # resumed mid-frame (a seek): then against itself and the content.
        tally = frame_v2.Tally(header.size) if resume is None and header.version != 1 else None
        plugin = self._opts.registry.by_id(header.plugin_id)
        op = self._op = _Operation(plugin, self._opts, self._size_hint)
        runner = op.runner
        threads = self._opts.threads
        end: frame.EndRecord | None = None
        failure: CrushError | None = None
        # The reused buffer (and content size) of each block in flight, in order.
        buffers: deque[tuple[bytearray, int] | None] = deque()
        try:
            while True:
                self._give_back()  # the consumer is done with the block lent last
                while end is None and failure is None and len(runner) < threads:
                    try:
                        record = _read_record(self._src, header, tally)
                        if not isinstance(record, frame.EndRecord):
                            self._account(record.size)
                    except CrushError as exc:
                        # Hand out the blocks read ahead of the damage first, so
                        # a stream fails where the damage is, whatever *threads*.
                        failure = exc
                        break
                    if isinstance(record, frame.EndRecord):
                        end = record
                        break
                    if self._on_block is not None:
                        self._on_block(BlockStart(
                            record.offset, self._src.tell(), self._offset, record.size,
                            record.crc, header, total, crc,
                        ))
                    start = self._offset
                    self._offset += record.size
                    # Each job verifies its block against the stored CRC, so
                    # the stored CRCs chain into the content CRC.
                    total += record.size
                    crc = _chain(crc, record)
                    job, buffer = self._job(op, record, start)
                    buffers.append(buffer)
                    runner.submit(job)
                    del record  # the job owns the payload now and drops it once decoded
                if not len(runner):
                    break
                yield self._next_block(runner, buffers)
            if failure is not None:
                raise failure
        finally:
            op.close()
        assert end is not None
        if end.total_size != total or (crc is not None and end.crc != crc):
            raise CorruptFrameError(
                f"crush frame content check failed at offset {end.offset}: the end marker "
                f"declares {end.total_size} bytes with CRC32 {end.crc:08x}, the blocks "
                f"hold {total} bytes with CRC32 {crc or 0:08x}",
                offset=end.offset,
            )

    def _job(self, op: _Operation, record: frame.BlockRecord, start: int
             ) -> tuple[Callable[[], Block], tuple[bytearray, int] | None]:
        job = _decompress_job(op, record)
        if self._into is not None:
            target = self._into[start : start + record.size]
            return _into.block_job(op, record, target, job), None
        if not self._reuse or not _into.decodes_into(op, record):
            return job, None
        buffer = self._buffer(record.size)
        return _into.block_job(op, record, memoryview(buffer)[: record.size], job), (
            buffer, record.size)

    def _give_back(self) -> None:
        if self._lent is not None:
            self._spare.append(self._lent)
            self._lent = None

    def _next_block(self, runner: Runner[Block],
                    buffers: deque[tuple[bytearray, int] | None]) -> Buffer:
        block = runner.take()[2]
        reused = buffers.popleft()
        if reused is None:
            return block
        self._lent = reused[0]
        return memoryview(reused[0])[: reused[1]]

    def _buffer(self, size: int) -> bytearray:
        # Blocks of a frame share one size (the last may be smaller), so the
        # spare buffers nearly always fit; at most threads + 1 ever exist.
        while self._spare:
            buffer = self._spare.pop()
            if len(buffer) >= size:
                return buffer
        return bytearray(size)

    def _account(self, size: int) -> None:
        if self._limit is not None and self.produced + size > self._limit:
            raise OutputLimitError(
                f"decompressed data would exceed max_output_size={self._limit} bytes; "
                "raise the limit if the data is trusted",
                limit=self._limit,
            )
        self.produced += size


__all__ = ["BlockStart", "Compressor", "FrameDecoder"]
