"""Entry point of a process-isolation worker: ``python -m crush._worker RFD WFD``.

Kept apart from :mod:`crush.isolation` so running it as ``__main__`` does
not load a second copy of a module the package already imported.
"""

import sys
from multiprocessing.connection import Connection

from .isolation import serve


class _Duplex:
    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = Connection(read_fd, writable=False)
        self._writer = Connection(write_fd, readable=False)

    def recv(self) -> object:
        return self._reader.recv()

    def send(self, obj: object) -> None:
        self._writer.send(obj)


if __name__ == "__main__":
    serve(_Duplex(int(sys.argv[1]), int(sys.argv[2])))  # type: ignore[arg-type]
