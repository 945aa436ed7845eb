"""``compress``, ``decompress`` and ``test``: one file at a time, through the public API.

Each file is planned on the main thread (refusals first, nothing written
yet), worked on by a helper thread under the :class:`~.signals.Supervisor`
(``crush.compress_stream`` / ``crush.decompress_stream``), then committed on
the main thread. A failed file is reported and the next one is tried; the
exit status is the worst seen.

Without ``-m`` the library chooses the plugin from each file's first bytes
(``plugin=None`` goes through). For ``-v`` the CLI keeps those bytes as
they pass and asks :func:`crush.select_plugin` afterwards why that plugin
won: the same call on the same bytes, so the reason is the library's own.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import NamedTuple

from . import files
from . import targets
from .args import Settings
from .messages import FAILED
from .messages import USAGE
from .messages import Console
from .messages import Failure
from .messages import escape
from .messages import ratio
from .messages import size
from .messages import speed
from .progress import CountingReader
from .progress import make_bar
from .signals import Interrupted
from .signals import Supervisor

if TYPE_CHECKING:
    from .. import CancelToken
    from .. import FileInfo
    from .. import Registry
    from .. import StreamStats

SUFFIX: Final = ".crush"


class Result(NamedTuple):
    """What one file's operation did: names, byte counts, plugin, seconds.

    ``head`` is the input's first bytes when the plugin was chosen
    automatically (for ``-v``), else ``None``.
    """

    source: str
    output: str
    original: int
    compressed: int
    plugin: str
    seconds: float
    head: bytes | None = None

    def line(self, command: str) -> str:
        """Return the per-file line, e.g. ``a.txt -> a.txt.crush  43.9 %  zstd  212 MB/s``."""
        tail = (f"{ratio(self.compressed, self.original)}  {self.plugin}  "
                f"{speed(self.original, self.seconds)}")
        if command == "test":
            return f"{escape(self.source)}: OK  {tail}"
        return f"{escape(self.source)} -> {escape(self.output)}  {tail}"


class _HeadReader(io.RawIOBase):
    """A read-only stream that keeps a copy of the first *keep* bytes read through it.

    Wraps *raw* without owning it. Not thread-safe (one reader thread).
    """

    def __init__(self, raw: Any, keep: int) -> None:
        super().__init__()
        self._raw = raw
        self._keep = keep
        self.head = bytearray()

    def readable(self) -> bool:
        """Return True: this stream only reads."""
        return True

    def read(self, size: int = -1, /) -> bytes:
        """Return up to *size* bytes from the wrapped stream (all for -1)."""
        data: bytes = self._raw.read(size) or b""
        missing = self._keep - len(self.head)
        if missing > 0 and data:
            self.head += data[:missing]
        return data


class _NullSink(io.RawIOBase):
    """A writable stream that discards everything (``crush test``)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any, /) -> int:
        return len(memoryview(data).cast("B"))


class _Job(NamedTuple):
    """Everything the helper thread needs for one file."""

    settings: Settings
    registry: Registry | None
    src: files.Source
    target: targets.Target
    reader: Any


def _output_path(s: Settings, name: str, default: Callable[[], str]) -> str:
    if s.stdout or (name == files.STDIO and s.output is None):
        return files.STDIO
    if s.output is not None:
        return s.output
    derived = default()
    # "-.crush" decompresses to a file named "-", never to stdout.
    return os.path.join(os.curdir, derived) if derived == files.STDIO else derived


def _refuse_same(src: files.Source, target: targets.Target) -> None:
    if target.same_file(src.stat):
        raise Failure(f"the output {target.name} is the input file; choose another with -o")


def _refuse_links(s: Settings, src: files.Source, remove: bool) -> None:
    links = src.stat.st_nlink - 1 if src.stat is not None else 0
    if remove and links > 0 and not s.force:
        raise Failure(f"has {links} other link{'s' if links > 1 else ''} — unchanged, as "
                      "removing it would not free the data; use -k to keep it or -f")


Plan = tuple[files.Source, targets.Target, bool]


def _plan_compress(s: Settings, name: str, directory: files.Directory | None) -> Plan:
    if name != files.STDIO and name.endswith(s.suffix) and not s.force:
        raise Failure(f"already has the {s.suffix} suffix — unchanged; use -f to compress it "
                      "again")
    src = files.open_source(name, follow=s.force, buffering=0, removable=True,
                            directory=directory)
    return _plan_output(s, src, name, lambda: name + s.suffix, to_terminal_ok=False)


def _plan_output(
    s: Settings, src: files.Source, name: str, default: Callable[[], str], *,
    to_terminal_ok: bool,
) -> tuple[files.Source, targets.Target, bool]:
    """Plan where *src* goes and whether to remove it; close *src* on refusal."""
    target: targets.Target | None = None
    try:
        path = _output_path(s, name, default)
        # A name derived from the input's lands in the input's directory, as
        # opened before reading: no second resolution of the path to race with.
        beside = src.directory if (s.output is None and src.directory is not None
                                   and os.path.dirname(path) == os.path.dirname(name)) else None
        target = targets.plan_target(path, force=s.force, beside=beside)
        if not to_terminal_ok and target.is_terminal() and not s.force:
            raise Failure("compressed data not written to a terminal; redirect the output "
                          "(crush < IN > OUT), use -o PATH, or -f to force it")
        _refuse_same(src, target)
        # -o keeps the input as zstd does, unless --rm asks otherwise.
        remove = not (s.keep or src.path is None or target.keeps_input
                      or (s.output is not None and not s.remove))
        _refuse_links(s, src, remove)
    except BaseException:
        if target is not None:
            target.discard()
        src.close()
        src.release()
        raise
    return src, target, remove


def _plan_decompress(s: Settings, name: str, directory: files.Directory | None) -> Plan:
    if name == files.STDIO and files.stdin_is_terminal() and not s.force:
        raise Failure("compressed data not read from a terminal; redirect the input "
                      "(crush -d < FILE.crush) or use -f to force it")
    base = os.path.basename(name)
    suffix, replacement = _decompress_suffix(s.suffix, base)
    named = name == files.STDIO or bool(suffix)
    free = s.output is not None or s.stdout
    if not named and not free and not s.restore_name:
        raise Failure(f"does not end in {s.suffix}, so the output has no name — unchanged; name "
                      "it with -o PATH or write to stdout with -c")
    src = files.open_source(name, follow=s.force, removable=True, directory=directory)
    default = lambda: name[: -len(suffix)] + replacement  # noqa: E731
    if s.restore_name and not free and src.path is not None:
        try:
            default = _stored_name(src, name, default if named else None)
        except BaseException:
            src.close()
            src.release()
            raise
    return _plan_output(s, src, name, default, to_terminal_ok=True)


_FORMAT_SUFFIXES: Final = {".tgz": ".tar", ".gz": "", ".zst": "", ".xz": "", ".bz2": "",
                            ".lz4": ""}
"""Suffixes of the standard formats crush reads, and what replaces them (as gzip: .tgz)."""


def _decompress_suffix(suffix: str, base: str) -> tuple[str, str]:
    """Return the suffix *base* ends in (the -S one first) and its replacement; ("", "") if none."""
    for end, replacement in ((suffix, ""), *_FORMAT_SUFFIXES.items()):
        if base.endswith(end) and len(base) > len(end):
            return end, replacement
    return "", ""


def _stored_name(src: files.Source, name: str,
                 fallback: Callable[[], str] | None) -> Callable[[], str]:
    """Return the output path -N gives: the stored name, next to the input, if it is safe."""
    info = _stored_info(src.fp)
    stored = info.name if info is not None else None
    if stored is None:
        if fallback is None:
            raise Failure("stores no name and does not end in the suffix — unchanged; name "
                          "the output with -o PATH", FAILED)
        return fallback
    if not safe_name(stored):
        raise Failure(f"stores the name {stored!r}, which is not a plain file name — "
                      "unchanged; decompress without -N or name the output with -o PATH",
                      FAILED)
    directory = os.path.dirname(name)
    return lambda: os.path.join(directory, stored) if directory else stored


def safe_name(name: str) -> bool:
    """Return True when *name* is a plain file name: no separator, no ``..``, no NUL."""
    separators = {"/", os.sep, os.altsep or "/"}
    return (bool(name) and name not in (os.curdir, os.pardir) and "\0" not in name
            and not any(sep in name for sep in separators))


def _plan_test(s: Settings, name: str, directory: files.Directory | None) -> Plan:
    if name == files.STDIO and files.stdin_is_terminal() and not s.force:
        raise Failure("compressed data not read from a terminal; redirect the input "
                      "(crush -t < FILE.crush) or use -f to force it")
    src = files.open_source(name, follow=True, special=True, directory=directory)
    return src, targets.Target(), False


def _stored_info(fp: Any) -> FileInfo | None:
    """Return the name/mtime/mode the first frame stores, reading ahead and seeking back."""
    from .. import CrushError
    from .. import frame
    from .._source import FileSource

    try:
        if not fp.seekable():
            return None
        start = fp.tell()
    except (OSError, ValueError):
        return None
    try:
        from ..formats.gzip import MAGIC
        from ..formats.gzip import read_info

        head = fp.read(4096) or b""
        fp.seek(start)
        if head.startswith(MAGIC):
            return read_info(head)
        return frame.read_header(FileSource(fp, start)).info
    except CrushError:
        return None  # decompress_stream reports the damage
    finally:
        fp.seek(start)


def _compress_work(job: _Job, token: CancelToken) -> StreamStats:
    from .. import FileInfo
    from .. import compress_stream

    s, src = job.settings, job.src
    info = None
    if src.path is not None and src.stat is not None and not s.no_name:
        info = FileInfo(name=os.path.basename(src.path), mtime_ns=src.stat.st_mtime_ns,
                              mode=src.stat.st_mode & 0o7777)
    stats = compress_stream(
        job.reader, job.target.open(), plugin=s.plugin, level=s.level, prefer=s.prefer,
        threads=s.threads, timeout=s.timeout, cancel=token, file_info=info,
        registry=job.registry, rsyncable=s.rsyncable, format=s.container,
    )
    job.target.finish(targets.Metadata.of(src.stat))
    return stats


def _decompress_work(job: _Job, token: CancelToken) -> StreamStats:
    from .. import decompress_stream

    s, src = job.settings, job.src
    restore = isinstance(job.target, targets.FileTarget) and not s.no_name
    stored = _stored_info(src.fp) if restore else None
    out = job.target.open() if s.command == "decompress" else _NullSink()
    stats = decompress_stream(job.reader, out, threads=s.threads, timeout=s.timeout,
                                    cancel=token, registry=job.registry)
    if s.command == "decompress":
        meta = targets.Metadata.of(src.stat)
        if stored is not None:
            meta = targets.Metadata(
                mode=_stored_mode(stored.mode) if stored.mode is not None else meta.mode,
                mtime_ns=stored.mtime_ns if stored.mtime_ns is not None else meta.mtime_ns,
                atime_ns=None if stored.mtime_ns is not None else meta.atime_ns,
                uid=meta.uid, gid=meta.gid,
            )
        job.target.finish(meta)
    return stats


def _stored_mode(mode: int) -> int:
    """Return the permission bits to give a file whose frame stores *mode*.

    As tar does: root gets the stored bits, anyone else has the umask
    applied, so a stored 0777 becomes 0755 under umask 022.
    """
    mode &= 0o777
    if getattr(os, "geteuid", lambda: 0)() != 0:
        mode &= ~targets.umask()
    return mode


_PLANS: Final = {"compress": _plan_compress, "decompress": _plan_decompress, "test": _plan_test}


def _one(s: Settings, name: str, registry: Registry | None, supervisor: Supervisor,
         directory: files.Directory | None = None) -> Result:
    try:
        src, target, remove = _PLANS[s.command](s, name, directory)
    except BaseException:
        if directory is not None:  # refused before open_source took it over
            directory.close()
        raise
    committed = False
    work = _compress_work if s.command == "compress" else _decompress_work
    try:
        target.prepare()
        bar = make_bar(src.size, os.path.basename(src.name), enabled=s.progress and not s.quiet)
        reader = CountingReader(src.fp, bar.update) if bar is not None else src.fp
        head = None
        if s.command == "compress" and s.plugin is None and s.verbose:
            from ..selection import WINDOW

            reader = head = _HeadReader(reader, WINDOW)
        job = _Job(s, registry, src, target, reader)
        started = time.perf_counter()
        try:
            stats = supervisor.run(lambda token: work(job, token))
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - started
        target.commit()
        committed = True
    except BaseException:
        if not committed:
            target.discard(abandoned=supervisor.abandoned)
        raise
    finally:
        if not supervisor.abandoned:
            src.close()
    try:
        if remove:
            files.remove_input(src, target.name)
    finally:
        src.release()
    if s.command == "compress":
        return Result(src.name, target.name, stats.bytes_in, stats.bytes_out, stats.plugin,
                      seconds, bytes(head.head) if head is not None else None)
    return Result(src.name, target.name, stats.bytes_out, stats.bytes_in, stats.plugin, seconds)


def _check_codec(s: Settings, registry: Registry | None) -> None:
    """Validate plugin, level and CRUSH_TIMEOUT once, before any file, by the library itself."""
    from .. import compress_stream  # what the files go through next (crush.compress is more)

    compress_stream(io.BytesIO(), io.BytesIO(), plugin=s.plugin, level=s.level, threads=1,
                    timeout=s.timeout, prefer=s.prefer, registry=registry)


def _why(s: Settings, result: Result, registry: Registry | None) -> str:
    """Return the ``-v`` line saying why automatic selection chose the file's plugin."""
    from .. import select_plugin

    assert result.head is not None
    choice = select_plugin(result.head, prefer=s.prefer, registry=registry)
    if choice.plugin.name != result.plugin:  # the chosen plugin failed: the default took over
        return (f"  {escape(result.source)}: chose {choice.plugin.name} ({choice.reason}), which "
                f"failed; {result.plugin} took over")
    return f"  {escape(result.source)}: chose {result.plugin}: {choice.reason}"


def _summary(s: Settings, done: list[Result], failed: int) -> str:
    total = len(done) + failed
    tail = f"; {failed} failed" if failed else ""
    if s.command == "test":
        return f"{total} files tested: {len(done)} OK{tail}"
    if not done:
        return f"{total} files: all failed"
    original = sum(r.original for r in done)
    compressed = sum(r.compressed for r in done)
    seconds = sum(r.seconds for r in done)
    sizes = (f"{size(original)} -> {size(compressed)}" if s.command == "compress"
             else f"{size(compressed)} -> {size(original)}")
    return (f"{total} files: {sizes}  {ratio(compressed, original)}  "
            f"{speed(original, seconds)}{tail}")


def digit_level(digit: int, plugin: str | None, registry: Registry | None) -> int | str:
    """Return what ``-DIGIT`` means: the plugin's native level where its scale holds it.

    Without a named plugin, or for a plugin whose levels do not reach
    *digit* (``store``), 1-3 mean ``fast``, 4-6 ``balanced`` and 7-9 ``best``.
    """
    if plugin is not None:
        from ..registry import DEFAULT_REGISTRY

        meta = (registry or DEFAULT_REGISTRY).get(plugin).metadata
        if meta.min_level <= digit <= meta.max_level:
            return digit
    return "fast" if digit <= 3 else "balanced" if digit <= 6 else "best"


def _resolve(s: Settings, registry: Registry | None, console: Console,
             supervisor: Supervisor) -> Settings | None:
    """Return *s* with its level resolved and checked by the library; None after an error."""
    try:
        if s.shorthand:
            assert isinstance(s.level, int)
            # -F: -1 .. -9 are the format's own levels, as in gzip, pigz and zstd.
            level = s.level if s.container else digit_level(s.level, s.plugin, registry)
            s = s._replace(level=level, shorthand=False)
        if s.container is None:  # a standard format's level is checked as it is written
            supervisor.run(lambda token: _check_codec(s, registry))
    except Interrupted:
        raise
    except Exception as exc:
        # A plugin, level or CRUSH_* value that cannot work: a configuration error.
        where = (None if s.plugin is None else f"CRUSH_PLUGIN={s.plugin}" if s.plugin_from_env
                 else f"-m {s.plugin}")
        if console.fail(where, exc) == FAILED:
            console.status = max(console.status, USAGE)
        return None
    return s


Item = tuple[str, "files.Directory | None"]


def expand(s: Settings, console: Console) -> Iterator[Item]:
    """Yield the files to work on: -r replaces each directory by the files under it.

    Lazily, so each walked file's open directory is used (and closed) before
    the next one is opened.
    """
    from .walk import files_under

    def keep(base: str) -> bool:
        # Compressing skips what already has the suffix (gzip -r does too);
        # decompressing and testing take only that.
        return base.endswith(s.suffix) != (s.command == "compress")

    for name in s.files or (files.STDIO,):
        if not s.recursive or name == files.STDIO or not os.path.isdir(name) \
                or os.path.islink(name):
            yield name, None
            continue
        yield from files_under(name, keep, lambda exc: console.fail(exc.filename, exc))


def transform(s: Settings, registry: Registry | None, console: Console,
              supervisor: Supervisor) -> None:
    """Run compress, decompress or test over every file in *s*; report on *console*."""
    if s.command == "compress":
        resolved = _resolve(s, registry, console, supervisor)
        if resolved is None:
            return
        s = resolved
    done: list[Result] = []
    failed = 0
    for name, directory in expand(s, console):
        supervisor.check()
        label = "stdin" if name == files.STDIO else name
        try:
            result = _one(s, name, registry, supervisor, directory)
        except Interrupted:
            raise
        except BrokenPipeError:
            # The reader went away (crush -dc x | head): stop quietly, as gzip does.
            silence_stdout()
            console.status = max(console.status, FAILED)
            return
        except Exception as exc:
            failed += 1
            console.fail(label, exc)
            continue
        done.append(result)
        console.detail(result.line(s.command))
        if result.head is not None:
            console.detail(_why(s, result, registry))
    if len(done) + failed > 1:
        console.detail(_summary(s, done, failed))


def silence_stdout() -> None:
    """Point stdout at the null device, so flushes at exit cannot fail on a closed pipe."""
    # The reader went away: later flushes of stdout (at exit) must not fail too.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
