"""Resolve the version of the codec library a plugin runs, for reports (``crush plugins``).

A plugin cannot ask its codec library for a version without importing it,
and ``import crush`` must not import codecs, so ``metadata.version`` may
name where the version comes from instead of the version itself. At report
time :func:`codec_version` asks, in order: the plugin's optional
``codec_version()`` method (third-party plugins: import the codec there and
return its version); a literal version in ``metadata.version``; the codec
modules crush's own plugins use, named by their distribution
(``"zstandard"``, ``"lz4"``, ``"brotli"``); the C libraries behind the
standard library's ``_lzma`` and ``_bz2`` (``"liblzma"``, ``"libbz2"``).
Anything else is shown as it is. Imports are literal, so PyInstaller sees
them, and nothing reads installed-package metadata (a frozen app has none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .contract import Plugin


def _zstandard() -> str:
    import zstandard

    return str(zstandard.__version__)


def _lz4() -> str:
    import lz4

    return str(lz4.__version__)


def _brotli() -> str:
    import brotli

    return str(brotli.__version__)


def _liblzma() -> str:
    import _lzma
    import ctypes

    func = ctypes.CDLL(_lzma.__file__).lzma_version_string
    func.restype = ctypes.c_char_p
    return bytes(func()).decode("ascii", "replace")


def _libbz2() -> str:
    import _bz2
    import ctypes

    func = ctypes.CDLL(_bz2.__file__).BZ2_bzlibVersion
    func.restype = ctypes.c_char_p
    # libbz2 answers "1.0.8, 13-Jul-2019": the version is what precedes the comma.
    return bytes(func()).decode("ascii", "replace").split(",")[0]


_READERS: Final[dict[str, Callable[[], str]]] = {
    "zstandard": _zstandard,
    "lz4": _lz4,
    "brotli": _brotli,
    "liblzma": _liblzma,
    "libbz2": _libbz2,
}


def codec_version(plugin: Plugin, version: str | None = None) -> str:
    """Return the version of the codec library *plugin* runs (see the module docstring).

    *version* overrides ``plugin.metadata.version`` (e.g. the registry's
    calibrated metadata). Never raises: what cannot be resolved is shown as
    written. Thread-safe.
    """
    own = getattr(plugin, "codec_version", None)
    if callable(own):
        try:
            return str(own())
        except Exception:  # a broken hook must not break the report
            pass
    declared = plugin.metadata.version if version is None else version
    reader = _READERS.get(declared)
    if declared[:1].isdigit() or reader is None:
        return declared
    try:
        return reader()
    except (ImportError, OSError, AttributeError, TypeError):  # codec or symbol missing
        return declared
