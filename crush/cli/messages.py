"""What the user reads: one-line errors with a fix, result lines, exit statuses.

Every error becomes ``crush: <file>: <what went wrong and how to fix it>``
on stderr, without a traceback unless ``-v``. :func:`explain` maps an
exception to that text and to the exit status: 1 when an operation failed
(corrupt data, plugin missing, timeout, I/O error), 2 for a usage problem
or an input that cannot be used.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from typing import Final

OK: Final = 0
FAILED: Final = 1
USAGE: Final = 2


class Failure(Exception):
    """A refusal or failure the CLI detected itself, with its exit status."""

    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.status = status


_ESCAPES: Final = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    code = ord(char)
    if char in _ESCAPES:
        return _ESCAPES[char]
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if char.isprintable():
        return char
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape(text: str) -> str:
    r"""Return *text* safe for a terminal: control characters and undecodable bytes escaped.

    As ``ls`` and ``git`` do, a name can then neither move the cursor, set
    the title (ESC, OSC, BEL) nor forge a line: ``\n``, ``\t``, ``\x1b``;
    the backslash itself becomes ``\\`` so the escape is unambiguous.
    """
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escape_char(c) for c in text)


_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Return *value* for a CSV cell: escaped, and never a spreadsheet formula (OWASP).

    ``None`` is empty; text starting with ``= + - @`` (or TAB, CR) gets a
    leading ``'`` so a spreadsheet shows it instead of running it.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    text = escape(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _os_error(exc: BaseException) -> str:
    assert isinstance(exc, OSError)
    text = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"{text}{where}; free some space or write elsewhere with -o PATH or -c"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write{where}: {text}; write elsewhere with -o PATH or -c"
    if exc.errno == errno.EPIPE:
        return "the reading end of the pipe closed before all output was written"
    return f"{text}{where}"


def _timeout(exc: BaseException) -> str:
    # The library's message names the API argument; the CLI user has a flag.
    plugin = getattr(exc, "plugin", "?")
    seconds = getattr(exc, "timeout", 0.0)
    return (f"plugin {plugin!r} did not finish within the {seconds:g} s deadline; raise it "
            "with --timeout SECONDS (or CRUSH_TIMEOUT), --timeout 0 disables it")


def _hint(suffix: str) -> Callable[[BaseException], str]:
    return lambda exc: f"{exc}{suffix}"


def _rules() -> tuple[tuple[type[BaseException], int, Callable[[BaseException], str]], ...]:
    from .. import ConfigError
    from .. import CorruptFrameError
    from .. import CrushError
    from .. import CrushTimeoutError
    from .. import FormatError
    from .. import TruncatedFrameError

    # Most specific first: the first matching class wins.
    return (
        (Failure, -1, str),
        (ConfigError, USAGE, str),
        (CrushTimeoutError, FAILED, _timeout),
        (TruncatedFrameError, FAILED,
         _hint(" — the file is incomplete; copy or download it again")),
        (CorruptFrameError, FAILED, _hint(" — restore the file from a good copy")),
        (FormatError, FAILED, lambda exc: f"not crush data: {exc}"),
        (CrushError, FAILED, str),
        (OSError, FAILED, _os_error),
        (MemoryError, FAILED, lambda exc: "out of memory; use fewer threads (-p N) or free memory"),
    )


def explain(exc: BaseException) -> tuple[int, str]:
    """Return the exit status and the one-line message for *exc*."""
    for kind, status, text in _rules():
        if isinstance(exc, kind):
            return exc.status if isinstance(exc, Failure) else status, text(exc)
    return FAILED, f"internal error: {exc!r}; run with -v for the traceback and report it"


class Console:
    """Writes result lines and errors to stderr, honouring ``-q`` and ``-v``.

    Data never goes through here: stdout belongs to the compressed or
    decompressed bytes. Not thread-safe; the main thread owns it.
    """

    def __init__(self, *, quiet: bool = False, verbose: int = 0) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.status = OK
        """The worst exit status so far."""

    def info(self, text: str) -> None:
        """Print a message unless ``-q``."""
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def detail(self, text: str) -> None:
        """Print a per-file result line, only with ``-v`` (quiet by default, as gzip)."""
        if self.verbose:
            print(text, file=sys.stderr, flush=True)

    def fail(self, name: str | None, exc: BaseException) -> int:
        """Report *exc* for *name* (a file, ``stdin``...) and return its exit status."""
        status, text = explain(exc)
        if self.verbose > 1:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        self.error(name, text, status)
        return status

    def error(self, name: str | None, text: str, status: int = FAILED) -> None:
        """Print ``crush: name: text`` and remember *status*."""
        prefix = f"crush: {escape(name)}: " if name else "crush: "
        print(prefix + text, file=sys.stderr, flush=True)
        self.status = max(self.status, status)


def capture_warnings(*, quiet: bool) -> Callable[[], None]:
    """Print crush's own warnings (a plugin fallback, an abandoned worker) as ``crush:`` lines.

    Returns the function that hands them back to logging. ``-q`` hides them.
    """
    from ..errors import warnings_to

    def show(text: str) -> None:
        if not quiet:
            print(f"crush: WARNING: {text}", file=sys.stderr, flush=True)

    return warnings_to(show)


def size(n: float) -> str:
    """Return *n* bytes in SI units: ``512 B``, ``43.9 kB``, ``1.2 GB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def speed(nbytes: int, seconds: float) -> str:
    """Return the throughput of *nbytes* in *seconds* as ``212 MB/s``."""
    rate = nbytes / seconds / 1e6 if seconds > 0 else 0.0
    return f"{rate:.0f} MB/s" if rate >= 10 else f"{rate:.1f} MB/s"


def ratio(compressed: int, original: int) -> str:
    """Return compressed/original as a percentage (``43.9 %``; 100 % for empty content)."""
    return f"{100 * compressed / original if original else 100.0:.1f} %"
