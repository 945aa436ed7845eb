"""Zarr v3: the ``crush`` bytes-to-bytes codec.

``zarr.create_array(..., compressors=[CrushCodec(plugin="zstd")])`` stores
every chunk as one crush frame. The array metadata names the codec
``crush`` with its configuration; Zarr finds the class again through the
``zarr.codecs`` entry point, or :func:`register` for frozen or vendored
apps. The work is :class:`crush.integrations.numcodecs.Crush`'s, so both
codecs validate and encode alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

from zarr.abc.codec import BytesBytesCodec
from zarr.core.buffer.cpu import as_numpy_array_wrapper
from zarr.core.common import JSON
from zarr.core.common import parse_named_configuration

from .numcodecs import Crush

if TYPE_CHECKING:
    from typing import Self

    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer

NAME: Final = "crush"


@dataclass(frozen=True)
class CrushCodec(BytesBytesCodec):
    """Compress each chunk into one crush frame.

    The options are those of :class:`crush.integrations.numcodecs.Crush`;
    *threads* defaults to 1: Zarr already encodes chunks concurrently.
    Immutable and thread-safe.
    """

    is_fixed_size = False

    plugin: str | None = None
    level: int | str | None = None
    block_size: int | None = None
    threads: int | None = 1

    def __post_init__(self) -> None:
        _ = self._codec  # validate every option now, not at the first chunk

    @cached_property
    def _codec(self) -> Crush:
        return Crush(plugin=self.plugin, level=self.level, block_size=self.block_size,
                     threads=self.threads)

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Self:
        """Return the codec an array's metadata describes."""
        _, configuration = parse_named_configuration(data, NAME, require_configuration=False)
        return cls(**(configuration or {}))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, JSON]:
        """Return the metadata entry: name ``crush`` and the four options."""
        config: dict[str, Any] = self._codec.get_config()
        del config["id"]
        return {"name": NAME, "configuration": config}

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> Buffer:
        return await asyncio.to_thread(as_numpy_array_wrapper, self._codec.decode, chunk_bytes,
                                       chunk_spec.prototype)

    async def _encode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> Buffer | None:
        return await asyncio.to_thread(as_numpy_array_wrapper, self._codec.encode, chunk_bytes,
                                       chunk_spec.prototype)

    def compute_encoded_size(self, _input_byte_length: int, _chunk_spec: ArraySpec) -> int:
        """Not known before encoding (compressed sizes vary): always raises."""
        raise NotImplementedError


def register() -> None:
    """Register :class:`CrushCodec` with Zarr as ``crush`` (for apps without entry points)."""
    from zarr.registry import register_codec

    register_codec(NAME, CrushCodec)
