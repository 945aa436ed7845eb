"""What a format module provides: the :class:`Format` protocol.

A format is stateless and pure: no threads, no files, no plugins. Reading
works on an :class:`~crush.formats.source.Input` positioned at a unit's
first byte. A format whose unit sizes are declared in its headers (BGZF's
BSIZE, crush's gzip member-size subfield, a zstd seek table) returns whole
units from :meth:`Format.whole_unit`, which the decoder checks against
``max_output_size`` and decodes in parallel; otherwise
:meth:`Format.stream_unit` decodes the next unit as a bounded stream. Every
error on bad input is a :class:`crush.CrushError` subclass.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import NamedTuple
from typing import Protocol
from typing import final

if TYPE_CHECKING:
    from ..contract import Buffer
    from ..frame import FileInfo
    from .index import BlockIndex
    from .source import Input


@final
class Unit(NamedTuple):
    """A unit whose bytes are all known: *payload* decodes to exactly *size* bytes."""

    payload: bytes
    size: int
    offset: int


Budget = Callable[[], int]
"""Return how many more output bytes the caller accepts (at least 1)."""


class Format(Protocol):
    """A container format compiled into crush (see ``[[format]]`` in plugins.toml).

    ``name`` is what ``format=`` and ``-F`` take, ``magic`` the byte strings
    a unit starts with (empty for a write-only variant such as ``bgzf``,
    whose files read as ``gzip``), ``suffix`` the file name suffix. Writing
    formats set ``writable``. Instances are stateless and thread-safe.
    """

    @property
    def name(self) -> str:
        """The format's name."""
        ...

    @property
    def magic(self) -> tuple[bytes, ...]:
        """Byte strings a unit of this format starts with."""
        ...

    @property
    def suffix(self) -> str:
        """The usual file name suffix, with its dot."""
        ...

    @property
    def writable(self) -> bool:
        """True when crush can write this format."""
        ...

    def padding(self, inp: Input) -> bool:
        """Skip what may follow a unit without being one (zero padding); True at the end."""
        ...

    def whole_unit(self, inp: Input) -> Unit | None:
        """Read and return the next unit when its headers declare its sizes, else None."""
        ...

    def decode_unit(self, unit: Unit) -> bytes:
        """Return the *unit.size* bytes *unit* decodes to, checking its checks."""
        ...

    def stream_unit(self, inp: Input, budget: Budget) -> Iterator[bytes]:
        """Decode the next unit from *inp* in pieces of at most ``budget()`` bytes."""
        ...

    def index(self, inp: Input) -> BlockIndex | None:
        """Return the unit index stored in a random-access *inp* (seek table), if any."""
        ...

    def encode_unit(self, block: Buffer, level: int | None, info: FileInfo | None) -> bytes:
        """Return one unit holding *block* (*info* is given for the first unit only)."""
        ...

    def finish(self, sizes: Sequence[tuple[int, int]]) -> bytes:
        """Return the bytes that end a file of units of (stored, content) *sizes*."""
        ...

    def block_size(self, asked: int) -> int:
        """Return the content bytes per unit to write, given the caller's block size."""
        ...
