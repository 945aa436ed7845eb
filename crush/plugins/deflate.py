"""deflate: raw DEFLATE (RFC 1951) from the fastest installed backend. The default plugin.

Every backend writes raw DEFLATE that any inflater reads, so which one made
a block never matters to a reader: the frame format is unchanged, and a
vendored copy without the accelerated packages still reads and writes the
same frames through the standard library's zlib.

Which backend serves which native level was chosen by measurement on 1 MiB
blocks of the sample corpus (``python -m tools.bench --only deflate``); see
:data:`LEVELS`. Decoding uses the fastest installed decoder that also
proves the stream ends exactly where the block does (:data:`DECODERS`).

The backend packages are imported on first use, with literal imports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from typing import Final
from typing import NamedTuple
from typing import final

from ..contract import Buffer
from ..contract import CancelToken
from ..contract import PluginMetadata
from ._util import check_size


@final
class Backend(NamedTuple):
    """One raw DEFLATE implementation: its own level range, compress and decompress.

    ``decompress(data, size)`` returns exactly *size* bytes or raises;
    ``exact_end`` says whether it also refuses bytes after the stream;
    ``decompress_into(data, out)``, where offered, fills *out* exactly.
    """

    name: str
    levels: range
    compress: Callable[[Buffer, int], bytes]
    decompress: Callable[[Buffer, int], bytes]
    exact_end: bool
    decompress_into: Callable[[Buffer, memoryview], int] | None = None


def _zlib_style(name: str, module: Any) -> Backend:
    """Return a backend over a module with zlib's API (zlib, zlib_ng.zlib_ng)."""
    deflated = module.DEFLATED

    def compress(data: Buffer, level: int) -> bytes:
        co = module.compressobj(level, deflated, -15)
        out: bytes = co.compress(data) + co.flush()
        return out

    def decompress(data: Buffer, size: int) -> bytes:
        do = module.decompressobj(-15)
        # max_length=0 would mean "no limit"; ask for one byte so an empty
        # block that is not empty is refused without inflating it.
        out: bytes = do.decompress(data, max(size, 1))
        if not do.eof or do.unconsumed_tail or do.unused_data:
            raise ValueError("deflate block is damaged or does not end where the frame says")
        return out

    return Backend(name, range(0, 10), compress, decompress, exact_end=True)


def _zlib() -> Backend:
    import zlib

    return _zlib_style("zlib", zlib)


def _zlib_ng() -> Backend | None:
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        return None
    return _zlib_style("zlib-ng", zlib_ng)


def _isal() -> Backend | None:
    try:
        from isal import igzip_lib
    except ImportError:
        return None
    comp_flag = igzip_lib.COMP_DEFLATE
    decomp_flag = igzip_lib.DECOMP_DEFLATE

    def compress(data: Buffer, level: int) -> bytes:
        return igzip_lib.compress(data, level=level, flag=comp_flag)

    def decompress(data: Buffer, size: int) -> bytes:
        do = igzip_lib.IgzipDecompressor(flag=decomp_flag)
        out = do.decompress(data, max(size, 1))
        if not do.eof or do.unused_data:
            raise ValueError("deflate block is damaged or does not end where the frame says")
        return out

    return Backend("isal", range(0, 4), compress, decompress, exact_end=True)


def _libdeflate() -> Backend | None:
    try:
        import deflate
    except ImportError:
        return None

    def compress(data: Buffer, level: int) -> bytes:
        return bytes(deflate.deflate_compress(data, level))

    from ._libdeflate import load

    decoder = load()
    if decoder is not None:
        return Backend("libdeflate", range(1, 13), compress, decoder.decompress,
                       exact_end=True, decompress_into=decoder.decompress_into)

    def decompress(data: Buffer, size: int) -> bytes:
        # The binding decodes into exactly *size* bytes and fails otherwise,
        # but ignores bytes after the stream (hence exact_end=False).
        return bytes(deflate.deflate_decompress(data, size))

    return Backend("libdeflate", range(1, 13), compress, decompress, exact_end=False)


LOADERS: Final[Mapping[str, Callable[[], Backend | None]]] = MappingProxyType({
    "isal": _isal,
    "libdeflate": _libdeflate,
    "zlib-ng": _zlib_ng,
    "zlib": _zlib,
})
"""Every backend by name, with the function that imports it (None when not installed)."""

LEVELS: Final[Mapping[int, tuple[tuple[str, int], ...]]] = MappingProxyType({
    0: (("zlib-ng", 0), ("zlib", 0)),
    1: (("isal", 1), ("libdeflate", 1), ("zlib-ng", 2), ("zlib", 1)),
    2: (("libdeflate", 1), ("isal", 2), ("zlib-ng", 2), ("zlib", 2)),
    3: (("libdeflate", 3), ("isal", 3), ("zlib-ng", 3), ("zlib", 3)),
    4: (("libdeflate", 4), ("zlib-ng", 4), ("zlib", 4)),
    5: (("libdeflate", 5), ("zlib-ng", 5), ("zlib", 5)),
    6: (("libdeflate", 6), ("zlib-ng", 6), ("zlib", 6)),
    7: (("libdeflate", 7), ("zlib-ng", 7), ("zlib", 7)),
    8: (("libdeflate", 8), ("zlib-ng", 7), ("zlib", 8)),
    9: (("libdeflate", 10), ("zlib-ng", 9), ("zlib", 9)),
})
"""Native level -> (backend, that backend's level) in order of preference.

The first installed backend serves the level. Chosen from measurements on
1 MiB blocks of the sample corpus (``python -m tools.bench --only deflate``;
ratio / compress MB/s, one thread, zlib 6 = 0.352 / 17-28):

* 0: stored (zlib-ng or zlib level 0).
* 1 (``fast``): ISA-L 1, 0.391 / ~500 MB/s, about 30x zlib 6.
* 2-8: libdeflate at the same level (2 uses its level 1, 0.380 / ~250);
  libdeflate beats zlib-ng and zlib in ratio at every level and in speed
  at the same ratio. 6 (``balanced``, the default): 0.349 / ~70, 4x zlib 6.
* 9 (``best``): libdeflate 10, 0.328 / ~10, a better ratio than zlib 9
  (0.346) and faster; libdeflate 11-12 gain under 0.5 % at half the speed.

Without ISA-L or libdeflate the zlib-ng column serves (its level 1 is much
worse than its level 2, and its level 8 slower than 9), and stdlib zlib
is the fallback that is always there. With a backend forced, a level uses
that backend's entry in its row, else the nearest level the backend has.
"""

DECODERS: Final = ("libdeflate", "isal", "zlib-ng", "zlib")
"""Decoders in order of preference; only those that refuse bytes after the stream serve.

Measured on 1 MiB blocks, one thread, CPU time (MB/s on libdeflate-6 /
ISA-L-1 / libdeflate-10 output): ISA-L 833-853 / 714-717 / 980-993,
zlib-ng 580-707 / 589-612 / 746-769, zlib about 400, libdeflate's binding
753-909 / 760-774 / 947-985. That binding returns a fresh buffer and
cannot report bytes after the stream, so libdeflate serves through its C
entry point instead (:mod:`._libdeflate`), which can and decodes straight
into a reused buffer (64 MiB of libdeflate-6 blocks into one reused 1 MiB
buffer: 78 ms through the binding, see ``--only deflate`` for this machine).
"""

_lock = threading.Lock()
_loaded: dict[str, Backend | None] = {}


def backend(name: str) -> Backend | None:
    """Return the backend *name* (importing it on first use), or None when not installed."""
    if name not in _loaded:
        with _lock:
            _loaded[name] = LOADERS[name]()
    return _loaded[name]


def available_backends() -> list[Backend]:
    """Return every installed backend, in :data:`LOADERS` order."""
    return [b for b in map(backend, LOADERS) if b is not None]


@final
class DeflatePlugin:
    """Raw DEFLATE blocks (no zlib or gzip wrapper; crush checksums blocks itself).

    *backend* forces one backend (``"isal"``, ``"libdeflate"``, ``"zlib-ng"``
    or ``"zlib"``) for every level and for decoding, for tests and for
    comparing them; by default each level uses its preferred installed
    backend (:data:`LEVELS`). Levels a forced backend does not offer map to
    its nearest level. Stateless: one instance serves any number of threads.
    """

    name: Final = "deflate"
    plugin_id: Final = 0x00
    metadata: Final = PluginMetadata(
        version="isal, libdeflate, zlib-ng or zlib (fastest installed per level)",
        description="raw DEFLATE via ISA-L / libdeflate / zlib-ng, falling back to zlib",
        throughput=40.0,
        ratio=0.33,
        min_level=0,
        max_level=9,
        default_level=6,
        fast=1,
        balanced=6,
        best=9,
    )

    def __init__(self, backend: str | None = None) -> None:
        if backend is not None and backend not in LOADERS:
            raise ValueError(f"unknown deflate backend {backend!r}; known: {', '.join(LOADERS)}")
        self._forced = backend
        self._plan: dict[int, tuple[Backend, int]] = {}
        self._decoder: Backend | None = None

    def _forced_backend(self) -> Backend:
        assert self._forced is not None
        found = backend(self._forced)
        if found is None:
            raise RuntimeError(f"deflate backend {self._forced!r} is not installed")
        return found

    def backend_for(self, level: int) -> tuple[Backend, int]:
        """Return the backend that compresses native *level* and the level it is given."""
        planned = self._plan.get(level)
        if planned is None:
            planned = self._plan[level] = self._choose(level)
        return planned

    def _choose(self, level: int) -> tuple[Backend, int]:
        if level not in LEVELS:
            raise ValueError(f"deflate level {level} is outside 0..9")
        if self._forced is not None:
            chosen = self._forced_backend()
            own = dict(LEVELS[level]).get(chosen.name, level)
            return chosen, min(max(own, chosen.levels.start), chosen.levels.stop - 1)
        for name, own in LEVELS[level]:
            found = backend(name)
            if found is not None:
                return found, own
        return backend("zlib"), level  # type: ignore[return-value]  # pragma: no cover

    def decoder(self) -> Backend:
        """Return the backend that decodes blocks: the fastest one that checks the end."""
        if self._decoder is None:
            if self._forced is not None:
                self._decoder = self._forced_backend()
            else:
                self._decoder = next(b for b in map(backend, DECODERS)
                                     if b is not None and b.exact_end)
        return self._decoder

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        """Return *data* as one raw DEFLATE stream at native *level* (0-9)."""
        chosen, own = self.backend_for(level)
        return chosen.compress(data, own)

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Return the *size* bytes a raw DEFLATE stream decodes to."""
        return check_size(self.name, self.decoder().decompress(data, size), size)

    def decompress_into(self, data: Buffer, out: memoryview, cancel: CancelToken) -> int:
        """Decode one raw DEFLATE stream straight into *out* (libdeflate; else decode and copy)."""
        decoder = self.decoder()
        if decoder.decompress_into is not None:
            return decoder.decompress_into(data, out)
        out[:] = self.decompress(data, len(out), cancel)
        return len(out)

    def detect(self, header: bytes) -> bool:
        """Accept any input: deflate is general-purpose."""
        return True
