"""Encode and decode the bytes of a crush frame (formats v1 and v2, see docs/FORMAT.md).

Pure functions and value types: no threads, no plugins, no files. Decoding
reads through a :class:`Source`, so the in-memory API and the streaming
reader share one parser. Every malformed input raises a
:class:`~crush.errors.FormatError` subclass; declared sizes are checked
against the format's limits before anything is allocated.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final
from typing import NamedTuple
from typing import Protocol
from typing import final

from .checksum import crc32_combine as crc32_combine  # noqa: PLC0414 - re-exported
from .contract import Buffer
from .errors import ConfigError
from .errors import CorruptFrameError
from .errors import FormatError
from .errors import TruncatedFrameError

MAGIC: Final = b"CR"
VERSION: Final = 2
"""The version crush writes; :mod:`crush.frame_v2` holds what v2 adds."""
VERSIONS: Final = (1, 2)
"""The versions crush reads."""
MAX_BLOCK_SIZE: Final = 64 << 20
"""Largest block size a frame may declare; bounds a reader's memory per block."""
MAX_NAME_LENGTH: Final = 4096
_SCAN: Final = 64 << 10  # bytes looked at per step when skipping padding

KIND_END: Final = 0x00
KIND_COMPRESSED: Final = 0x01
KIND_RAW: Final = 0x02

FLAG_NAME: Final = 0x01
FLAG_MTIME: Final = 0x02
FLAG_MODE: Final = 0x04
_KNOWN_FLAGS: Final = FLAG_NAME | FLAG_MTIME | FLAG_MODE

_PREFIX: Final = struct.Struct("<2sBBBI")  # magic, version, plugin id, flags, block size
_U16: Final = struct.Struct("<H")
_I64: Final = struct.Struct("<q")
_U32: Final = struct.Struct("<I")
_BLOCK: Final = struct.Struct("<BIII")  # kind, size, stored size, crc32
_END: Final = struct.Struct("<BQI")  # kind, total size, content crc32
RECORD_SIZE: Final = 13
PREFIX_SIZE: Final = _PREFIX.size
assert _BLOCK.size == _END.size == RECORD_SIZE


@final
class FileInfo(NamedTuple):
    """Optional file metadata a frame carries for the CLI (all fields optional).

    ``mtime_ns`` is nanoseconds since the epoch, ``mode`` the permission bits.
    """

    name: str | None = None
    mtime_ns: int | None = None
    mode: int | None = None


@final
class FrameHeader(NamedTuple):
    """A decoded frame header; ``size`` is its length in bytes."""

    plugin_id: int
    block_size: int
    info: FileInfo
    size: int
    version: int = 1


@final
class BlockRecord(NamedTuple):
    """One block: ``raw`` blocks hold the data itself, others the plugin's output."""

    raw: bool
    size: int
    crc: int
    payload: Buffer
    offset: int


@final
class EndRecord(NamedTuple):
    """The end marker: the frame's total content size and CRC32."""

    total_size: int
    crc: int
    offset: int


class Source(Protocol):
    """Where a decoder reads frame bytes from."""

    def read_exact(self, n: int, what: str) -> Buffer:
        """Return exactly *n* bytes or raise TruncatedFrameError naming *what*."""
        ...

    def at_eof(self) -> bool:
        """Return True when no bytes are left."""
        ...

    def skip_zeros(self) -> None:
        """Skip zero bytes (padding after a frame) up to the next non-zero byte or the end."""
        ...

    def tell(self) -> int:
        """Offset of the next byte, for error messages."""
        ...


@final
class BytesSource:
    """A :class:`Source` over an in-memory buffer; returns zero-copy slices.

    Not thread-safe; one decoder owns it.
    """

    __slots__ = ("_pos", "_view")

    def __init__(self, data: Buffer) -> None:
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def read_exact(self, n: int, what: str) -> memoryview:
        """Return the next *n* bytes or raise TruncatedFrameError."""
        end = self._pos + n
        if end > len(self._view):
            raise TruncatedFrameError(
                f"crush frame is truncated: {what} needs {n} bytes at offset {self._pos}, "
                f"only {len(self._view) - self._pos} left",
                offset=self._pos,
            )
        chunk = self._view[self._pos : end]
        self._pos = end
        return chunk

    def at_eof(self) -> bool:
        """Return True when every byte was read."""
        return self._pos >= len(self._view)

    def skip_zeros(self) -> None:
        """Move past zero bytes."""
        view = self._view
        while self._pos < len(view):
            chunk = bytes(view[self._pos : self._pos + _SCAN])
            rest = chunk.lstrip(b"\0")
            self._pos += len(chunk) - len(rest)
            if rest:
                return

    def tell(self) -> int:
        """Offset of the next byte."""
        return self._pos


def check_file_info(info: object) -> FileInfo | None:
    """Return *info* if a frame header can hold it, else raise ConfigError; None means none.

    The name must be a str of 1-4096 bytes of UTF-8 (surrogateescape), the
    mtime an int in the signed 64-bit range, the mode an int >= 0 (only its
    permission bits are stored).
    """
    if info is None:
        return None
    if not isinstance(info, FileInfo):
        raise ConfigError(f"file_info must be a crush.FileInfo, got {type(info).__name__}")
    if info.name is not None:
        if not isinstance(info.name, str):
            raise ConfigError(f"file_info.name must be a str, got {type(info.name).__name__}")
        try:
            length = len(info.name.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:
            raise ConfigError(f"file_info.name {info.name!r} has no UTF-8 form") from None
        if not 0 < length <= MAX_NAME_LENGTH:
            raise ConfigError(f"file_info.name must be 1-{MAX_NAME_LENGTH} bytes of UTF-8, "
                              f"got {length}")
    mtime = info.mtime_ns
    if mtime is not None and (isinstance(mtime, bool) or not isinstance(mtime, int)
                              or not -(1 << 63) <= mtime < 1 << 63):
        raise ConfigError(f"file_info.mtime_ns must be an int in the signed 64-bit range, "
                          f"got {mtime!r}")
    mode = info.mode
    if mode is not None and (isinstance(mode, bool) or not isinstance(mode, int) or mode < 0):
        raise ConfigError(f"file_info.mode must be an int >= 0, got {mode!r}")
    return info


def encode_header(plugin_id: int, block_size: int, info: FileInfo | None = None,
                  version: int = 1) -> bytes:
    """Return the header bytes of a frame made by *plugin_id* with *block_size* blocks.

    *version* is the frame version (default 1, like :func:`encode_block_header`
    and :func:`encode_end` beside it; :mod:`crush.frame_v2` encodes the rest
    of a v2 frame).

    Raises ConfigError (a ValueError) for an id outside 0-255, a block size
    outside 1-64 MiB or an *info* :func:`check_file_info` refuses.
    """
    if not 0 <= plugin_id <= 0xFF:
        raise ConfigError(f"plugin id {plugin_id} is outside 0-255")
    if not 1 <= block_size <= MAX_BLOCK_SIZE:
        raise ConfigError(f"block size {block_size} is outside 1-{MAX_BLOCK_SIZE}")
    info = check_file_info(info) or FileInfo()
    flags = 0
    tail = bytearray()
    if info.name is not None:
        name = info.name.encode("utf-8", "surrogateescape")
        flags |= FLAG_NAME
        tail += _U16.pack(len(name)) + name
    if info.mtime_ns is not None:
        flags |= FLAG_MTIME
        tail += _I64.pack(info.mtime_ns)
    if info.mode is not None:
        flags |= FLAG_MODE
        tail += _U32.pack(info.mode & 0o7777)
    head = _PREFIX.pack(MAGIC, version, plugin_id, flags, block_size) + tail
    return head + _U32.pack(zlib.crc32(head))


def encode_block_header(raw: bool, size: int, stored_size: int, crc: int) -> bytes:
    """Return the 13-byte record header that precedes a block's stored bytes."""
    return _BLOCK.pack(KIND_RAW if raw else KIND_COMPRESSED, size, stored_size, crc)


def encode_end(total_size: int, crc: int) -> bytes:
    """Return the 13-byte end marker for content of *total_size* bytes with CRC32 *crc*."""
    return _END.pack(KIND_END, total_size, crc)


def is_frame_start(data: Buffer) -> bool:
    """Return True when *data* starts like a crush frame this version reads."""
    return len(data) >= 3 and bytes(data[:2]) == MAGIC and data[2] in VERSIONS


def more_frames(src: Source) -> bool:
    """Skip zero padding after a frame (as gzip does); return True if bytes follow.

    Tapes and block devices pad files with zeros; a frame never starts with
    one, so padding is unambiguous, between frames too.
    """
    src.skip_zeros()
    return not src.at_eof()


def read_header(src: Source, *, following: bool = False) -> FrameHeader:
    """Decode a frame header from *src*, verifying its magic, version and CRC32.

    *following*: a frame came before, so bytes that do not start like a
    frame are trailing garbage rather than "not a crush file".
    """
    start = src.tell()
    # The magic byte by byte: garbage after a frame is named as such even
    # when it is shorter than a header (not "truncated").
    for i, want in enumerate(MAGIC):
        got = bytes(src.read_exact(1, "the frame header"))
        if got[0] != want:
            found = MAGIC[:i] + got
            if following:
                raise FormatError(
                    f"trailing garbage after the last frame at offset {start}: expected "
                    f"another frame (magic 'CR') or zero padding, found {found!r}"
                )
            raise FormatError(
                f"not a crush frame at offset {start}: expected magic 'CR', found {found!r}"
            )
    prefix = MAGIC + bytes(src.read_exact(PREFIX_SIZE - len(MAGIC), "the frame header"))
    _, version, plugin_id, flags, block_size = _PREFIX.unpack(prefix)
    if version not in VERSIONS:
        raise FormatError(
            f"crush frame version {version} at offset {start} is not supported by this "
            f"crush (reads versions {', '.join(map(str, VERSIONS))}); upgrade crush to read it"
        )
    if flags & ~_KNOWN_FLAGS:
        raise CorruptFrameError(f"crush frame header at offset {start} has unknown flags "
                                f"0x{flags:02x}", offset=start)
    if not 1 <= block_size <= MAX_BLOCK_SIZE:
        raise CorruptFrameError(
            f"crush frame header at offset {start} declares block size {block_size}, "
            f"outside 1-{MAX_BLOCK_SIZE}",
            offset=start,
        )
    parts = [prefix]
    name = mtime_ns = mode = None
    if flags & FLAG_NAME:
        raw_len = bytes(src.read_exact(2, "the stored name length"))
        (length,) = _U16.unpack(raw_len)
        if not 0 < length <= MAX_NAME_LENGTH:
            raise CorruptFrameError(f"stored name length {length} is invalid", offset=start)
        raw_name = bytes(src.read_exact(length, "the stored name"))
        parts += [raw_len, raw_name]
        name = raw_name.decode("utf-8", "surrogateescape")
    if flags & FLAG_MTIME:
        raw = bytes(src.read_exact(8, "the stored mtime"))
        parts.append(raw)
        (mtime_ns,) = _I64.unpack(raw)
    if flags & FLAG_MODE:
        raw = bytes(src.read_exact(4, "the stored mode"))
        parts.append(raw)
        (mode,) = _U32.unpack(raw)
        mode &= 0o7777  # only permission bits are meaningful; never trust the rest
    head = b"".join(parts)
    (stored_crc,) = _U32.unpack(src.read_exact(4, "the header checksum"))
    if zlib.crc32(head) != stored_crc:
        raise CorruptFrameError(
            f"crush frame header at offset {start} fails its CRC32 check", offset=start
        )
    return FrameHeader(plugin_id, block_size, FileInfo(name, mtime_ns, mode), len(head) + 4,
                       version)


def read_record(src: Source, header: FrameHeader) -> BlockRecord | EndRecord:
    """Decode the next block record or end marker from *src*.

    Sizes are validated against *header* before the payload is read, so a
    hostile size never causes a large allocation. A v2 frame's records
    and footer are read by :func:`crush.frame_v2.read_record`.
    """
    if header.version != 1:
        from . import frame_v2

        return frame_v2.read_record(src, header)
    offset = src.tell()
    record = src.read_exact(RECORD_SIZE, "a block record or the end marker")
    kind = record[0]
    if kind == KIND_END:
        _, total, crc = _END.unpack(record)
        return EndRecord(total, crc, offset)
    if kind not in (KIND_COMPRESSED, KIND_RAW):
        raise CorruptFrameError(f"unknown record kind 0x{kind:02x} at offset {offset}",
                                offset=offset)
    _, size, stored, crc = _BLOCK.unpack(record)
    raw = kind == KIND_RAW
    if not 1 <= size <= header.block_size:
        raise CorruptFrameError(
            f"block at offset {offset} declares {size} bytes, outside 1-{header.block_size}",
            offset=offset,
        )
    # A block is only kept compressed when that made it smaller, so the stored
    # size is bounded by the declared size: never trust a larger one.
    if (raw and stored != size) or (not raw and not 1 <= stored < size):
        raise CorruptFrameError(
            f"block at offset {offset} declares an impossible stored size {stored} "
            f"for {size} bytes",
            offset=offset,
        )
    payload = src.read_exact(stored, "a block's data")
    return BlockRecord(raw, size, crc, payload, offset)
