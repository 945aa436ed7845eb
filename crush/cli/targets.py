"""Where output goes and how it lands: stdout, an existing device, or a new file.

Nothing is ever lost or left half-written:

* A new output file is written to an anonymous file in its destination
  directory (Linux ``O_TMPFILE``: it has no name, so not even ``kill -9``
  can leave a partial file behind), fsynced, given its final mode and
  mtime, and only then linked into place: with ``linkat`` when it must not
  overwrite (fails if the name appeared meanwhile), through a hidden name
  and ``renameat`` under ``-f``. Where ``O_TMPFILE`` is missing, a hidden
  ``.NAME.RANDOM.crush-tmp`` (``O_EXCL``, mode 0600) plays its part and is
  removed on any failure or signal.
* Every name is resolved relative to the destination directory opened when
  the output was planned, so swapping a directory on the path for a
  symbolic link while crush runs cannot move the output elsewhere.
* An existing device or FIFO given as output (``-o /dev/null``) is written
  in place, never replaced, and the input is kept.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import time
from typing import IO
from typing import Final
from typing import NamedTuple

from .files import O_CLOEXEC
from .files import O_NOCTTY
from .files import O_NOFOLLOW
from .files import O_NONBLOCK
from .files import STDIO
from .files import Directory
from .messages import Failure

_O_TMPFILE: Final = getattr(os, "O_TMPFILE", 0)
_PROC_FD: Final = "/proc/self/fd"

_NO_HARD_LINKS: Final = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}
)


class Metadata(NamedTuple):
    """What an output file gets before it becomes visible (each field optional)."""

    mode: int | None = None
    mtime_ns: int | None = None
    atime_ns: int | None = None
    uid: int | None = None
    gid: int | None = None

    @classmethod
    def of(cls, st: os.stat_result | None) -> Metadata:
        """Return the permission bits, times and owner of *st* (empty for None)."""
        if st is None:
            return cls()
        return cls(stat.S_IMODE(st.st_mode) & 0o777, st.st_mtime_ns, st.st_atime_ns,
                   st.st_uid, st.st_gid)


class Target:
    """Where one output goes. Subclasses: stdout, an existing device, a new file.

    ``prepare()`` runs on the main thread, ``open()`` and ``finish()`` on
    the helper thread doing the work, ``commit()`` or ``discard()`` on the
    main thread again.
    """

    name = "stdout"
    keeps_input = True
    """True when the input must stay (the output is not a file of its own)."""

    def prepare(self) -> None:
        """Reserve what the output needs before the work starts."""

    def open(self) -> IO[bytes]:
        """Return the binary stream to write to."""
        return sys.stdout.buffer

    def finish(self, meta: Metadata) -> None:
        """Flush everything written (and, for files, apply *meta* and fsync)."""
        sys.stdout.buffer.flush()

    def commit(self) -> None:
        """Make the finished output visible under its name."""

    def discard(self, *, abandoned: bool = False) -> None:
        """Remove every trace of an unfinished output."""

    def is_terminal(self) -> bool:
        """Return True when the output is a terminal."""
        try:
            return sys.stdout.isatty()
        except (AttributeError, ValueError):
            return False

    def same_file(self, st: os.stat_result | None) -> bool:
        """Return True when the output is the file *st* describes."""
        return False


class DeviceTarget(Target):
    """An existing device, FIFO or socket named by ``-o``: written in place, never replaced."""

    def __init__(self, path: str) -> None:
        self.name = path
        self._fp: IO[bytes] | None = None

    def open(self) -> IO[bytes]:
        """Open the device for writing (may block for a FIFO without a reader)."""
        self._fp = open(self.name, "wb")  # noqa: SIM115  # closed in finish()/discard()
        return self._fp

    def finish(self, meta: Metadata) -> None:
        """Flush and close the device."""
        assert self._fp is not None
        fp, self._fp = self._fp, None
        fp.close()

    def discard(self, *, abandoned: bool = False) -> None:
        """Close the device; what was written to it cannot be taken back."""
        if self._fp is not None and not abandoned:
            with contextlib.suppress(OSError):
                self._fp.close()
        self._fp = None

    def is_terminal(self) -> bool:
        """Return True when the device is a terminal."""
        try:
            fd = os.open(self.name, os.O_WRONLY | O_NOCTTY | O_NONBLOCK)
        except OSError:
            return False
        try:
            return os.isatty(fd)
        finally:
            os.close(fd)


def umask() -> int:
    """Return the process umask (without changing it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _hidden_name(base: str) -> str:
    # tempfile.mkstemp's recipe, without importing tempfile (and random, shutil).
    return f".{base[:64]}.{os.urandom(6).hex()}.crush-tmp"


class FileTarget(Target):
    """A new regular file in *directory*, written unnamed and committed atomically.

    Owns *directory* (closed by ``commit()`` or ``discard()``).
    """

    keeps_input = False

    def __init__(self, path: str, directory: Directory, base: str, *, replace: bool) -> None:
        self.name = path
        self._dir = directory
        self._base = base
        self._replace = replace
        self._tmp: str | None = None
        self._anonymous = False
        self._fp: IO[bytes] | None = None

    def _create_anonymous(self) -> int | None:
        if not _O_TMPFILE or self._dir.fd is None or not os.path.isdir(_PROC_FD):
            return None
        try:
            # Not O_EXCL: that would forbid linking it into place later.
            return os.open(".", _O_TMPFILE | os.O_WRONLY | O_CLOEXEC, 0o600, dir_fd=self._dir.fd)
        except OSError as exc:
            if exc.errno in (errno.EISDIR, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOENT):
                return None  # the file system or kernel has no O_TMPFILE
            raise OSError(exc.errno, exc.strerror, self.name) from None

    def _create_named(self) -> tuple[int, str]:
        flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_CLOEXEC | O_NOFOLLOW
                 | getattr(os, "O_BINARY", 0))
        for _ in range(100):
            tmp = _hidden_name(self._base)
            try:
                return os.open(self._dir.path(tmp), flags, 0o600, dir_fd=self._dir.fd), tmp
            except FileExistsError:
                continue
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, self.name) from None
        raise OSError(errno.EEXIST, "no free temporary name", self.name)  # pragma: no cover

    def prepare(self) -> None:
        """Create the unnamed (else hidden, mode 0600) file in the destination directory."""
        fd = self._create_anonymous()
        if fd is not None:
            self._anonymous = True
        else:
            fd, self._tmp = self._create_named()
        self._fp = os.fdopen(fd, "wb")

    def open(self) -> IO[bytes]:
        """Return the temporary file."""
        assert self._fp is not None
        return self._fp

    def finish(self, meta: Metadata) -> None:
        """Flush, set mode, owner and times (best effort) and fsync.

        A named temporary file is closed here; an unnamed one stays open
        until ``commit()`` links it.
        """
        assert self._fp is not None
        fp = self._fp
        fp.flush()
        fd = fp.fileno()
        mode = meta.mode if meta.mode is not None else 0o666 & ~umask()
        # Best effort, and fchmod/fchown do not exist everywhere (Windows).
        with contextlib.suppress(OSError, AttributeError):
            os.fchmod(fd, mode)
        if meta.uid is not None and meta.gid is not None:
            with contextlib.suppress(OSError, AttributeError):
                os.fchown(fd, meta.uid, meta.gid)
        if meta.mtime_ns is not None:
            atime = meta.atime_ns if meta.atime_ns is not None else time.time_ns()
            with contextlib.suppress(OSError, OverflowError, ValueError):
                os.utime(fd, ns=(atime, meta.mtime_ns))
        os.fsync(fd)
        if not self._anonymous:
            self._fp = None
            fp.close()

    def _name_anonymous(self) -> str:
        """Give the unnamed file a hidden name in the directory; return it."""
        assert self._fp is not None
        source = f"{_PROC_FD}/{self._fp.fileno()}"
        for _ in range(100):
            tmp = _hidden_name(self._base)
            try:
                os.link(source, self._dir.path(tmp), dst_dir_fd=self._dir.fd,
                        follow_symlinks=True)
            except FileExistsError:
                continue
            self._tmp = tmp
            return tmp
        raise OSError(errno.EEXIST, "no free temporary name", self.name)  # pragma: no cover

    def _link_new(self) -> None:
        """Link the finished file to its name, never replacing anything."""
        d = self._dir
        if self._anonymous:
            assert self._fp is not None
            source, source_dir = f"{_PROC_FD}/{self._fp.fileno()}", None
        else:
            assert self._tmp is not None
            source, source_dir = d.path(self._tmp), d.fd
        try:
            os.link(source, d.path(self._base), src_dir_fd=source_dir, dst_dir_fd=d.fd,
                    follow_symlinks=self._anonymous)
        except FileExistsError:
            raise Failure(f"{self.name} already exists (it appeared while crush was "
                          "working); use -f to overwrite it") from None
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS or self._anonymous:
                raise
            # No hard links on this file system: check, then rename.
            with contextlib.suppress(FileNotFoundError):
                d.lstat(self._base)
                raise Failure(f"{self.name} already exists; use -f to overwrite it") from None
            os.rename(d.path(self._tmp or ""), d.path(self._base), src_dir_fd=d.fd,
                      dst_dir_fd=d.fd)
            self._tmp = None
        if self._tmp is not None:
            os.unlink(d.path(self._tmp), dir_fd=d.fd)
            self._tmp = None

    def commit(self) -> None:
        """Give the finished file its name; without -f never overwrite anything."""
        d = self._dir
        if self._replace:
            tmp = self._tmp if not self._anonymous else self._name_anonymous()
            assert tmp is not None
            os.rename(d.path(tmp), d.path(self._base), src_dir_fd=d.fd, dst_dir_fd=d.fd)
            self._tmp = None
        else:
            self._link_new()
        if self._fp is not None:
            fp, self._fp = self._fp, None
            fp.close()
        d.sync()
        d.close()

    def discard(self, *, abandoned: bool = False) -> None:
        """Close (unless another thread may still use it) and delete the temporary file."""
        if self._fp is not None and not abandoned:
            with contextlib.suppress(OSError):
                self._fp.close()
        self._fp = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._dir.path(self._tmp), dir_fd=self._dir.fd)
            self._tmp = None
        if not abandoned:
            self._dir.close()

    def is_terminal(self) -> bool:
        """Return False: a new file is never a terminal."""
        return False

    def same_file(self, st: os.stat_result | None) -> bool:
        """Return True when the destination already is the file *st* describes."""
        if st is None:
            return False
        try:
            out = os.stat(self._dir.path(self._base), dir_fd=self._dir.fd)
        except OSError:
            return False
        return (out.st_dev, out.st_ino) == (st.st_dev, st.st_ino)


def _links_to_device(directory: Directory, base: str) -> bool:
    """Return True when the link *base* names a device to write into."""
    # /dev/stdout and friends: write into the device the link names, never
    # replace the link. A link to a file is replaced (under -f), not followed.
    try:
        followed = os.stat(directory.path(base), dir_fd=directory.fd)
    except OSError:
        return False
    return not (stat.S_ISREG(followed.st_mode) or stat.S_ISDIR(followed.st_mode))


def plan_target(path: str, *, force: bool, beside: Directory | None = None) -> Target:
    """Return where output *path* (``-`` is stdout) goes; refuse to clobber without *force*.

    *beside* is the input's open directory when *path* is in it (a name
    derived from the input's): the output then goes to that very directory,
    whatever its path resolves to by now.
    """
    if path == STDIO:
        return Target()
    where, base = os.path.split(path)
    if not base:
        raise Failure(f"the output {path} is a directory; name a file with -o PATH")
    try:
        directory = beside.dup() if beside is not None else Directory.open(where)
    except OSError as exc:
        raise Failure(f"cannot write {path}: {exc.strerror}; write elsewhere with -o PATH "
                      "or -c") from None
    try:
        try:
            st = directory.lstat(base)
        except FileNotFoundError:
            return FileTarget(path, directory, base, replace=False)
        if stat.S_ISLNK(st.st_mode) and _links_to_device(directory, base):
            directory.close()
            return DeviceTarget(path)
        if stat.S_ISDIR(st.st_mode):
            raise Failure(f"the output {path} is a directory; name a file with -o PATH")
        if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
            if not force:
                raise Failure(f"{path} already exists; use -f to overwrite it")
            return FileTarget(path, directory, base, replace=True)
    except BaseException:
        directory.close()
        raise
    directory.close()
    return DeviceTarget(path)
