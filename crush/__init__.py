"""crush: every major compression codec behind one API, with static plugins.

>>> import crush
>>> blob = crush.compress(b"hello" * 1000)
>>> crush.decompress(blob) == b"hello" * 1000
True
"""

from typing import TYPE_CHECKING

from ._version import __version__
from .api import FrameReport
from .api import Report
from .api import compress
from .api import decompress
from .api import decompress_into
from .api import inspect
from .contract import CancelToken
from .contract import Plugin
from .contract import PluginMetadata
from .errors import CancelledError
from .errors import ConfigError
from .errors import CorruptBlockError
from .errors import CorruptFrameError
from .errors import CrushError
from .errors import CrushTimeoutError
from .errors import FormatError
from .errors import OutputLimitError
from .errors import PluginError
from .errors import PluginNotFoundError
from .errors import TruncatedFrameError
from .execution import PluginDiagnostics
from .execution import diagnostics
from .frame import FileInfo
from .registry import Registry
from .registry import get_plugin
from .registry import list_plugins
from .registry import plugin_for_id
from .seektable import BlockEntry
from .seektable import BlockIndex
from .seektable import read_index
from .selection import Candidate
from .selection import Selection
from .selection import select_plugin

if TYPE_CHECKING:
    from .stream import CrushFile
    from .stream import StreamStats
    from .stream import compress_stream
    from .stream import decompress_stream
    from .stream import open

__all__ = [
    "BlockEntry",
    "BlockIndex",
    "CancelToken",
    "CancelledError",
    "Candidate",
    "ConfigError",
    "CorruptBlockError",
    "CorruptFrameError",
    "CrushError",
    "CrushFile",
    "CrushTimeoutError",
    "FileInfo",
    "FormatError",
    "FrameReport",
    "OutputLimitError",
    "Plugin",
    "PluginDiagnostics",
    "PluginError",
    "PluginMetadata",
    "PluginNotFoundError",
    "Registry",
    "Report",
    "Selection",
    "StreamStats",
    "TruncatedFrameError",
    "__version__",
    "compress",
    "compress_stream",
    "decompress",
    "decompress_into",
    "decompress_stream",
    "diagnostics",
    "get_plugin",
    "inspect",
    "list_plugins",
    "open",
    "plugin_for_id",
    "read_index",
    "select_plugin",
]

_STREAM_NAMES = frozenset({"CrushFile", "StreamStats", "compress_stream", "decompress_stream",
                           "open"})

# The file API (crush.open and friends) loads on first use: most programs that
# import crush compress bytes, and the CLI's --help should not pay for it.
# The import stays literal, so PyInstaller and mypy still see the module.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Import a streaming name on first use and cache it in the module."""
        if name not in _STREAM_NAMES:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from . import stream

        value = getattr(stream, name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        """List the public names, including those not loaded yet."""
        return sorted(set(globals()) | set(__all__))
