"""Safe input handling: which inputs are accepted, and removing them without a race.

* Inputs must be regular files. Directories, symbolic links (unless ``-f``)
  and devices, FIFOs or sockets are refused before anything is written,
  as gzip does; the file is opened with ``O_NOFOLLOW`` and checked again
  after opening, so a swap between the check and the open is caught too.
* Every name is resolved once: the input's directory is opened first and
  the file is opened, checked and finally removed *relative to that
  directory descriptor* (``openat``/``unlinkat``, as GNU gzip does). A
  directory on the path swapped for a symbolic link while crush runs (by
  whoever owns it) cannot redirect the removal to another directory, and
  the input is removed only if its name still refers to the file that was
  read (same device and inode, not following links).
* The input is removed only after the output was committed
  (:mod:`.targets` writes outputs the same way, relative to a directory
  descriptor).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
from typing import Any
from typing import Final

from .messages import FAILED
from .messages import Failure

STDIO: Final = "-"

O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
O_NOCTTY: Final = getattr(os, "O_NOCTTY", 0)
O_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
O_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)

DIR_FDS: Final = os.open in os.supports_dir_fd and os.unlink in os.supports_dir_fd
"""True where names can be resolved relative to a directory descriptor (not Windows)."""


class Directory:
    """A directory opened once, so names inside it are resolved against the same directory.

    ``fd`` is ``None`` where the platform has no ``*at`` calls; then
    :meth:`path` joins names onto ``where`` as before. Close it with
    :meth:`close`. Not thread-safe.
    """

    __slots__ = ("fd", "where")

    def __init__(self, where: str, fd: int | None) -> None:
        self.where = where
        self.fd = fd

    def __repr__(self) -> str:
        return f"Directory({self.where!r}, {self.fd!r})"

    @classmethod
    def open(cls, where: str) -> Directory:
        """Open directory *where* (``""`` is the working directory)."""
        where = where or "."
        if not DIR_FDS:
            return cls(where, None)
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | O_CLOEXEC)
        return cls(where, fd)

    def path(self, name: str) -> str:
        """Return what to pass with ``dir_fd=self.fd`` for *name* in this directory."""
        return name if self.fd is not None else os.path.join(self.where, name)

    def lstat(self, name: str) -> os.stat_result:
        """Return the status of *name* in this directory, not following a link."""
        return os.stat(self.path(name), dir_fd=self.fd, follow_symlinks=False)

    def sync(self) -> None:
        """Persist the directory's entries (best effort: not every file system allows it)."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self.fd)
            return
        with contextlib.suppress(OSError):
            fd = os.open(self.where, os.O_RDONLY | O_CLOEXEC)
            try:
                with contextlib.suppress(OSError):
                    os.fsync(fd)
            finally:
                os.close(fd)

    def dup(self) -> Directory:
        """Return another handle on the same directory (closed separately)."""
        return Directory(self.where, os.dup(self.fd) if self.fd is not None else None)

    def close(self) -> None:
        """Close the directory descriptor (idempotent)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
            self.where = ""


class Source:
    """An opened input: a regular file (``stat`` set) or stdin.

    ``name`` is what messages call it; ``size`` is known for regular files.
    ``directory`` and ``base`` locate a named input for its removal.
    """

    __slots__ = ("base", "directory", "fp", "name", "path", "stat")

    def __init__(self, name: str, path: str | None, fp: Any, stat: os.stat_result | None, *,
                 directory: Directory | None = None, base: str = "") -> None:
        self.name = name
        self.path = path
        self.fp = fp
        self.stat = stat
        self.directory = directory
        self.base = base

    def __repr__(self) -> str:
        return f"Source({self.name!r}, {self.path!r})"

    @property
    def size(self) -> int | None:
        """Bytes in the input when it is a regular file, else None."""
        return self.stat.st_size if self.stat is not None else None

    def close(self) -> None:
        """Close the input file (stdin stays open); the directory stays open for removal."""
        if self.path is not None:
            self.fp.close()

    def release(self) -> None:
        """Close the input's directory too (after :func:`remove_input` or instead of it)."""
        if self.directory is not None:
            self.directory.close()


_REFUSE_DIR: Final = ("is a directory — ignored; crush works on files (use -r to go through "
                      "it, or archive it: tar cf - DIR | crush > DIR.tar.crush)")
_REFUSE_LINK: Final = ("is a symbolic link — not followed; name the file it points to, or use "
                       "-f to follow it")
_REFUSE_SPECIAL: Final = ("is not a regular file (a device, FIFO or socket) — ignored; feed it "
                          "through stdin instead: crush < FILE")


def _stdin(buffering: int) -> Source:
    stdin: Any = sys.stdin.buffer
    fp = stdin if buffering else stdin.raw
    try:
        st = os.fstat(fp.fileno())
    except (OSError, ValueError, AttributeError):
        st = None
    regular = st is not None and stat.S_ISREG(st.st_mode)
    return Source("stdin", None, fp, st if regular else None)


def _refuse_by_lstat(directory: Directory, base: str, follow: bool) -> None:
    try:
        st = directory.lstat(base)
    except FileNotFoundError:
        raise Failure("no such file or directory") from None
    except OSError as exc:
        raise Failure(f"cannot read it: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise Failure(_REFUSE_DIR)
    if stat.S_ISLNK(st.st_mode) and not follow:
        raise Failure(_REFUSE_LINK)


def _open_fd(directory: Directory, base: str, follow: bool) -> int:
    # Never block in open() on a FIFO (a signal could not stop it); readers of
    # FIFOs wait for the writer in _FifoReader, on the thread doing the work.
    flags = os.O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= O_NOFOLLOW
    try:
        return os.open(directory.path(base), flags, dir_fd=directory.fd)
    except FileNotFoundError:
        raise Failure("is a symbolic link to a file that does not exist") from None
    except PermissionError:
        raise Failure("cannot read it: permission denied; check its permissions") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Failure(_REFUSE_LINK) from None
        raise Failure(f"cannot open it: {exc.strerror}") from None


def _open_directory(path: str) -> tuple[Directory, str]:
    where, base = os.path.split(path)
    if not base:  # "dir/": only a directory can end in a slash
        raise Failure(_REFUSE_DIR)
    try:
        return Directory.open(where), base
    except FileNotFoundError:
        raise Failure("no such file or directory") from None
    except OSError as exc:
        raise Failure(f"cannot open its directory: {exc.strerror}") from None


def open_source(path: str, *, follow: bool, special: bool = False,
                buffering: int = -1, removable: bool = False,
                directory: Directory | None = None) -> Source:
    """Open input *path* (``-`` is stdin) after refusing what crush must not touch.

    *follow* allows a symbolic link; *special* allows devices and FIFOs (for
    commands that only read). *removable* keeps the input's directory open
    for :func:`remove_input` (close it with :meth:`Source.release`).
    *directory*, when given, is *path*'s directory already open (from
    ``-r``'s walk); the source takes it over. Raises :class:`Failure`
    (exit status 2).
    """
    if path == STDIO:
        return _stdin(buffering)
    if directory is None:
        directory, base = _open_directory(path)
    else:
        base = os.path.basename(path)
    try:
        _refuse_by_lstat(directory, base, follow)
        fd = _open_fd(directory, base, follow)
        try:
            # Checked again on the open file: the path may have been swapped.
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise Failure(_REFUSE_DIR)
            regular = stat.S_ISREG(st.st_mode)
            if not regular and not special:
                raise Failure(_REFUSE_SPECIAL)
            fp: Any = os.fdopen(fd, "rb", buffering=buffering)
            if stat.S_ISFIFO(st.st_mode):
                fp = _FifoReader(fp)
            elif not regular:
                os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
    except BaseException:
        directory.close()
        raise
    if not removable:
        directory.close()
    return Source(path, path, fp, st if regular else None, directory=directory, base=base)


class _FifoReader(io.RawIOBase):
    """Reads a FIFO opened without blocking, waiting for its writer first as gzip does.

    A FIFO opened with ``O_NONBLOCK`` reads as empty until a writer
    arrives; the first read waits (``poll``) until data is there or a
    writer has come and gone, then the descriptor blocks as usual. Owns
    *fp*. Not thread-safe (one reader thread).
    """

    def __init__(self, fp: Any) -> None:
        super().__init__()
        self._fp = fp
        self._waited = False

    def readable(self) -> bool:
        """Return True: this stream only reads."""
        return True

    def fileno(self) -> int:
        """Return the FIFO's descriptor."""
        return int(self._fp.fileno())

    def _wait(self) -> None:
        import select

        fd = self._fp.fileno()
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            poller.poll()
        os.set_blocking(fd, True)
        self._waited = True

    def readinto(self, buffer: Any, /) -> int:
        """Read into *buffer*; return the number of bytes read (0 at the end)."""
        if not self._waited:
            self._wait()
        return int(self._fp.readinto(buffer) or 0)

    def close(self) -> None:
        """Close the FIFO."""
        self._fp.close()
        super().close()


def _still_the_input(src: Source) -> bool:
    """Return True when the input's name still refers to the file that was read."""
    assert src.directory is not None and src.stat is not None
    st = src.directory.lstat(src.base)
    if stat.S_ISLNK(st.st_mode):  # followed under -f: compare what it points to
        st = os.stat(src.directory.path(src.base), dir_fd=src.directory.fd)
    return (st.st_dev, st.st_ino) == (src.stat.st_dev, src.stat.st_ino)


def remove_input(src: Source, output: str) -> None:
    """Delete the input file after its output *output* was committed.

    The name is removed from the directory opened before the input was
    read, and only while it still refers to that same file.
    """
    assert src.directory is not None
    try:
        if not _still_the_input(src):
            raise Failure(f"wrote {output} but kept the input: {src.name} was replaced while "
                          "crush was working; check it and remove it yourself", FAILED)
        os.unlink(src.directory.path(src.base), dir_fd=src.directory.fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise Failure(f"wrote {output} but could not remove the input: {exc.strerror}; "
                      "remove it yourself or use -k", FAILED) from None


def stdin_is_terminal() -> bool:
    """Return True when stdin is a terminal."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False
