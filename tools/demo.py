"""The main job on the bundled sample data: every plugin over the sample corpus.

Generates the deterministic sample corpus (tools/corpus.py), compresses each
file with every compiled-in plugin at its default level, checks the round
trip, and prints ratio and speed per plugin.
"""

from __future__ import annotations

import time

import crush
from tools.corpus import generate


def main() -> None:
    """Print one line per plugin: ratio and MB/s over the sample corpus."""
    corpus = generate(8 << 20)
    total = sum(len(d) for d in corpus.values())
    print(f"sample corpus: {len(corpus)} files, {total / 1e6:.1f} MB "
          f"({', '.join(corpus)})")
    print(f"{'plugin':<8} {'ratio':>7} {'compress':>12} {'decompress':>12}")
    for plugin in crush.list_plugins():
        packed = 0
        t_c = t_d = 0.0
        for data in corpus.values():
            t0 = time.perf_counter()
            blob = crush.compress(data, plugin=plugin.name)
            t1 = time.perf_counter()
            if crush.decompress(blob) != data:
                raise SystemExit(f"{plugin.name}: round trip failed")
            t_d += time.perf_counter() - t1
            t_c += t1 - t0
            packed += len(blob)
        print(f"{plugin.name:<8} {packed / total:>7.3f} {total / 1e6 / t_c:>8.1f} MB/s "
              f"{total / 1e6 / t_d:>8.1f} MB/s")
    print("every plugin round-tripped every file")


if __name__ == "__main__":
    main()
