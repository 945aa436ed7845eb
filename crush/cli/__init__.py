"""The ``crush`` command line (also ``python -m crush``): parsing and messages only.

All the work goes through crush's public API. The modules, one concern each:

* :mod:`.args` — the command line and ``CRUSH_*`` defaults into ``Settings``;
* :mod:`.files` — which inputs are accepted, removed relative to a directory fd;
* :mod:`.targets` — where output goes: unnamed temporary file, atomic commit;
* :mod:`.commands` — ``compress``, ``decompress``, ``test``, file by file;
* :mod:`.report` — ``inspect``, ``-l`` and ``plugins`` (``--explain``) as text, JSON or CSV;
* :mod:`.bench` — ``bench``: ratio and speed per plugin and level, on
  files or :mod:`.corpus` (the sample corpus), drawn by :mod:`.plot`;
* :mod:`.signals` — SIGHUP/SIGINT/SIGTERM cancel the running operation;
* :mod:`.progress` — the tqdm progress bar, imported only when shown;
* :mod:`.messages` — error lines, exit statuses, sizes and speeds.

Only :mod:`argparse` is needed to answer ``--help`` or ``--version``; every
other import happens when a command runs, so start-up stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import NoReturn

if TYPE_CHECKING:
    from .. import Registry

__all__ = ["main", "run"]


def _version() -> str:
    from .._version import __version__

    return __version__


def _never_fail_to_print() -> None:
    # A name that is not valid in the output encoding (a non-UTF-8 file name
    # under PYTHONIOENCODING=utf-8) is printed with escapes, never a traceback.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:  # noqa: SIM105  # contextlib is one more import before --help
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a closed or odd stream
                pass


def run() -> NoReturn:
    """Be the ``crush`` program (and ``python -m crush``): run :func:`main`, then exit at once.

    By then every output is committed or removed and nothing of crush is
    left running, so the interpreter's teardown (joining the idle pool,
    finalising every module, freeing the heap object by object) is only
    time: several milliseconds of each run, measured as a whole process.
    Standard output and error are flushed first. Programs embedding the CLI
    call :func:`main`, which returns.
    """
    status = main()
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105  # contextlib is one more import on every run
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: main() reported what matters
            pass
    os._exit(status)


def main(argv: Sequence[str] | None = None, *, registry: Registry | None = None) -> int:
    """Run the crush command line with *argv* (default ``sys.argv[1:]``); return the exit status.

    *registry* replaces the compiled-in plugin registry (for tests and
    applications that embed the CLI). Statuses: 0 success, 1 an operation
    failed, 2 usage or configuration error or unusable input, 129 SIGHUP,
    130 SIGINT, 143 SIGTERM.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    _never_fail_to_print()
    if args in (["-V"], ["--version"]):
        print(f"crush {_version()}")
        return 0
    try:
        return _main(args, registry)
    except KeyboardInterrupt:  # before the handlers are installed (or after)
        print("crush: Operation cancelled", file=sys.stderr)
        return 130


def _main(args: list[str], registry: Registry | None) -> int:
    from .args import UsageError
    from .args import parse

    try:
        settings = parse(args, _version())
    except UsageError as exc:
        print(f"crush: {exc}\nTry '{exc.prog} --help' for more information.", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0

    from .messages import Console
    from .messages import capture_warnings
    from .signals import Interrupted
    from .signals import Supervisor

    console = Console(quiet=settings.quiet, verbose=settings.verbose)
    release_warnings = capture_warnings(quiet=settings.quiet)
    supervisor = Supervisor()
    supervisor.install()
    try:
        if settings.command == "plugins" and settings.explain is not None:
            from .report import explain

            explain(settings, registry, console, supervisor)
        elif settings.command == "plugins":
            from .report import plugins

            plugins(settings, registry, console)
        elif settings.command == "bench":
            from .bench import bench

            bench(settings, registry, console, supervisor)
        elif settings.command == "inspect":
            from .report import inspect

            inspect(settings, registry, console, supervisor)
        elif settings.command == "list":
            from .report import list_files

            list_files(settings, registry, console, supervisor)
        else:
            from .commands import transform

            transform(settings, registry, console, supervisor)
    except Interrupted as exc:
        console.error(None, "Operation cancelled", exc.exit_status)
    finally:
        supervisor.restore()
        release_warnings()
    if supervisor.abandoned:
        # A helper thread is stuck in C code: do not wait for it at exit.
        sys.stderr.flush()
        os._exit(console.status)
    return console.status
