"""The snappy crush plugin: add ``crush_snappy.plugin:SnappyPlugin`` to plugins.toml."""

from .plugin import SnappyPlugin

__all__ = ["SnappyPlugin"]
