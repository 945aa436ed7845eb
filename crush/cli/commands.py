"""``compress``, ``decompress`` and ``test``: one file at a time, through the public API.

Each file is planned on the main thread (refusals first, nothing written
yet), worked on by a helper thread under the :class:`~.signals.Supervisor`
(``crush.compress_stream`` / ``crush.decompress_stream``), then committed on
the main thread. A failed file is reported and the next one is tried; the
exit status is the worst seen.

Without ``-p`` the library chooses the plugin from each file's first bytes
(``plugin=None`` goes through). For ``-v`` the CLI keeps those bytes as
they pass and asks :func:`crush.select_plugin` afterwards why that plugin
won: the same call on the same bytes, so the reason is the library's own.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

from . import files
from .args import Settings
from .messages import FAILED
from .messages import Console
from .messages import Failure
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


@dataclass(frozen=True, slots=True)
class Result:
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
            return f"{self.source}: OK  {tail}"
        return f"{self.source} -> {self.output}  {tail}"


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


@dataclass(slots=True)
class _Job:
    """Everything the helper thread needs for one file."""

    settings: Settings
    registry: Registry | None
    src: files.Source
    target: files.Target
    reader: Any


def _output_path(s: Settings, name: str, default: Callable[[], str]) -> str:
    if s.stdout or (name == files.STDIO and s.output is None):
        return files.STDIO
    return s.output if s.output is not None else default()


def _refuse_same(src: files.Source, target: files.Target) -> None:
    if target.same_file(src.stat):
        raise Failure(f"the output {target.name} is the input file; choose another with -o")


def _refuse_links(s: Settings, src: files.Source, remove: bool) -> None:
    links = src.stat.st_nlink - 1 if src.stat is not None else 0
    if remove and links > 0 and not s.force:
        raise Failure(f"has {links} other link{'s' if links > 1 else ''} — unchanged, as "
                      "removing it would not free the data; use -k to keep it or -f")


def _plan_compress(s: Settings, name: str) -> tuple[files.Source, files.Target, bool]:
    if name != files.STDIO and name.endswith(SUFFIX) and not s.force:
        raise Failure(f"already has the {SUFFIX} suffix — unchanged; use -f to compress it again")
    src = files.open_source(name, follow=s.force, buffering=0)
    return _plan_output(s, src, name, lambda: name + SUFFIX, to_terminal_ok=False)


def _plan_output(
    s: Settings, src: files.Source, name: str, default: Callable[[], str], *,
    to_terminal_ok: bool,
) -> tuple[files.Source, files.Target, bool]:
    """Plan where *src* goes and whether to remove it; close *src* on refusal."""
    try:
        target = files.plan_target(_output_path(s, name, default), force=s.force)
        if not to_terminal_ok and target.is_terminal() and not s.force:
            raise Failure("compressed data not written to a terminal; redirect the output "
                          "(crush < IN > OUT), use -o PATH, or -f to force it")
        _refuse_same(src, target)
        remove = not (s.keep or src.path is None or target.keeps_input)
        _refuse_links(s, src, remove)
    except BaseException:
        src.close()
        raise
    return src, target, remove


def _plan_decompress(s: Settings, name: str) -> tuple[files.Source, files.Target, bool]:
    if name == files.STDIO and files.stdin_is_terminal() and not s.force:
        raise Failure("compressed data not read from a terminal; redirect the input "
                      "(crush -d < FILE.crush) or use -f to force it")
    base = os.path.basename(name)
    named = name == files.STDIO or (base.endswith(SUFFIX) and len(base) > len(SUFFIX))
    if not named and s.output is None and not s.stdout:
        raise Failure(f"does not end in {SUFFIX}, so the output has no name — unchanged; name "
                      "it with -o PATH or write to stdout with -c")
    src = files.open_source(name, follow=s.force)
    return _plan_output(s, src, name, lambda: name[: -len(SUFFIX)], to_terminal_ok=True)


def _plan_test(s: Settings, name: str) -> tuple[files.Source, files.Target, bool]:
    if name == files.STDIO and files.stdin_is_terminal() and not s.force:
        raise Failure("compressed data not read from a terminal; redirect the input "
                      "(crush -t < FILE.crush) or use -f to force it")
    return files.open_source(name, follow=True, special=True), files.Target(), False


def _stored_info(fp: Any) -> FileInfo | None:
    """Return the name/mtime/mode the first frame stores, reading ahead and seeking back."""
    from .. import CrushError
    from .. import frame
    from ..stream import FileSource

    try:
        if not fp.seekable():
            return None
        start = fp.tell()
    except (OSError, ValueError):
        return None
    try:
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
    if src.path is not None and src.stat is not None:
        info = FileInfo(name=os.path.basename(src.path), mtime_ns=src.stat.st_mtime_ns,
                              mode=src.stat.st_mode & 0o7777)
    stats = compress_stream(
        job.reader, job.target.open(), plugin=s.plugin, level=s.level, prefer=s.prefer,
        threads=s.threads, timeout=s.timeout, cancel=token, file_info=info,
        registry=job.registry,
    )
    job.target.finish(files.Metadata.of(src.stat))
    return stats


def _decompress_work(job: _Job, token: CancelToken) -> StreamStats:
    from .. import decompress_stream

    s, src = job.settings, job.src
    stored = _stored_info(src.fp) if isinstance(job.target, files.FileTarget) else None
    out = job.target.open() if s.command == "decompress" else _NullSink()
    stats = decompress_stream(job.reader, out, threads=s.threads, timeout=s.timeout,
                                    cancel=token, registry=job.registry)
    if s.command == "decompress":
        meta = files.Metadata.of(src.stat)
        if stored is not None:
            meta = files.Metadata(
                mode=stored.mode & 0o777 if stored.mode is not None else meta.mode,
                mtime_ns=stored.mtime_ns if stored.mtime_ns is not None else meta.mtime_ns,
                atime_ns=None if stored.mtime_ns is not None else meta.atime_ns,
                uid=meta.uid, gid=meta.gid,
            )
        job.target.finish(meta)
    return stats


_PLANS: Final = {"compress": _plan_compress, "decompress": _plan_decompress, "test": _plan_test}


def _one(s: Settings, name: str, registry: Registry | None,
         supervisor: Supervisor) -> Result:
    src, target, remove = _PLANS[s.command](s, name)
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
    if remove:
        files.remove_input(src, target.name)
    if s.command == "compress":
        return Result(src.name, target.name, stats.bytes_in, stats.bytes_out, stats.plugin,
                      seconds, bytes(head.head) if head is not None else None)
    return Result(src.name, target.name, stats.bytes_out, stats.bytes_in, stats.plugin, seconds)


def _check_codec(s: Settings, registry: Registry | None) -> None:
    """Validate plugin, level and CRUSH_TIMEOUT once, before any file, by the library itself."""
    from .. import compress

    compress(b"", plugin=s.plugin, level=s.level, threads=1, timeout=s.timeout,
             prefer=s.prefer, registry=registry)


def _why(s: Settings, result: Result, registry: Registry | None) -> str:
    """Return the ``-v`` line saying why automatic selection chose the file's plugin."""
    from .. import select_plugin

    assert result.head is not None
    choice = select_plugin(result.head, prefer=s.prefer, registry=registry)
    if choice.plugin.name != result.plugin:  # the chosen plugin failed: the default took over
        return (f"  {result.source}: chose {choice.plugin.name} ({choice.reason}), which "
                f"failed; {result.plugin} took over")
    return f"  {result.source}: chose {result.plugin}: {choice.reason}"


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


def _broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError)


def transform(s: Settings, registry: Registry | None, console: Console,
              supervisor: Supervisor) -> None:
    """Run compress, decompress or test over every file in *s*; report on *console*."""
    if s.command == "compress":
        try:
            supervisor.run(lambda token: _check_codec(s, registry))
        except Interrupted:
            raise
        except Exception as exc:
            console.fail(None if s.plugin is None else f"-p {s.plugin}", exc)
            return
    names = s.files or (files.STDIO,)
    done: list[Result] = []
    failed = 0
    for name in names:
        supervisor.check()
        label = "stdin" if name == files.STDIO else name
        try:
            result = _one(s, name, registry, supervisor)
        except Interrupted:
            raise
        except Exception as exc:
            failed += 1
            if _broken_pipe(exc):
                _silence_stdout()
                console.error("stdout", "the reading end of the pipe closed early", FAILED)
                break
            console.fail(label, exc)
            continue
        done.append(result)
        console.info(result.line(s.command))
        if result.head is not None:
            console.info(_why(s, result, registry))
    if len(names) > 1:
        console.info(_summary(s, done, failed))


def _silence_stdout() -> None:
    # The reader went away: later flushes of stdout (at exit) must not fail too.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
