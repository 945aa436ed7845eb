"""Safe file handling: which inputs are accepted, where output goes, how it lands.

Nothing is ever lost:

* Inputs must be regular files. Directories, symbolic links (unless ``-f``)
  and devices, FIFOs or sockets are refused before anything is written,
  as gzip does; the file is opened with ``O_NOFOLLOW`` and checked again
  after opening, so a swap between the check and the open is caught too.
* A new output file is written to a temporary file in its destination
  directory (``.NAME.RANDOM.crush-tmp``, created with ``O_EXCL``, mode 0600
  until finished), fsynced, given its final mode and
  mtime, and only then made visible: with ``link()`` when it must not
  overwrite (fails if the name appeared meanwhile), with ``rename()`` under
  ``-f``. On any failure the temporary file is removed.
* An existing device or FIFO given as output (``-o /dev/null``) is written
  in place, never replaced, and the input is kept.
* The input is removed only after the output was committed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import time
from dataclasses import dataclass
from typing import IO
from typing import Any
from typing import Final

from .messages import FAILED
from .messages import Failure

STDIO: Final = "-"

_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_O_NOCTTY: Final = getattr(os, "O_NOCTTY", 0)
_O_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)

_NO_HARD_LINKS: Final = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}
)


@dataclass(frozen=True, slots=True)
class Metadata:
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


@dataclass(slots=True)
class Source:
    """An opened input: a regular file (``stat`` set) or stdin.

    ``name`` is what messages call it; ``size`` is known for regular files.
    """

    name: str
    path: str | None
    fp: Any
    stat: os.stat_result | None

    @property
    def size(self) -> int | None:
        """Bytes in the input when it is a regular file, else None."""
        return self.stat.st_size if self.stat is not None else None

    def close(self) -> None:
        """Close the input (stdin stays open)."""
        if self.path is not None:
            self.fp.close()


_REFUSE_DIR: Final = ("is a directory — ignored; crush works on files (archive it first: "
                      "tar cf - DIR | crush > DIR.tar.crush)")
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


def _refuse_by_lstat(path: str, follow: bool) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise Failure("no such file or directory") from None
    except OSError as exc:
        raise Failure(f"cannot read it: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise Failure(_REFUSE_DIR)
    if stat.S_ISLNK(st.st_mode) and not follow:
        raise Failure(_REFUSE_LINK)


def _open_fd(path: str, follow: bool) -> int:
    flags = os.O_RDONLY | _O_CLOEXEC | _O_NOCTTY | _O_NONBLOCK | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= _O_NOFOLLOW
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        raise Failure("is a symbolic link to a file that does not exist") from None
    except PermissionError:
        raise Failure("cannot read it: permission denied; check its permissions") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Failure(_REFUSE_LINK) from None
        raise Failure(f"cannot open it: {exc.strerror}") from None


def open_source(path: str, *, follow: bool, special: bool = False,
                buffering: int = -1) -> Source:
    """Open input *path* (``-`` is stdin) after refusing what crush must not touch.

    *follow* allows a symbolic link; *special* allows devices and FIFOs (for
    commands that only read). Raises :class:`Failure` (exit status 2).
    """
    if path == STDIO:
        return _stdin(buffering)
    _refuse_by_lstat(path, follow)
    fd = _open_fd(path, follow)
    try:
        # Checked again on the open file: the path may have been swapped.
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise Failure(_REFUSE_DIR)
        regular = stat.S_ISREG(st.st_mode)
        if not regular:
            if not special:
                raise Failure(_REFUSE_SPECIAL)
            with contextlib.suppress(AttributeError, OSError):  # not on every platform
                os.set_blocking(fd, True)
        fp = os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise
    return Source(path, path, fp, st if regular else None)


def remove_input(src: Source, output: str) -> None:
    """Delete the input file after its output *output* was committed."""
    assert src.path is not None
    try:
        os.unlink(src.path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise Failure(f"wrote {output} but could not remove the input: {exc.strerror}; "
                      "remove it yourself or use -k", FAILED) from None


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
            fd = os.open(self.name, os.O_WRONLY | _O_NOCTTY | _O_NONBLOCK)
        except OSError:
            return False
        try:
            return os.isatty(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class FileTarget(Target):
    """A new regular file, written under a temporary name and committed atomically."""

    keeps_input = False

    def __init__(self, path: str, *, replace: bool) -> None:
        self.name = path
        self._replace = replace
        self._tmp: str | None = None
        self._fp: IO[bytes] | None = None

    def prepare(self) -> None:
        """Create the temporary file next to the destination (mode 0600)."""
        directory, base = os.path.split(self.name)
        # tempfile.mkstemp's recipe, without importing tempfile (and random, shutil).
        flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | _O_NOFOLLOW
                 | getattr(os, "O_BINARY", 0))
        for _ in range(100):
            tmp = os.path.join(directory, f".{base[:64]}.{os.urandom(6).hex()}.crush-tmp")
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, self.name) from None
            break
        else:  # pragma: no cover - 100 collisions of 48 random bits
            raise OSError(errno.EEXIST, "no free temporary name", self.name)
        self._tmp = tmp
        self._fp = os.fdopen(fd, "wb")

    def open(self) -> IO[bytes]:
        """Return the temporary file."""
        assert self._fp is not None
        return self._fp

    def finish(self, meta: Metadata) -> None:
        """Flush, set mode, owner and times (best effort), fsync and close."""
        assert self._fp is not None
        fp = self._fp
        fp.flush()
        fd = fp.fileno()
        mode = meta.mode if meta.mode is not None else 0o666 & ~_umask()
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
        self._fp = None
        fp.close()

    def commit(self) -> None:
        """Give the finished file its name; without -f never overwrite anything."""
        tmp = self._tmp
        assert tmp is not None
        if self._replace:
            os.replace(tmp, self.name)
        else:
            try:
                os.link(tmp, self.name)
            except FileExistsError:
                raise Failure(f"{self.name} already exists (it appeared while crush was "
                              "working); use -f to overwrite it") from None
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
                # No hard links on this file system: check, then rename.
                if os.path.lexists(self.name):
                    raise Failure(f"{self.name} already exists; use -f to overwrite it") from None
                os.rename(tmp, self.name)
            else:
                os.unlink(tmp)
        self._tmp = None
        _sync_directory(os.path.dirname(self.name) or ".")

    def discard(self, *, abandoned: bool = False) -> None:
        """Close (unless another thread may still use it) and delete the temporary file."""
        if self._fp is not None and not abandoned:
            with contextlib.suppress(OSError):
                self._fp.close()
        self._fp = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None

    def is_terminal(self) -> bool:
        """Return False: a new file is never a terminal."""
        return False

    def same_file(self, st: os.stat_result | None) -> bool:
        """Return True when the destination already is the file *st* describes."""
        if st is None:
            return False
        try:
            out = os.stat(self.name)
        except OSError:
            return False
        return (out.st_dev, out.st_ino) == (st.st_dev, st.st_ino)


def _sync_directory(path: str) -> None:
    # Persist the new directory entry too; not every file system allows it.
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def plan_target(path: str, *, force: bool) -> Target:
    """Return where output *path* (``-`` is stdout) goes; refuse to clobber without *force*."""
    if path == STDIO:
        return Target()
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return FileTarget(path, replace=False)
    if stat.S_ISLNK(st.st_mode):
        # /dev/stdout and friends: write into the device the link names, never
        # replace the link. A link to a file is replaced (under -f), not followed.
        try:
            st = os.stat(path)
        except OSError:
            pass
        else:
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                return DeviceTarget(path)
            st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        raise Failure(f"the output {path} is a directory; name a file with -o PATH")
    if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
        if not force:
            raise Failure(f"{path} already exists; use -f to overwrite it")
        return FileTarget(path, replace=True)
    return DeviceTarget(path)


def stdin_is_terminal() -> bool:
    """Return True when stdin is a terminal."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False

