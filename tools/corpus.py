"""Write the sample corpus to disk (deterministic: seeded, same bytes everywhere).

Six kinds of data, about 16 MiB in all by default: English-like text,
JSON-lines logs, CSV, source-code-like text, structured binary records and
random bytes. Nothing is downloaded. ``python -m tools.corpus DIR`` writes
the files; :func:`generate` returns them in memory. The generator lives in
:mod:`crush.cli.corpus` (``crush bench`` measures on it without FILE), so
the calibration, the benchmarks and the CLI share one copy of it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crush.cli.corpus import KINDS
from crush.cli.corpus import generate

__all__ = ["KINDS", "generate", "main"]


def main() -> None:
    """Write the corpus into a directory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--size", type=int, default=16 << 20, help="total bytes")
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    for name, data in generate(args.size).items():
        (args.directory / name).write_bytes(data)
        print(f"{args.directory / name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
