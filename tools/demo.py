"""The main job: the sample corpus, ``crush bench`` on it, and a round trip chosen automatically.

Everything after the corpus goes through the ``crush`` command line, the
way a user would run it, and each command is printed before it runs:

1. ``tools/corpus.py``'s generator writes the deterministic sample corpus
   (text, JSON logs, CSV, code, binary records, random bytes) into
   ``demo-output/corpus/``.
2. ``crush bench`` measures every compiled-in plugin at its fast, balanced
   and best presets on it: the table is printed, the JSON saved to
   ``demo-output/bench.json`` and the ratio/speed picture to
   ``demo-output/bench.png`` (the README's picture is one of these).
3. One corpus file makes a round trip with automatic selection:
   ``crush plugins --explain`` shows what crush chooses and why,
   ``crush -k -v`` compresses it (naming the plugin and the reason),
   ``crush test`` checks it and ``crush -d -c`` must give the bytes back.

The corpus is 4 MiB so the whole job takes well under two minutes on two
cores: brotli's and lzma's best levels run at about 1-4 MB/s, so those
rows are measured once rather than three times (``crush bench`` does that
by itself for slow settings). ``python -m tools.demo --size N`` changes it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

from tools.corpus import generate

ROOT: Final = Path(__file__).resolve().parent.parent
OUT: Final = ROOT / "demo-output"
SIZE: Final = 4 << 20
ROUND_TRIP: Final = "logs.jsonl"


def _show(argv: list[str]) -> None:
    shown = ["crush", *argv[3:]] if argv[1:3] == ["-m", "crush"] else argv
    print(f"\n$ {' '.join(str(a) for a in shown)}", flush=True)


def crush(*args: str | Path, stdout: int | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m crush ARGS`` in the repository, stderr to the terminal; fail loudly."""
    argv = [sys.executable, "-m", "crush", *map(str, args)]
    _show(argv)
    proc = subprocess.run(argv, cwd=ROOT, stdout=stdout, check=False)
    if proc.returncode:
        raise SystemExit(f"demo: {' '.join(argv[3:])} failed with exit status {proc.returncode}")
    return proc


def _rel(path: Path) -> Path:
    return path.relative_to(ROOT)


def write_corpus(size: int) -> list[Path]:
    """Write the sample corpus into demo-output/corpus/ and return its files."""
    corpus = OUT / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    paths = []
    for name, data in generate(size).items():
        path = corpus / name
        path.write_bytes(data)
        paths.append(path)
    total = sum(p.stat().st_size for p in paths)
    print(f"sample corpus: {len(paths)} files, {total / 1e6:.1f} MB in {_rel(corpus)}/ "
          f"({', '.join(p.name for p in paths)})")
    return paths


def bench(paths: list[Path]) -> None:
    """Run ``crush bench`` on the corpus: table on the terminal, JSON and PNG to files."""
    plot, report = OUT / "bench.png", OUT / "bench.json"
    proc = crush("bench", "--json", "--plot", _rel(plot), *map(_rel, paths),
                 stdout=subprocess.PIPE)
    report.write_bytes(proc.stdout)
    print(f"(JSON saved to {_rel(report)})")


def round_trip(source: Path) -> None:
    """Compress *source* with automatic selection, say why, verify and decompress it."""
    work = OUT / "roundtrip"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    path = work / source.name
    shutil.copyfile(source, path)
    crush("plugins", "--explain", _rel(path))
    crush("plugins", "--explain", _rel(source.with_name("random.bin")))
    crush("-k", "-v", _rel(path))
    packed = path.with_name(path.name + ".crush")
    crush("test", _rel(packed))
    back = crush("-d", "-c", _rel(packed), stdout=subprocess.PIPE).stdout
    if back != source.read_bytes():
        raise SystemExit(f"demo: {_rel(packed)} did not decompress to {_rel(source)}")
    print(f"round trip OK: {_rel(packed)} decompresses to the same {len(back):,} bytes")


def main(argv: list[str] | None = None) -> None:
    """Run the main job."""
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=SIZE, help="corpus bytes (default 4 MiB)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = write_corpus(args.size)
    bench(paths)
    round_trip(OUT / "corpus" / ROUND_TRIP)
    print(f"\ndemo finished in {time.perf_counter() - started:.0f} s; outputs in "
          f"{_rel(OUT)}/")


if __name__ == "__main__":
    main()
