"""The crush error hierarchy.

Every error crush raises on purpose derives from :class:`CrushError`. Each
subclass also inherits the built-in exception an existing ``except`` clause
would already catch: format and corruption errors are :class:`OSError` (like
:class:`gzip.BadGzipFile`), lookup errors are :class:`LookupError`, bad
arguments are :class:`ValueError`, the deadline is a :class:`TimeoutError`.
Decoding untrusted bytes raises only these.
"""

from __future__ import annotations

from collections.abc import Callable

_sinks: list[Callable[[str], object]] = []


def warn(message: str, *args: object) -> None:
    """Log a warning on the ``crush`` logger (or hand it to the innermost :func:`warnings_to`).

    logging is imported on first use: it costs milliseconds that ``import
    crush`` and every CLI run should not pay for warnings rarely logged.
    """
    if _sinks:
        _sinks[-1](message % args if args else message)
        return
    import logging

    logging.getLogger("crush").warning(message, *args)


def warnings_to(sink: Callable[[str], object]) -> Callable[[], None]:
    """Send crush's warnings to *sink* instead of logging until the returned function is called.

    The command line uses it to print them as ``crush: WARNING:`` lines
    without importing logging; the calls nest.
    """
    _sinks.append(sink)

    def restore() -> None:
        if sink in _sinks:
            _sinks.remove(sink)

    return restore


class CrushError(Exception):
    """Root of every error crush raises on purpose."""


class FormatError(CrushError, OSError):
    """The bytes are not a crush frame this version can read."""


class CorruptFrameError(FormatError):
    """A crush frame is damaged: a checksum mismatch, a bad size, or truncation.

    ``offset`` is the position in the input where the damage was found, when
    known.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class TruncatedFrameError(CorruptFrameError, EOFError):
    """A crush frame ends before its end marker.

    Also an :class:`EOFError`, which is what gzip, bz2 and lzma raise for a
    truncated stream, so code written for them catches it too.
    """


class PluginNotFoundError(CrushError, LookupError):
    """No plugin with that name or id is compiled into the registry in use.

    ``plugin`` is the name asked for (or the name known for the id),
    ``plugin_id`` the wire id when the lookup was by id.
    """

    def __init__(
        self, message: str, *, plugin: str | None = None, plugin_id: int | None = None
    ) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.plugin_id = plugin_id

    def __str__(self) -> str:
        # LookupError/KeyError-style repr quoting would garble the message.
        return str(self.args[0]) if self.args else ""


class PluginError(CrushError):
    """A plugin failed; the plugin's own exception is ``__cause__``."""

    def __init__(self, message: str, *, plugin: str, plugin_id: int | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.plugin_id = plugin_id


class CorruptBlockError(CorruptFrameError, PluginError):
    """The plugin's codec rejected a block: the data is damaged (or the plugin is broken).

    Both a :class:`CorruptFrameError` (an ``OSError``, like other damage) and a
    :class:`PluginError`; the codec's own exception is ``__cause__``.
    """

    def __init__(
        self, message: str, *, plugin: str, plugin_id: int | None = None,
        offset: int | None = None,
    ) -> None:
        # Both bases take different keywords; set their facts directly.
        OSError.__init__(self, message)
        self.offset = offset
        self.plugin = plugin
        self.plugin_id = plugin_id


class CrushTimeoutError(CrushError, TimeoutError):
    """An operation ran past its deadline; its blocks were cancelled."""

    def __init__(self, message: str, *, plugin: str, timeout: float) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.timeout = timeout


class CancelledError(CrushError):
    """The operation's :class:`~crush.CancelToken` was cancelled."""


class OutputLimitError(CrushError, ValueError):
    """Decoding would produce more than the caller's ``max_output_size``."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class ConfigError(CrushError, ValueError):
    """An invalid argument or configuration: a bad level, duplicate plugin, and so on."""
