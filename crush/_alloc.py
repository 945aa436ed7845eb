"""The output of ``crush.decompress``: one ``bytes`` object, filled in place.

``decompress`` must return ``bytes``, and a Python-level buffer the workers
can write into (a ``bytearray``) would need a final copy into ``bytes``:
for 64 MiB that copy, plus zeroing and faulting in two fresh buffers, cost
more than a third of zstd's whole decoding time here. On CPython the
output is instead created uninitialised with ``PyBytes_FromStringAndSize
(NULL, n)`` — what a C codec does for its result — and the block jobs fill
it through a writable view before anyone else sees it; its pages are then
faulted in by the workers, in parallel, as they write. Elsewhere, and for
small outputs (where ctypes' overhead would dominate), a ``bytearray`` is
filled and copied.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from typing import Any
from typing import Final

IN_PLACE_MIN: Final = 256 << 10
"""Outputs from this size up are filled in place (on CPython)."""


@cache
def _cpython() -> tuple[Any, Callable[[None, int], bytes], Callable[[bytes], int]] | None:
    if sys.implementation.name != "cpython":  # pragma: no cover - CPython runs the tests
        return None
    import ctypes

    new = ctypes.pythonapi.PyBytes_FromStringAndSize
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_char_p, ctypes.c_ssize_t]
    address = ctypes.pythonapi.PyBytes_AsString
    address.restype = ctypes.c_void_p
    address.argtypes = [ctypes.py_object]
    return ctypes, new, address


def allocate(size: int) -> tuple[memoryview, Callable[[], bytes]]:
    """Return a writable byte view of *size* bytes and ``finish()``, which returns them as bytes.

    Call ``finish()`` once, after every write into the view is done; the
    view must not be written afterwards. Until then nothing else holds the
    bytes object, so filling it in place is safe.
    """
    api = _cpython() if size >= IN_PLACE_MIN else None
    if api is None:
        scratch = bytearray(size)
        return memoryview(scratch), lambda: bytes(scratch)
    ctypes, new, address = api
    result = new(None, size)

    class Storage(ctypes.c_char * size):  # type: ignore[misc]
        """The bytes object's storage; holds the object, so every view keeps it alive."""

    storage = Storage.from_address(address(result))
    # A worker abandoned at a deadline may still write through its slice
    # after the call has failed: the bytes object must outlive every view.
    storage.owner = result
    view = memoryview(storage).cast("B")

    def finish() -> bytes:
        view.release()
        return result

    return view, finish
