"""What ``inspect`` and ``crush -l`` say about a standard-format file.

Sizes come from the file's index when it has one (zstd seek table); else
the file is decoded and counted (no output kept), as its sizes are not
stored anywhere else (a gzip ISIZE is the last member's, modulo 2**32).
"""

from __future__ import annotations

from typing import Any
from typing import NamedTuple
from typing import final

from ..frame import FileInfo
from ..options import Options
from .contract import Format
from .decode import Decoder
from .source import Input


@final
class Summary(NamedTuple):
    """Units, content size, stored size and the file facts the first header keeps."""

    units: int
    original: int
    compressed: int
    info: FileInfo


def summarize(fp: Any, head: bytes, fmt: Format, opts: Options) -> Summary:
    """Return the :class:`Summary` of binary file *fp* (positioned at its start, *head*)."""
    from .gzip import read_info

    inp = Input(fp=fp)
    info = read_info(inp.peek(4096)) if fmt.magic == (head[:3],) else None
    decoder = Decoder(inp, fmt, opts, None)
    try:
        index = decoder.index
        if index is not None and index.total is not None and index.end is not None:
            return Summary(len(index.stored), index.total, inp.size() or index.end,
                           info or FileInfo())
        original = sum(len(piece) for piece in decoder)
    finally:
        decoder.close()
    return Summary(decoder.units, original, decoder.consumed, info or FileInfo())
