"""The block index: where each unit of a file starts, in the file and in the content.

BGZF's ``.gzi`` file, the zstd seek table and crush's own block walk all
reduce to this: a reader gets unit offsets from one read and jumps straight
to the unit holding a content offset.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import NamedTuple
from typing import final


@final
class BlockIndex(NamedTuple):
    """Unit start offsets: ``stored[i]`` in the file, ``content[i]`` in the content.

    Both are ascending; ``total`` is the content size and ``end`` the file
    offset where the last unit ends (None when the index does not say).
    """

    stored: tuple[int, ...]
    content: tuple[int, ...]
    total: int | None
    end: int | None = None

    @classmethod
    def from_sizes(cls, sizes: Iterable[tuple[int, int]], base: int = 0) -> BlockIndex:
        """Return the index of consecutive units of (stored, content) *sizes* from *base*."""
        stored: list[int] = []
        content: list[int] = []
        at, out = base, 0
        for packed, size in sizes:
            stored.append(at)
            content.append(out)
            at += packed
            out += size
        return cls(tuple(stored), tuple(content), out, at)

    def find(self, offset: int) -> int:
        """Return the number of the unit holding content *offset* (the last for beyond)."""
        return max(0, bisect.bisect_right(self.content, offset) - 1)
