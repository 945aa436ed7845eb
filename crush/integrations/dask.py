"""Dask distributed: teach every worker about crush, and compress files across workers.

Workers are separate processes, often on other machines: they know about
crush only if something registers it there. :class:`CrushWorkerPlugin`
does, on every current and future worker::

    from distributed import Client
    from crush.integrations.dask import CrushWorkerPlugin, register_all

    client = Client(...)
    client.register_plugin(CrushWorkerPlugin(threads=1))
    register_all()  # the client process builds the graphs: it needs crush too

or both at once: ``crush.integrations.dask.register(client)``. The
plugin's ``setup`` runs :func:`register_all` (fsspec's ``compression="crush"``
and ``crush::`` filesystem, and the numcodecs and Zarr codecs where those
libraries are installed) and sets ``CRUSH_THREADS`` in the worker process,
which crush's fsspec integration reads: Dask already runs one task per
worker thread, so crush decoding each task's blocks on every CPU as well
would oversubscribe the machine.

:func:`compress_file` is a task for ``client.map`` or a Dask bag: compress
one file next to itself with crush.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from typing import NamedTuple
from typing import final

from distributed.diagnostics.plugin import WorkerPlugin

from ..stream import compress_stream


def register_all() -> list[str]:
    """Register crush with every integration host installed here; return their names.

    fsspec is registered always (it is this integration's base); numcodecs
    and Zarr only when importable. Safe to call more than once.
    """
    from . import fsspec

    fsspec.register()
    done = ["fsspec"]
    try:
        from . import numcodecs
    except ImportError:  # numcodecs is optional (crush[zarr])
        pass
    else:
        numcodecs.register()
        done.append("numcodecs")
    try:
        from . import zarr
    except ImportError:  # zarr is optional (crush[zarr])
        pass
    else:
        zarr.register()
        done.append("zarr")
    return done


class CrushWorkerPlugin(WorkerPlugin):
    """Register crush on each Dask worker and set its threads there.

    *threads* (default 1, an int >= 1) is written to ``CRUSH_THREADS`` in
    each worker process. Pass the plugin to ``client.register_plugin``;
    Dask runs ``setup`` on every worker that exists or joins later. Do not
    use it with ``processes=False`` clusters unless the client process may
    have ``CRUSH_THREADS`` changed too.
    """

    name = "crush"

    def __init__(self, threads: int = 1) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an int >= 1, got {threads!r}")
        self.threads = threads

    def setup(self, worker: Any) -> None:
        """Set ``CRUSH_THREADS`` and register crush's integrations in this worker."""
        os.environ["CRUSH_THREADS"] = str(self.threads)
        register_all()


def register(client: Any, *, threads: int = 1) -> None:
    """Register crush in this (client) process and, by :class:`CrushWorkerPlugin`, on every worker.

    The client needs it too: Dask resolves ``compression="crush"`` while
    building the graph, before any worker runs.
    """
    plugin = CrushWorkerPlugin(threads=threads)  # validate before registering anything
    register_all()
    client.register_plugin(plugin)


@final
class Compressed(NamedTuple):
    """What :func:`compress_file` did: the two paths and their sizes in bytes."""

    source: str
    target: str
    bytes_in: int
    bytes_out: int


def compress_file(source: str | os.PathLike[str], *, plugin: str | None = None,
                  level: int | str | None = None, threads: int | None = 1,
                  suffix: str = ".crush") -> Compressed:
    """Compress *source* into ``source + suffix`` with crush; a task for ``client.map``.

    *threads* defaults to 1 (one task per worker thread already fills the
    machine). The target is written to a temporary name and renamed when
    complete, so a failed or cancelled task leaves no half-written file.
    """
    src = Path(source)
    target = src.with_name(src.name + suffix)
    partial = target.with_name(target.name + ".part")
    try:
        with src.open("rb") as fin, partial.open("wb") as fout:
            stats = compress_stream(fin, fout, plugin=plugin, level=level, threads=threads)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Compressed(str(src), str(target), stats.bytes_in, stats.bytes_out)
