"""libdeflate's decoder called through the C symbols of the ``deflate`` package's extension.

The package's Python function returns a fresh ``bytearray`` per block and
cannot say whether bytes follow the stream, which a block decoder must
refuse; libdeflate itself can do both: ``libdeflate_deflate_decompress_ex``
decodes into the caller's buffer and reports how much input it consumed.
The wheel links libdeflate in statically and exports its symbols, so
ctypes reaches them (a ctypes call releases the GIL, as the package does).
Where the symbols are missing (another build of the package) :func:`load`
returns None and the plugin keeps its other decoders.
"""

from __future__ import annotations

import ctypes
import threading
from functools import cache
from typing import Any
from typing import Final
from typing import final

from ..contract import Buffer

_SUCCESS: Final = 0
_PyBUF_WRITABLE: Final = 0x0001


class _PyBuffer(ctypes.Structure):
    # CPython's Py_buffer (stable since 3.3). ``obj`` stays a plain pointer:
    # PyBuffer_Release drops the reference GetBuffer took.
    _fields_ = (
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    )


@final
class _Api:
    """The C functions, with their signatures declared."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.alloc = lib.libdeflate_alloc_decompressor
        self.alloc.argtypes = []
        self.alloc.restype = ctypes.c_void_p
        self.free = lib.libdeflate_free_decompressor
        self.free.argtypes = [ctypes.c_void_p]
        self.free.restype = None
        self.decompress = lib.libdeflate_deflate_decompress_ex
        self.decompress.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
            ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t),
        ]
        self.decompress.restype = ctypes.c_int
        self.get_buffer = ctypes.pythonapi.PyObject_GetBuffer
        self.get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
        self.get_buffer.restype = ctypes.c_int
        self.release = ctypes.pythonapi.PyBuffer_Release
        self.release.argtypes = [ctypes.POINTER(_PyBuffer)]
        self.release.restype = None


@final
class _Decompressor:
    """One thread's libdeflate decompressor (they are not thread-safe), freed with it."""

    def __init__(self, api: _Api) -> None:
        self._api = api
        self.handle = api.alloc()
        if not self.handle:
            raise MemoryError("libdeflate could not allocate a decompressor")

    def __del__(self) -> None:
        if getattr(self, "handle", None):
            self._api.free(self.handle)
            self.handle = None


@final
class Decoder:
    """Decode raw DEFLATE blocks into caller buffers, refusing any byte after the stream."""

    def __init__(self, api: _Api) -> None:
        self._api = api
        self._local = threading.local()

    def _handle(self) -> Any:
        mine: _Decompressor | None = getattr(self._local, "d", None)
        if mine is None:
            mine = self._local.d = _Decompressor(self._api)
        return mine.handle

    def decompress_into(self, data: Buffer, out: Buffer) -> int:
        """Decode *data* (one whole raw DEFLATE stream) filling *out* exactly; return its length.

        Raises ValueError when the stream is damaged, decodes to another
        size, or does not end exactly where *data* does.
        """
        api = self._api
        src, dst = _PyBuffer(), _PyBuffer()
        api.get_buffer(data, ctypes.byref(src), 0)
        try:
            api.get_buffer(out, ctypes.byref(dst), _PyBUF_WRITABLE)
            try:
                used, made = ctypes.c_size_t(), ctypes.c_size_t()
                result = api.decompress(self._handle(), src.buf, src.len, dst.buf, dst.len,
                                        ctypes.byref(used), ctypes.byref(made))
                size = int(dst.len)
            finally:
                api.release(ctypes.byref(dst))
        finally:
            api.release(ctypes.byref(src))
        if result != _SUCCESS or used.value != src.len or made.value != size:
            raise ValueError("deflate block is damaged or does not end where the frame says")
        return size

    def decompress(self, data: Buffer, size: int) -> bytes:
        """Return the *size* bytes *data* decodes to (see :meth:`decompress_into`)."""
        from .._alloc import allocate

        view, finish = allocate(size)
        self.decompress_into(data, view)
        return finish()


@cache
def load() -> Decoder | None:
    """Return the libdeflate decoder, or None without the package or its exported symbols."""
    try:
        from deflate import _deflate
    except ImportError:
        return None
    path = getattr(_deflate, "__file__", None)
    if path is None:  # pragma: no cover - a built-in module
        return None
    try:
        return Decoder(_Api(ctypes.CDLL(path)))
    except (OSError, AttributeError):  # pragma: no cover - a build without the symbols
        return None
