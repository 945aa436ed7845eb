"""crush: every major compression codec behind one API, with static plugins.

>>> import crush
>>> blob = crush.compress(b"hello" * 1000)
>>> crush.decompress(blob) == b"hello" * 1000
True
"""

from typing import TYPE_CHECKING

from ._version import __version__
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

if TYPE_CHECKING:
    from .api import FrameReport
    from .api import Report
    from .api import compress
    from .api import decompress
    from .api import decompress_into
    from .api import inspect
    from .contract import CancelToken
    from .contract import Plugin
    from .contract import PluginMetadata
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

# Everything but the errors loads on first use: ``python -m crush --version``
# and the CLI's start-up should pay only for the modules a command needs, and
# a program that only compresses bytes never loads the file API. Every import
# stays a literal statement (above for mypy, in _module for the run), so
# nothing is imported by name and PyInstaller still sees every module.
_LAZY: dict[str, str] = {
    "FrameReport": "api",
    "Report": "api",
    "compress": "api",
    "decompress": "api",
    "decompress_into": "api",
    "inspect": "api",
    "CancelToken": "contract",
    "Plugin": "contract",
    "PluginMetadata": "contract",
    "PluginDiagnostics": "execution",
    "diagnostics": "execution",
    "FileInfo": "frame",
    "Registry": "registry",
    "get_plugin": "registry",
    "list_plugins": "registry",
    "plugin_for_id": "registry",
    "BlockEntry": "seektable",
    "BlockIndex": "seektable",
    "read_index": "seektable",
    "Candidate": "selection",
    "Selection": "selection",
    "select_plugin": "selection",
    "CrushFile": "stream",
    "StreamStats": "stream",
    "compress_stream": "stream",
    "decompress_stream": "stream",
    "open": "stream",
}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Import a public name's module on first use and cache the name in this module."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_module(module), name)
        globals()[name] = value
        return value

    def _module(name: str) -> object:  # noqa: PLR0911  # one literal import per module
        match name:
            case "api":
                from . import api

                return api
            case "contract":
                from . import contract

                return contract
            case "execution":
                from . import execution

                return execution
            case "frame":
                from . import frame

                return frame
            case "registry":
                from . import registry

                return registry
            case "seektable":
                from . import seektable

                return seektable
            case "selection":
                from . import selection

                return selection
            case _:
                from . import stream

                return stream

    def __dir__() -> list[str]:
        """List the public names, including those not loaded yet."""
        return sorted(set(globals()) | set(__all__))
