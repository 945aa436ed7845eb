"""Write large synthetic CSV files quickly, for the Dask tests and benchmark.

Rows come from a few distinct chunks formatted once with pandas (integers
and floats, so every reader parses them identically) and cycled until the
file reaches the asked size: hundreds of MiB take seconds, not minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

HEADER: Final = "id,count,value,flag\n"
_CHUNK_ROWS: Final = 100_000
_DISTINCT_CHUNKS: Final = 4


def _chunks(seed: int) -> list[bytes]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    chunks = []
    for i in range(_DISTINCT_CHUNKS):
        frame = pd.DataFrame({
            "id": np.arange(i * _CHUNK_ROWS, (i + 1) * _CHUNK_ROWS),
            "count": rng.integers(-(1 << 40), 1 << 40, _CHUNK_ROWS),
            "value": rng.random(_CHUNK_ROWS).round(6),
            "flag": rng.integers(0, 2, _CHUNK_ROWS),
        })
        chunks.append(frame.to_csv(header=False, index=False).encode())
    return chunks


def write_csv(path: Path, size: int, *, seed: int = 0) -> int:
    """Write a CSV of at least *size* bytes (header plus whole rows) to *path*; return its size."""
    chunks = _chunks(seed)
    written = 0
    with path.open("wb") as out:
        written += out.write(HEADER.encode())
        i = 0
        while written < size:
            written += out.write(chunks[i % len(chunks)])
            i += 1
    return written
