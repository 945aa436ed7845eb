"""Write the fixtures numcodecs' ``check_backwards_compatibility`` reads for the crush codec.

Run from the repository root::

    .venv/bin/python tools/make_numcodecs_fixtures.py          # write what is missing
    .venv/bin/python tools/make_numcodecs_fixtures.py --force  # rewrite all of them

The files go to ``tests/numcodecs_fixtures/fixture/crush/`` in numcodecs'
own layout (``array.NN.npy``, ``codec.NN/config.json``,
``codec.NN/encoded.NN.dat``), written by numcodecs' own function.
tests/test_integrations_numcodecs.py only reads them (it fails when one is
missing rather than letting numcodecs write it): regenerate them only when
an intended format or codec change makes the old ones wrong, and say so in
the commit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from typing import Final

REPO: Final = Path(__file__).resolve().parent.parent
FIXTURE_ROOT: Final = REPO / "tests" / "numcodecs_fixtures"
"""numcodecs resolves ``fixture/<codec_id>`` relative to the working directory: this one."""


def arrays() -> list[Any]:
    """Return the arrays the fixtures hold: several dtypes, sizes and memory orders."""
    import numpy as np

    rng = np.random.default_rng(20261129)
    return [
        np.arange(1000, dtype="i4"),
        np.linspace(1000, 1001, 1000, dtype="f8"),
        rng.normal(loc=1000, scale=1, size=(100, 10)),
        rng.integers(0, 2, size=1000, dtype=bool).reshape(100, 10, order="F"),
        rng.integers(0, 200, size=1000, dtype="u1").reshape(100, 10),
        np.asfortranarray(rng.integers(-(1 << 60), 1 << 60, size=(40, 50), dtype="i8")),
        np.zeros(40_000, dtype="u2"),  # several blocks with the 16 KiB block size below
    ]


def codecs() -> list[Any]:
    """Return the codec configurations encoded in the fixtures (every compiled-in plugin)."""
    from crush.integrations.numcodecs import Crush

    return [
        Crush(),
        Crush(plugin="zstd", level=3),
        Crush(plugin="lz4", block_size=16 << 10),
        Crush(plugin="deflate", level="best"),
        Crush(plugin="brotli", level="fast"),
        Crush(plugin="lzma"),
        Crush(plugin="bz2", threads=2),
        Crush(plugin="store"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Write the missing fixtures (all of them with --force)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="delete and rewrite every fixture")
    args = parser.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from numcodecs.tests.common import check_backwards_compatibility

    from crush.integrations.numcodecs import CODEC_ID

    target = FIXTURE_ROOT / "fixture" / CODEC_ID
    if args.force and target.exists():
        shutil.rmtree(target)
    FIXTURE_ROOT.mkdir(parents=True, exist_ok=True)
    os.chdir(FIXTURE_ROOT)
    check_backwards_compatibility(CODEC_ID, arrays(), codecs())
    print(f"wrote {target.relative_to(REPO)}: {len(list(target.rglob('*')))} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
