"""Resolve a plugin's ``metadata.version`` to the version of the codec library it runs.

A plugin cannot ask its codec library for a version without importing it,
and ``import crush`` must not import codecs. So a plugin may name where the
version comes from instead of the version itself: the distribution that
provides the codec (``"zstandard"``, ``"cramjam"``), or ``"liblzma"`` /
``"libbz2"`` for the C libraries behind the standard library's modules.
Reports (``crush plugins``) call :func:`codec_version` when they are shown.
"""

from __future__ import annotations

import functools


def _stdlib_library(name: str) -> str | None:
    """Return the version the C library behind ``_lzma`` or ``_bz2`` reports, or None."""
    import ctypes

    try:
        if name == "liblzma":
            import _lzma

            func = ctypes.CDLL(_lzma.__file__).lzma_version_string
        elif name == "libbz2":
            import _bz2

            func = ctypes.CDLL(_bz2.__file__).BZ2_bzlibVersion
        else:
            return None
    except (ImportError, OSError, AttributeError):  # a build without the symbol or module
        return None
    func.restype = ctypes.c_char_p
    found = func()
    # libbz2 answers "1.0.8, 13-Jul-2019": the version is what precedes the comma.
    return found.decode("ascii", "replace").split(",")[0] if isinstance(found, bytes) else None


@functools.cache
def codec_version(version: str) -> str:
    """Return the codec library's version for a plugin's ``metadata.version``.

    A value that starts with a digit is already a version. Otherwise it is
    looked up as an installed distribution, then as ``liblzma``/``libbz2``;
    when nothing matches it is returned as it is. Cached; thread-safe.
    """
    if version[:1].isdigit():
        return version
    from importlib import metadata

    try:
        return metadata.version(version)
    except (metadata.PackageNotFoundError, ValueError):
        pass
    return _stdlib_library(version) or version
