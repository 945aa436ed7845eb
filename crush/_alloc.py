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

On Linux a large output is also advised to use transparent huge pages
(``madvise(MADV_HUGEPAGE)``, honoured when THP is in "madvise" or "always"
mode): faulting in 64 MiB of fresh 4 KiB pages cost about 30 ms of CPU
here, a third of zstd's decoding time, and 2 MiB pages remove most of it
(zstd, 64 MiB, one thread, CPU time: 92 -> 60 ms; the codec's own one-shot
call: 88 ms).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from typing import Any
from typing import Final

IN_PLACE_MIN: Final = 256 << 10
"""Outputs from this size up are filled in place (on CPython)."""

HUGE_PAGE: Final = 2 << 20
MADV_HUGEPAGE: Final = 14


@cache
def _madvise() -> Callable[[int, int, int], int] | None:
    if not sys.platform.startswith("linux"):  # pragma: no cover - Linux runs the tests
        return None
    import ctypes

    try:
        advise = ctypes.CDLL(None).madvise
    except (OSError, AttributeError):  # pragma: no cover - a libc without madvise
        return None
    advise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    advise.restype = ctypes.c_int
    return advise


def advise_huge_pages(address: int, size: int) -> bool:
    """Ask for transparent huge pages on the whole 2 MiB pages inside [address, address+size).

    Return whether the kernel accepted; failure only costs speed.
    """
    advise = _madvise()
    start = -(-address // HUGE_PAGE) * HUGE_PAGE
    end = (address + size) // HUGE_PAGE * HUGE_PAGE
    if advise is None or end <= start:
        return False
    return advise(start, end - start, MADV_HUGEPAGE) == 0


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

    where = address(result)
    advise_huge_pages(where, size)
    storage = Storage.from_address(where)
    # A worker abandoned at a deadline may still write through its slice
    # after the call has failed: the bytes object must outlive every view.
    storage.owner = result
    view = memoryview(storage).cast("B")

    def finish() -> bytes:
        view.release()
        return result

    return view, finish
