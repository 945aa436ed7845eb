"""Decoding straight into one output buffer (``crush.decompress_into``, ``out=``).

The in-memory blob holds every block record, so the content size is known
before anything is decoded: :func:`content_size` walks the records (no
codec runs), the output is allocated once, and each block job decodes into
its own slice of it on a pool worker, so the page faults and copies of a
fresh buffer per block leave the caller's thread. Plugins with the optional
``decompress_into`` (:class:`~crush.contract.DecompressInto`) write there
directly; the others decode to bytes that the job copies into the slice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import checksum
from . import frame
from .contract import Buffer
from .errors import CorruptFrameError
from .errors import CrushError

if TYPE_CHECKING:
    from .engine import Block
    from .engine import _Operation


def check_crc(record: frame.BlockRecord, content: Buffer) -> int:
    """Return the CRC32 of a block's *content*; raise if it is not the stored one."""
    crc = checksum.crc32(content)
    if crc != record.crc:
        raise CorruptFrameError(
            f"block at offset {record.offset} fails its CRC32 check "
            f"(stored {record.crc:08x}, computed {crc:08x}); the data is corrupt",
            offset=record.offset,
        )
    return crc


def content_size(view: memoryview) -> int | None:
    """Return the content size of the frame(s) in *view*, or None if their structure is damaged.

    Only headers and block records are read. A damaged structure is left to
    the decoder, which reports it where a stream would meet it.
    """
    src = frame.BytesSource(view)
    total = 0
    try:
        while True:
            header = frame.read_header(src)
            while not isinstance(record := frame.read_record(src, header), frame.EndRecord):
                total += record.size
            if src.at_eof():
                return total
    except CrushError:
        return None


def decodes_into(op: _Operation, record: frame.BlockRecord) -> bool:
    """Return True if *record* decodes straight into a buffer (else via bytes and a copy)."""
    return not (record.raw or op.isolated) and hasattr(op.plugin, "decompress_into")


def block_job(
    op: _Operation, record: frame.BlockRecord, target: memoryview,
    decode: Callable[[], Block],
) -> Callable[[], Block]:
    """Return a job that decodes *record* into *target* (its slice of the output).

    *decode* is the ordinary job (decode to bytes, check the CRC); it serves
    raw blocks, plugins without ``decompress_into`` and isolated plugins,
    whose output comes from another process anyway.
    """
    into = getattr(op.plugin, "decompress_into", None) if decodes_into(op, record) else None

    def copy() -> Block:
        raw, crc, out = decode()
        target[:] = out
        return raw, crc, b""

    if into is None:
        return copy

    def direct() -> Block:
        try:
            written = into(record.payload, target, op.deadline.token)
        except CrushError:
            raise
        except Exception as exc:
            raise op.reject(record, exc) from exc
        if written != len(target):
            raise op.fail("decompress a block", ValueError(
                f"the block at offset {record.offset} decoded to {written} bytes; the "
                f"frame declares {record.size}"))
        return False, check_crc(record, target), b""

    return direct
