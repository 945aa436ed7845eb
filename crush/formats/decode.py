"""Read any compiled-in format: whole units in parallel on the pool, the rest as a stream.

The format's counterpart of :class:`crush.engine.FrameDecoder`: the format
module says where units begin and end; this module enforces
``max_output_size`` (before a unit is decoded when its size is declared,
as it grows otherwise), keeps order, applies the deadline and runs jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from typing import Final

from ..errors import ConfigError
from ..errors import CrushError
from ..errors import FormatError
from ..errors import OutputLimitError
from ..execution import Deadline
from ..execution import InlineRunner
from ..execution import PoolRunner
from ..execution import Runner
from ..execution import resolve_timeout
from ..options import Options
from .contract import Format
from .contract import Unit
from .index import BlockIndex
from .source import Input

PIECE: Final = 1 << 20
"""Largest piece a stream decode hands out at once."""
BATCH: Final = 1 << 20
"""Content bytes of small units decoded by one pool job."""


class Decoder:
    """Decode *inp* as format *fmt* into content pieces, in order.

    Iterating yields content; *index* (or the format's own, for a
    random-access input) lets units be read straight by offset, from unit
    *start*. Without one, *resume* (stored offset, content offset) starts
    the walk at a unit reported earlier to *on_unit*, which is called with
    those two offsets for every unit whose size its header declares. Not
    thread-safe.
    """

    def __init__(self, inp: Input, fmt: Format, opts: Options, max_output_size: int | None,
                 *, index: BlockIndex | None = None, start: int = 0,
                 resume: tuple[int, int] | None = None,
                 on_unit: Callable[[int, int], object] | None = None) -> None:
        if max_output_size is not None and (
            isinstance(max_output_size, bool) or not isinstance(max_output_size, int)
            or max_output_size < 0
        ):
            raise ConfigError(f"max_output_size must be an int >= 0, got {max_output_size!r}")
        self._inp = inp
        self._fmt = fmt
        self._opts = opts
        self._limit = max_output_size
        self.produced = 0
        self.units = 0
        """Units decoded (or streamed) so far."""
        self._index = index if index is not None else fmt.index(inp)
        self._start = start
        self._resume = resume
        self._on_unit = on_unit
        self._content = resume[1] if resume else 0
        self._batch: list[Unit] = []
        self._batched = 0
        timeout = resolve_timeout(opts.timeout, None, opts.registry.default_timeout)
        self._deadline = Deadline(fmt.name, timeout, opts.cancel)
        self._runner: Runner[tuple[bytes, CrushError | None]] = (
            InlineRunner(self._deadline) if opts.threads == 1
            else PoolRunner(self._deadline, opts.threads))

    @property
    def index(self) -> BlockIndex | None:
        """The unit index in use (None when units are found as they are read)."""
        return self._index

    @property
    def consumed(self) -> int:
        """Input bytes read so far."""
        return self._inp.tell()

    def rearm(self) -> None:
        """Restart the deadline (streams apply it per call)."""
        self._deadline.rearm()

    def close(self) -> None:
        """Cancel units decoding ahead."""
        self._runner.close()
        self._deadline.close()

    def _account(self, size: int) -> None:
        if self._limit is not None and self.produced + size > self._limit:
            raise OutputLimitError(
                f"decompressed data would exceed max_output_size={self._limit} bytes; "
                "raise the limit if the data is trusted", limit=self._limit)
        self.produced += size

    def _budget(self) -> int:
        if self._limit is None:
            return PIECE
        return max(1, min(PIECE, self._limit - self.produced + 1))

    def _submit(self, unit: Unit) -> Iterator[bytes]:
        self._account(unit.size)
        self.units += 1
        if self._on_unit is not None:
            self._on_unit(unit.offset, self._content)
        self._content += unit.size
        self._batch.append(unit)
        self._batched += unit.size
        if self._batched >= BATCH:
            yield from self._flush()

    def _flush(self) -> Iterator[bytes]:
        # Small units (BGZF's 64 KiB) go to the pool in batches: one job per
        # unit costs more in hand-offs than the unit's decode.
        if not self._batch:
            return
        batch, self._batch, self._batched = self._batch, [], 0
        if len(self._runner) >= self._opts.threads:
            yield from self._take()
        self._runner.submit(_batch_job(self._fmt, batch))

    def _take(self) -> Iterator[bytes]:
        # The units before a damaged one come out first, so a stream fails
        # where the damage is, whatever the batching.
        data, error = self._runner.take()
        if data:
            yield data
        if error is not None:
            raise error

    def _drain(self) -> Iterator[bytes]:
        yield from self._flush()
        while len(self._runner):
            yield from self._take()

    def __iter__(self) -> Iterator[bytes]:
        if self._index is not None:
            yield from self._indexed(self._index)
        else:
            yield from self._walk()
        yield from self._drain()

    def _indexed(self, index: BlockIndex) -> Iterator[bytes]:
        inp = self._inp
        ends = (*index.stored[1:], index.end or 0)
        sizes = (*index.content[1:], index.total or 0)
        if self._start < len(index.stored):
            inp.jump(index.stored[self._start])
        for i in range(self._start, len(index.stored)):
            offset = index.stored[i]
            payload = inp.read_exact(ends[i] - offset, f"the {self._fmt.name} unit")
            yield from self._submit(Unit(payload, sizes[i] - index.content[i], offset))
        # The index itself (a seek table) follows the units: it was read too.
        inp.jump(inp.size() or index.end or 0)

    def _walk(self) -> Iterator[bytes]:
        inp, fmt = self._inp, self._fmt
        if self._resume is not None:
            inp.jump(self._resume[0])
        first = True
        while True:
            if first:
                if inp.at_eof():
                    return
            elif fmt.padding(inp):
                return
            head = inp.peek(8)
            if not any(head.startswith(m) for m in fmt.magic):
                raise FormatError(f"{fmt.name} data is followed by {len(head)}+ bytes of "
                                  f"trailing garbage at offset {inp.tell()}")
            first = False
            unit = fmt.whole_unit(inp)
            if unit is not None:
                yield from self._submit(unit)
                continue
            yield from self._drain()
            self.units += 1
            for piece in fmt.stream_unit(inp, self._budget):
                self._account(len(piece))
                self._content += len(piece)
                self.rearm()
                yield piece


def _batch_job(fmt: Format, batch: list[Unit]) -> Callable[[], tuple[bytes, CrushError | None]]:
    """Return a job decoding *batch*: its content, and the error that stopped it if any."""
    def job() -> tuple[bytes, CrushError | None]:
        parts = []
        for unit in batch:
            try:
                parts.append(fmt.decode_unit(unit))
            except CrushError as exc:
                return b"".join(parts), exc
        return parts[0] if len(parts) == 1 else b"".join(parts), None

    return job
