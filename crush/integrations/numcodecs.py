"""numcodecs: the ``crush`` codec, so Zarr v2 arrays and anything else on numcodecs use crush.

``Crush(plugin="zstd", level=3)`` compresses each chunk into one crush
frame; decoding needs no configuration (the frame names its plugin).
numcodecs finds the codec through the ``numcodecs.codecs`` entry point;
:func:`register` does the same explicitly for frozen or vendored apps.
"""

from __future__ import annotations

from typing import Any
from typing import Final

from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray

from ..api import compress
from ..api import decompress
from ..api import decompress_into
from ..errors import ConfigError
from ..options import check_block_size
from ..options import options
from ..options import resolve_level
from ..registry import DEFAULT_REGISTRY
from ..selection import chooser

CODEC_ID: Final = "crush"


class Crush(Codec):  # type: ignore[misc]  # numcodecs is untyped
    """Compress each buffer into one crush frame.

    *plugin* names crush's codec (None: crush chooses from the data, see
    :func:`crush.select_plugin`); *level* is a preset (``"fast"``,
    ``"balanced"``, ``"best"``) or, with a named plugin, its native level
    (None: the plugin's default); *block_size* in bytes (None: 1 MiB) sets
    how much of a chunk each block holds; *threads* (default 1, so Dask and
    Zarr's own parallelism is not oversubscribed; None: every CPU) caps
    blocks in parallel.
    Every option is validated here, before anything is encoded. Instances
    are immutable and thread-safe.
    """

    codec_id = CODEC_ID

    def __init__(
        self,
        plugin: str | None = None,
        level: int | str | None = None,
        block_size: int | None = None,
        threads: int | None = 1,
    ) -> None:
        chooser(plugin=plugin, level=level, prefer=None, weights=None,
                registry=DEFAULT_REGISTRY)
        if plugin is not None and level is not None:
            resolve_level(DEFAULT_REGISTRY.get(plugin), level)
        if block_size is not None:
            check_block_size(block_size)
        options(None, threads, None, None)
        self.plugin = plugin
        self.level = level
        self.block_size = block_size
        self.threads = threads

    def encode(self, buf: Any) -> bytes:
        """Return one crush frame holding the bytes of *buf* (any buffer, C or F order)."""
        data = ensure_contiguous_ndarray(buf)
        return compress(memoryview(data).cast("B"), plugin=self.plugin, level=self.level,
                        block_size=self.block_size, threads=self.threads)

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Return the content of the crush frame(s) in *buf*, written into *out* when given.

        With *out*, the content must be exactly ``out.nbytes`` long (output
        beyond that is refused before it is produced); *out* is returned.
        Raises :class:`crush.CrushError` subclasses for malformed input.
        """
        data = memoryview(ensure_contiguous_ndarray(buf)).cast("B")
        if out is None:
            return decompress(data, threads=self.threads)
        target = ensure_contiguous_ndarray(out)
        # Each block is decoded straight into *out*'s memory (no copy where
        # the plugin supports it); content larger than *out* is refused first.
        written = decompress_into(data, target, threads=self.threads)
        if written != target.nbytes:
            raise ConfigError(f"out holds {target.nbytes} bytes but the content is "
                              f"{written}; pass an out of the content's size")
        return out

    def get_config(self) -> dict[str, Any]:
        """Return the JSON-able configuration (``id`` plus the four options)."""
        return {"id": CODEC_ID, "plugin": self.plugin, "level": self.level,
                "block_size": self.block_size, "threads": self.threads}


def register() -> None:
    """Register :class:`Crush` with numcodecs (for apps without entry points); safe to repeat."""
    from numcodecs.registry import register_codec

    register_codec(Crush)
