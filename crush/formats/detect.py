"""Choose a format by magic bytes only, among the formats compiled in."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Final

from .._registry import formats
from ..errors import ConfigError

if TYPE_CHECKING:
    from .contract import Format

HEAD: Final = 8
"""Bytes of a file enough to tell every format apart."""


def detect(head: bytes) -> Format | None:
    """Return the compiled-in format whose magic *head* starts with (first listed wins)."""
    for fmt in formats():
        if any(head.startswith(m) for m in fmt.magic):
            return fmt
    return None


def writer(name: str) -> Format | None:
    """Return the format *name* for writing; None for ``crush`` (the crush frame)."""
    if name == "crush":
        return None
    for fmt in formats():
        if fmt.name == name and fmt.writable:
            return fmt
    names = ", ".join(["crush", *(f.name for f in formats() if f.writable)])
    raise ConfigError(f"format {name!r} is not a format this crush writes; choose one of "
                      f"{names} (formats are compiled in from [[format]] in plugins.toml)")


def suffixes() -> dict[str, str]:
    """Return the suffix of every compiled-in format by name (``crush``: ``.crush``)."""
    return {"crush": ".crush", **{f.name: f.suffix for f in formats()}}
