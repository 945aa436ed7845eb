"""``-r``: the files under a directory, each with its directory already open.

The only module in crush that lists directories (the user's, for ``-r``;
plugins are never found this way — see tests/test_static_imports.py).
:func:`os.fwalk` opens every subdirectory relative to its parent's
descriptor without following symbolic links and checks it is the directory
it listed, so a directory swapped for a link while crush runs is never
entered; each file is then opened and removed relative to a duplicate of
that descriptor (see :mod:`.files`), never by re-resolving its path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from collections.abc import Iterator

from .files import Directory


def files_under(top: str, keep: Callable[[str], bool],
                on_error: Callable[[OSError], object]) -> Iterator[tuple[str, Directory]]:
    """Yield ``(path, directory)`` for each file under *top* whose name *keep* accepts.

    Names come sorted, directories depth first. The caller owns (and must
    close) each :class:`Directory`; it stays valid after the walk moves on.
    Symbolic links are neither followed nor yielded, as with gzip -r.
    """
    if not hasattr(os, "fwalk"):  # Windows: no directory descriptors to walk safely with
        on_error(OSError(0, "-r needs a system with os.fwalk (not Windows)", top))
        return
    for root, dirs, names, root_fd in os.fwalk(top, onerror=on_error, follow_symlinks=False):
        dirs.sort()
        for name in sorted(names):
            if not keep(name):
                continue
            try:
                st = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
            except OSError as exc:
                on_error(exc)
                continue
            if not stat.S_ISREG(st.st_mode):  # links, FIFOs, devices: skipped
                continue
            yield os.path.join(root, name), Directory(root, os.dup(root_fd))
