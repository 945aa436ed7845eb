# Generated from plugins.toml by codegen — do not edit.
# Source: plugins.toml (sha256 PLACEHOLDER)
# Regenerate: python -m codegen
"""The compiled-in plugin set, generated from plugins.toml."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final
from typing import Literal

from .contract import Plugin
from .plugins.brotli import BrotliPlugin
from .plugins.bz2 import Bz2Plugin
from .plugins.deflate import DeflatePlugin
from .plugins.lz4 import Lz4Plugin
from .plugins.lzma import LzmaPlugin
from .plugins.zstd import ZstdPlugin

PLUGINS: Final[tuple[Plugin, ...]] = (
    DeflatePlugin(),
    ZstdPlugin(),
    Lz4Plugin(),
    BrotliPlugin(),
    LzmaPlugin(),
    Bz2Plugin(),
)
DEFAULT: Final = "deflate"
DEFAULT_TIMEOUT: Final[float | None] = 30.0
TIMEOUTS: Final[Mapping[str, float]] = MappingProxyType({"lzma": 120.0})
INSTALL_HINTS: Final[Mapping[str, str]] = MappingProxyType(
    {"zstd": "pip install zstandard", "lz4": "pip install lz4", "brotli": "pip install brotli"}
)
ISOLATION: Final[Mapping[str, Literal["thread", "process"]]] = MappingProxyType({})
