"""Parse the command line and the ``CRUSH_*`` environment into :class:`Settings`.

Two spellings reach the same commands: ``crush COMMAND [OPTIONS] ...``
(``compress``, ``decompress``, ``test``, ``inspect``, ``plugins``,
``bench``) and the
gzip/pigz style ``crush [-d|-t] [OPTIONS] [FILE ...]``, which compresses
unless ``-d`` or ``-t`` says otherwise. Only :mod:`argparse` and :mod:`os`
are imported here, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Final
from typing import Literal
from typing import NamedTuple
from typing import NoReturn
from typing import TypeVar

COMMANDS: Final = ("compress", "decompress", "test", "inspect", "plugins", "bench")
"""The sub-commands, in the order ``--help`` lists them."""

PRESETS: Final = ("fast", "balanced", "best")

Preference = Literal["speed", "balanced", "ratio"]
PREFERENCES: Final[tuple[Preference, ...]] = ("speed", "balanced", "ratio")
"""``--prefer`` values: the weights of automatic selection (see crush.selection)."""

BENCH_RUNS: Final = 3

Format = Literal["text", "json", "csv"]
T = TypeVar("T")


class UsageError(Exception):
    """The command line or a ``CRUSH_*`` variable is invalid (exit status 2).

    ``prog`` is the command whose ``--help`` explains the usage.
    """

    def __init__(self, message: str, prog: str = "crush") -> None:
        super().__init__(message)
        self.prog = prog


class Settings(NamedTuple):
    """Everything a command needs to know, after flags, environment and defaults.

    ``files`` is empty for stdin; ``"-"`` names stdin too. ``plugin`` is
    ``None`` for automatic selection, steered by ``prefer``. ``level`` is a
    preset name or a native int; ``threads`` and ``timeout`` are ``None``
    for the library's defaults. ``explain`` is the file ``plugins
    --explain`` looks at; ``plugins``, ``levels``, ``runs`` (``None``:
    adaptive) and ``plot`` are ``bench``'s. ``shorthand`` marks a level
    given as ``-1`` ... ``-9`` (mapped per plugin, see :func:`digit_level`);
    ``recursive``, ``suffix``, ``no_name`` (``-n``), ``restore_name``
    (``-N``) and ``remove`` (``--rm``) are the gzip/zstd file options;
    ``plugin_from_env`` says the plugin came from ``CRUSH_PLUGIN``.
    Immutable. (A NamedTuple rather than a dataclass:
    :mod:`dataclasses` would add milliseconds to ``--help``.)
    """

    command: str
    files: tuple[str, ...] = ()
    output: str | None = None
    stdout: bool = False
    keep: bool = False
    force: bool = False
    plugin: str | None = None
    level: int | str | None = None
    threads: int | None = None
    timeout: float | None = None
    quiet: bool = False
    verbose: int = 0
    progress: bool = True
    format: Format = "text"
    name: str | None = None
    prefer: Preference | None = None
    explain: str | None = None
    plugins: tuple[str, ...] = ()
    levels: tuple[int | str, ...] = ()
    runs: int | None = None
    plot: str | None = None
    shorthand: bool = False
    recursive: bool = False
    suffix: str = ".crush"
    no_name: bool = False
    restore_name: bool = False
    remove: bool = False
    plugin_from_env: bool = False
    rsyncable: bool = False
    container: str | None = None


def _width() -> int:
    # What argparse would compute, without importing shutil (and with it
    # bz2, lzma, fnmatch) just to print --help.
    try:
        return int(os.environ["COLUMNS"]) - 2
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns - 2  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 78


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """RawDescriptionHelpFormatter with the width found without shutil."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _width() if width is None else width)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise UsageError instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)


_DESCRIPTION: Final = """\
Compress or decompress files with crush, the pigz successor: every codec
behind one self-describing .crush format. FILE is replaced by FILE.crush
(and back with -d) unless -k, -c or -o say otherwise; no FILE or - reads
stdin and writes stdout. The flags are gzip's and pigz's (-1..-9, -p N,
-l, -r, -S, -n, -N, -k, -c, -f, -q, -v); where they have none, zstd's.
"""

_COMMANDS_HELP: Final = """\
commands (crush COMMAND --help for details):
  compress [FILE ...]       FILE -> FILE.crush (the default without a command)
  decompress [FILE ...]     FILE.crush -> FILE (also: crush -d)
  test [FILE ...]           verify every checksum, write nothing (also: crush -t)
  inspect [FILE ...]        show plugin, sizes, ratio, blocks, checksums, stored metadata
  plugins [NAME]            list the compiled-in plugins, or show one
  plugins --explain FILE    show which plugin automatic selection picks for FILE, and why
  bench [FILE ...]          ratio and MB/s per plugin and level (zstd -b style; --plot)
A command word may follow options: crush -q test FILE is crush test -q FILE.

Without -m, crush picks the plugin for each file from its first 4 KiB and
the plugins' measured speed and ratio (already-compressed or random data is
stored); --prefer speed|balanced|ratio shifts the balance.

levels: -1 .. -9 are the plugin's own levels where its scale holds them
(deflate, zstd, lz4, brotli, lzma, bz2: as their own tools' -1 .. -9);
otherwise, and without -m, -1..-3 mean fast, -4..-6 balanced, -7..-9 best.
--fast and --best are the fast and best presets.

moved from crush 0.x: -p is now the thread count (pigz); the plugin is
-m/--method (or --plugin); the level is -L/--level (-l lists, as gzip -l).

environment: CRUSH_PLUGIN, CRUSH_LEVEL, CRUSH_PREFER, CRUSH_THREADS and
CRUSH_TIMEOUT set defaults for -m, -L, --prefer, -p and --timeout; flags win.
exit status: 0 success, 1 an operation failed, 2 usage or configuration
error or unusable input, 129/130/143 interrupted by SIGHUP/SIGINT/SIGTERM.
"""


def _level(text: str) -> int | str:
    value = text.strip().lower()
    if value in PRESETS:
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid level {text!r}: use fast, balanced, best or a number"
        ) from None


def _prefer(text: str) -> Preference:
    value = text.strip().lower()
    for known in PREFERENCES:
        if value == known:
            return known
    raise argparse.ArgumentTypeError(f"invalid preference {text!r}: use {', '.join(PREFERENCES)}")


def _names(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"invalid plugin list {text!r}: use NAME[,NAME...]")
    return names


def _levels(text: str) -> list[int | str]:
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"invalid level list {text!r}: use LEVEL[,LEVEL...]")
    return [_level(p) for p in parts]


def _runs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid run count {text!r}: use a number >= 1")
    return value


def _suffix(text: str) -> str:
    if not text or "/" in text or os.sep in text or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"invalid suffix {text!r}: use a plain ending like "
                                         ".cr")
    return text


def _threads(text: str) -> int:
    from ..execution import MAX_THREADS  # the engine loads only when a command runs

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(
            f"invalid thread count {text!r}: use a whole number in 1..{MAX_THREADS} "
            "(0 picks the CPU count)"
        )
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(
            f"invalid timeout {text!r}: use seconds >= 0 (0 disables the deadline)"
        )
    return value


def _add_output(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("-o", "--output", metavar="PATH",
                       help="write to PATH (one input only; - is stdout); keeps the input "
                            "unless --rm (as zstd)")
    group.add_argument("-c", "--stdout", action="store_true",
                       help="write to stdout and keep the input files")
    group.add_argument("-k", "--keep", action="store_true",
                       help="keep the input files (default: remove them after success)")
    group.add_argument("-f", "--force", action="store_true",
                       help="overwrite existing output, follow symbolic links, allow a terminal")
    group.add_argument("--rm", dest="remove", action="store_true",
                       help="remove the input after success even with -o (as zstd --rm)")
    group.add_argument("-r", "--recursive", action="store_true",
                       help="go through directories and work on every file in them")
    group.add_argument("-S", "--suffix", type=_suffix, metavar=".SUF",
                       help="use suffix .SUF instead of .crush")
    group.add_argument("-n", "--no-name", action="store_true",
                       help="compress: store no name, mtime or mode (the same content always "
                            "gives the same bytes); decompress: ignore the stored ones")
    group.add_argument("-N", "--name", dest="restore_name", action="store_true",
                       help="decompress: name the output by the stored name (checked: a plain "
                            "name, kept in the input's directory)")


def _add_codec(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "compression", "-1 .. -9 are level shorthands as in gzip and pigz (see 'levels'\n"
                       "below); --fast and --best the presets")
    group.add_argument("-m", "--method", "--plugin", dest="plugin", metavar="NAME",
                       help="codec plugin (default: $CRUSH_PLUGIN, else chosen automatically "
                            "for each file; see crush plugins --explain FILE)")
    group.add_argument("-F", "--format", dest="container", metavar="FORMAT",
                       help="write a standard format instead of .crush: gzip, bgzf or zstd "
                            "(the suffix follows: .gz, .zst); reading detects every format")
    group.add_argument("-L", "--level", type=_level, action=_SetLevel, metavar="LEVEL",
                       help="fast, balanced, best, or with -m the plugin's native number "
                            "(default: $CRUSH_LEVEL, else the plugin's default)")
    for digit in range(1, 10):
        group.add_argument(f"-{digit}", dest="level", action=_SetLevel, nargs=0, const=digit,
                           help=argparse.SUPPRESS)
    _add_prefer(group)
    group.add_argument("--fast", dest="level", action=_SetLevel, nargs=0, const="fast",
                       help="same as -L fast")
    group.add_argument("--best", dest="level", action=_SetLevel, nargs=0, const="best",
                       help="same as -L best")
    group.add_argument("--rsyncable", action="store_true",
                       help="cut blocks where the content says so, so an edit changes only "
                            "the blocks around it (rsync, backups, dedup)")


class _SetLevel(argparse.Action):
    """Set the level; a ``-1`` .. ``-9`` shorthand also sets ``shorthand`` (the last flag wins)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        digit = self.nargs == 0 and isinstance(self.const, int)
        namespace.level = self.const if self.nargs == 0 else values
        namespace.shorthand = digit


def _add_prefer(group: argparse._ActionsContainer, note: str = "; ignored with -m") -> None:
    group.add_argument("--prefer", type=_prefer, metavar="WHAT",
                       help="what automatic selection favours: speed, balanced or ratio "
                            f"(default: $CRUSH_PREFER, else speed{note})")


def _add_bench(parser: argparse.ArgumentParser) -> None:
    _files(parser, required=False, what="files to measure on; none: the built-in sample "
                                        "corpus")
    group = parser.add_argument_group("what to measure")
    group.add_argument("-m", "--method", "--plugin", dest="plugins", type=_names,
                       action="append",
                       metavar="NAMES", help="comma-separated plugins (default: every "
                                             "compiled-in plugin); repeatable")
    group.add_argument("-L", "--level", dest="levels", type=_levels, action="append",
                       metavar="LEVELS", help="comma-separated fast, balanced, best or, with "
                                              "-m, native numbers (default: fast,balanced,best, "
                                              "duplicates dropped)")
    group.add_argument("-p", "--processes", "-T", "--threads", dest="threads", type=_threads,
                       metavar="N", help="blocks in parallel (default: 1, one thread; "
                                         "0 = CPU count)")
    group.add_argument("-r", "--runs", type=_runs, metavar="N",
                       help=f"runs per measurement, the median counts (default: {BENCH_RUNS}, "
                            "fewer for settings slower than about a second per run)")
    group.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                       help="deadline per call (default: none; Ctrl+C stops the run)")
    out = parser.add_argument_group("output")
    out.add_argument("--json", dest="format", action="store_const", const="json",
                     default="text", help="print JSON on stdout (the table goes to stderr)")
    out.add_argument("--plot", metavar="PNG", help="also draw ratio against compression speed "
                                                   "into PNG (needs pip install 'crush[plot]')")
    _add_messages(parser)


def _add_run(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("execution and messages")
    group.add_argument("-p", "--processes", "-T", "--threads", dest="threads", type=_threads,
                       metavar="N", help="threads: blocks processed in parallel, as pigz -p "
                                         "and zstd -T (default: $CRUSH_THREADS, else the CPU "
                                         "count; 0 = CPU count)")
    group.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                       help="deadline per block (default: the plugin's, else $CRUSH_TIMEOUT, "
                            "else 30; 0 disables it)")
    _add_messages(parser)
    group.add_argument("--no-progress", dest="progress", action="store_false",
                       help="never show a progress bar")


def _add_messages(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print errors only (the default prints no per-file lines either)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="a line per file; -vv tracebacks on errors too")


def _add_version(parser: argparse.ArgumentParser, version: str) -> None:
    parser.add_argument("-V", "--version", action="version", version=f"crush {version}")


def _files(parser: argparse.ArgumentParser, *, required: bool, what: str | None = None) -> None:
    parser.add_argument("files", nargs="+" if required else "*", metavar="FILE",
                        help=what or "input files (- is stdin)" + ("" if required else
                                                                   "; none: stdin to stdout"))


def _add_modes(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_argument_group("mode (gzip style)")
    for flags, const, text in (
        (("-z", "--compress"), "compress", "compress (the default)"),
        (("-d", "--decompress", "--uncompress"), "decompress", "decompress"),
        (("-t", "--test"), "test", "verify every checksum, write nothing"),
        (("-l", "--list"), "list", "list compressed size, original size, ratio and name "
                                   "(as gzip -l)"),
    ):
        mode.add_argument(*flags, dest="command", action="store_const", const=const, help=text)


def _build(command: str | None, version: str) -> argparse.ArgumentParser:
    fmt = _Formatter
    if command is None:
        parser = _Parser(
            prog="crush",
            usage="crush [-d | -t | -l] [OPTIONS] [FILE ...]\n       crush COMMAND [OPTIONS] ...",
            description=_DESCRIPTION, epilog=_COMMANDS_HELP, formatter_class=fmt,
        )
        _add_modes(parser)
        _files(parser, required=False)
        _add_output(parser)
        _add_codec(parser)
        _add_run(parser)
        _add_version(parser, version)
        return parser
    parser = _Parser(prog=f"crush {command}", formatter_class=fmt,
                     description=_COMMAND_DESCRIPTIONS[command])
    if command in ("compress", "decompress"):
        _files(parser, required=False)
        _add_output(parser)
        if command == "compress":
            _add_codec(parser)
        _add_run(parser)
    elif command == "test":
        _files(parser, required=False)
        parser.add_argument("-f", "--force", action="store_true",
                            help="read compressed data from a terminal")
        parser.add_argument("-r", "--recursive", action="store_true",
                            help="go through directories and test every file in them")
        _add_run(parser)
    elif command == "inspect":
        _files(parser, required=False)
        _add_format(parser, csv=True)
        _add_messages(parser)
    elif command == "bench":
        _add_bench(parser)
    else:
        parser.add_argument("name", nargs="?", metavar="NAME", help="show this plugin only")
        parser.add_argument("--explain", metavar="FILE",
                            help="show which plugin automatic selection picks for FILE (- is "
                                 "stdin) and why: every candidate's speed, ratio and score")
        _add_prefer(parser, note="; with --explain")
        _add_format(parser, csv=False)
        _add_messages(parser)
    _add_version(parser, version)
    return parser


def _add_format(parser: argparse.ArgumentParser, *, csv: bool) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", dest="format", action="store_const", const="json",
                       default="text", help="print JSON")
    if csv:
        group.add_argument("--csv", dest="format", action="store_const", const="csv",
                           help="print CSV, one row per frame")


_COMMAND_DESCRIPTIONS: Final = {
    "compress": "Compress each FILE to FILE.crush (stdin to stdout without FILE), storing\n"
                "its name, mtime and mode. The input is removed after success unless -k,\n"
                "-c or an output that is not a file of its own (-o /dev/null).",
    "decompress": "Decompress each FILE.crush to FILE (stdin to stdout without FILE),\n"
                  "restoring the stored mtime and mode. The input is removed after success\n"
                  "unless -k, -c or an output that is not a file of its own.",
    "test": "Decode each FILE and verify every block and content checksum; write nothing.",
    "inspect": "Show what each crush FILE holds without decompressing it: plugin, sizes,\n"
               "ratio, blocks, checksums, stored name/mtime/mode.",
    "plugins": "List the plugins compiled into this crush with their ids, levels, metadata\n"
               "and timeouts; with NAME, show that plugin. With --explain FILE, show what\n"
               "automatic selection would choose for FILE and why.",
    "bench": "Measure ratio, compression and decompression speed (MB/s) of each plugin\n"
             "and level on FILEs (default: a built-in sample corpus of text, JSON logs,\n"
             "CSV, code, binary records and random bytes), in memory, one thread, the\n"
             "median of a few runs — the way zstd -b and lzbench report. --plot draws\n"
             "ratio against speed with the Pareto front highlighted.",
}


def _env(environ: Mapping[str, str], key: str) -> str | None:
    value = environ.get(key, "").strip()
    return value or None


def _from_env(environ: Mapping[str, str], key: str, convert: Callable[[str], T]) -> T | None:
    raw = _env(environ, key)
    if raw is None:
        return None
    try:
        return convert(raw)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{key}={raw!r}: {exc}") from None


_VALUE_SHORTS: Final = frozenset("opmLTSF")
_VALUE_LONGS: Final = frozenset({
    "--output", "--processes", "--threads", "--method", "--plugin", "--level", "--timeout",
    "--prefer", "--suffix", "--explain", "--plot", "--runs", "--format",
})


def _takes_value(token: str) -> bool:
    """Return True when option *token* consumes the next argument as its value."""
    if token.startswith("--"):
        return "=" not in token and token in _VALUE_LONGS
    for position, char in enumerate(token[1:], 1):
        if char in _VALUE_SHORTS:
            return position == len(token) - 1  # -o PATH, not -oPATH
    return False


def split_command(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """Return the command word in *argv* (``None`` for gzip style) and the other arguments.

    The command is the first argument that is not an option or an option's
    value, so ``crush -q test FILE`` runs ``test`` as ``crush test -q
    FILE`` does; after ``--`` every argument is a file.
    """
    args = list(argv)
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            break
        if token.startswith("-") and token != "-":
            index += 2 if _takes_value(token) else 1
            continue
        if token in COMMANDS:
            return token, args[:index] + args[index + 1:]
        break
    return None, args


def parse(
    argv: Sequence[str], version: str, environ: Mapping[str, str] | None = None
) -> Settings:
    """Return the :class:`Settings` for *argv* (without the program name).

    Raises :class:`UsageError` for a bad flag, value or ``CRUSH_*``
    variable; ``--help`` and ``--version`` print and raise ``SystemExit(0)``.
    """
    environ = os.environ if environ is None else environ
    command, rest = split_command(argv)
    parser = _build(command, version)
    ns = parser.parse_args(rest)
    command = command or ns.command or "compress"
    get = vars(ns).get
    level: int | str | None = get("level")
    if level is None and command == "compress":
        level = _from_env(environ, "CRUSH_LEVEL", _level)
    threads: int | None = get("threads")
    if threads is None and command in ("compress", "decompress", "test"):
        threads = _from_env(environ, "CRUSH_THREADS", _threads)
    if command in ("compress", "decompress", "test"):
        _from_env(environ, "CRUSH_TIMEOUT", _seconds)  # validated here, applied by crush
    prefer: Preference | None = get("prefer")
    if prefer is None and command in ("compress", "plugins"):
        prefer = _from_env(environ, "CRUSH_PREFER", _prefer)
    if command == "bench":
        threads = 1 if threads is None else threads
    settings = Settings(
        command=command,
        files=tuple(get("files") or ()),
        output=get("output"),
        stdout=bool(get("stdout")),
        keep=bool(get("keep")),
        force=bool(get("force")),
        plugin=(get("plugin") or _env(environ, "CRUSH_PLUGIN")) if command == "compress"
        else None,
        level=level,
        threads=threads or None,
        timeout=get("timeout"),
        quiet=bool(get("quiet")),
        verbose=int(get("verbose") or 0),
        progress=bool(get("progress", True)),
        format=get("format") or "text",
        name=get("name"),
        prefer=prefer,
        explain=get("explain"),
        plugins=tuple(dict.fromkeys(n for group in get("plugins") or () for n in group)),
        levels=tuple(dict.fromkeys(lv for group in get("levels") or () for lv in group)),
        runs=get("runs"),
        plot=get("plot"),
        shorthand=bool(get("shorthand")) and get("level") is not None,
        recursive=bool(get("recursive")),
        suffix=get("suffix") or _FORMAT_SUFFIX.get(get("container") or "", ".crush"),
        no_name=bool(get("no_name")),
        restore_name=bool(get("restore_name")),
        remove=bool(get("remove")),
        plugin_from_env=command == "compress" and not get("plugin")
        and _env(environ, "CRUSH_PLUGIN") is not None,
        rsyncable=bool(get("rsyncable")),
        container=get("container") if command == "compress" else None,
    )
    _check(settings, level_from_env=get("level") is None)
    return settings


_NATIVE_NEEDS_PLUGIN: Final = (
    "is a native level, which means something different to every plugin: name the plugin "
    "with -m NAME, or let crush choose and use a preset: fast, balanced or best"
)


_FORMAT_SUFFIX: Final = {"gzip": ".gz", "bgzf": ".gz", "zstd": ".zst"}


def _check(s: Settings, *, level_from_env: bool = False) -> None:
    if (s.command == "compress" and s.plugin is None and isinstance(s.level, int)
            and not s.shorthand and s.container is None):
        where = f"CRUSH_LEVEL={s.level}" if level_from_env else f"-L {s.level}"
        raise UsageError(f"{where} {_NATIVE_NEEDS_PLUGIN}")
    if s.command == "bench":
        native = [lv for lv in s.levels if isinstance(lv, int)]
        if native and not s.plugins:
            raise UsageError(f"-L {native[0]} {_NATIVE_NEEDS_PLUGIN}", "crush bench")
    if s.command == "plugins" and s.explain is not None and s.name is not None:
        raise UsageError("give NAME or --explain FILE, not both", "crush plugins")
    if s.container is not None and s.plugin is not None and not s.plugin_from_env:
        raise UsageError(f"-F {s.container} writes a standard format with its own codec; "
                         "drop -m (or -F to write .crush with that plugin)")
    if s.output is not None and s.stdout:
        raise UsageError("-o and -c both choose the output; give one of them")
    if s.output is not None and len(s.files) > 1:
        raise UsageError(f"-o names one output but {len(s.files)} files were given; "
                         "drop -o to write FILE.crush next to each, or use -c")
    if s.files.count("-") > 1:
        raise UsageError("stdin (-) can be read only once")
    if s.restore_name and s.no_name:
        raise UsageError("-n and -N contradict each other; give one of them")
    if s.quiet and s.verbose:
        raise UsageError("-q and -v contradict each other; give one of them")
