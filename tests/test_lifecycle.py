"""File objects in every lifecycle, proven on real interpreters that must exit.

A reader or writer that is closed early, dropped, never closed or left by
an exception must let the interpreter exit at once: closing never starts a
thread and never waits on a deadline. Each child process prints a marker
with its clock when its work is done; the limit applies from there to its
exit (CLOCK_MONOTONIC is system-wide), so a loaded machine slows the work,
which has a generous timeout, but not the verdict on the exit.
"""

from __future__ import annotations

import gc
import io
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from typing import Any

import pytest

import crush

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXIT_LIMIT = 2.0  # seconds from the end of the work to the end of the process
WORK_TIMEOUT = 120.0
MARKER = "LIFECYCLE-WORK-DONE"
BLOCK = 16 << 10

# The content every child and the parent agree on: text lines, so "rt"
# and line iteration are exercised too.
CONTENT = textwrap.dedent("""
    def content(blocks):
        line = b"line %08d of a log that a reader may stop reading anywhere\\n"
        n = blocks * BLOCK // len(line % 0) + 1
        return b"".join(line % i for i in range(n))[: blocks * BLOCK - 7]
""")
namespace: dict[str, object] = {"BLOCK": BLOCK}
exec(CONTENT, namespace)
content = namespace["content"]
MANY = 24  # blocks in the "many blocks" file, more than any threads= below

READ_SCENARIOS = textwrap.dedent("""
    size = len(want)
    text = "t" in MODE
    expect = want.decode() if text else want

    with crush.open(PATH, MODE, threads=THREADS) as f:        # partial read
        assert f.read(100) == expect[:100]

    with crush.open(PATH, MODE, threads=THREADS) as f:        # seeks
        if text:
            f.seek(0)
            assert f.readline() == expect.split("\\n")[0] + "\\n"
        else:
            f.seek(size // 2)
            assert f.read(10) == expect[size // 2 : size // 2 + 10]
            f.seek(5)
            assert f.read(10) == expect[5:15]
            f.seek(-3, 2)
            assert f.read() == expect[-3:]
            f.seek(BLOCK + 1)
            assert f.read(4) == expect[BLOCK + 1 : BLOCK + 5]

    for line in crush.open(PATH, MODE, threads=THREADS):      # break, temporary file
        assert line == expect[: len(line)]
        break
    with crush.open(PATH, MODE, threads=THREADS) as f:        # break inside with
        lines = 0
        for line in f:
            lines += 1
            if lines == 3:
                break

    assert b"".join(crush.open(PATH, "rb", threads=THREADS)) == want   # whole iteration

    f = crush.open(PATH, MODE, threads=THREADS)               # del f
    f.read(100)
    del f

    try:                                                     # exception inside with
        with crush.open(PATH, MODE, threads=THREADS) as f:
            f.read(100)
            raise KeyError("boom")
    except KeyError:
        pass

    def in_function():                                       # local dropped on return
        g = crush.open(PATH, MODE, threads=THREADS)
        return g.read(10)
    assert in_function() == expect[:10]

    kept = crush.open(PATH, MODE, threads=THREADS)            # never closed
    kept.read(100)
    kept_iter = iter(crush.open(PATH, MODE, threads=THREADS))  # mid-iteration at exit
    next(kept_iter)
""")

WRITE_SCENARIOS = textwrap.dedent("""
    def writer(name, mode=MODE):
        return crush.open(OUT + name, mode, threads=THREADS, block_size=BLOCK)

    try:                                                     # exception inside with
        with writer("exception") as f:
            f.write(want)
            raise KeyError("boom")
    except KeyError:
        pass

    f = writer("del")                                        # del f, never closed
    f.write(want)
    del f

    def in_function():                                       # local dropped on return
        g = writer("function")
        g.write(want)
    in_function()

    kept = writer("unclosed")                                # open at interpreter exit
    kept.write(want)
    kept_text = writer("unclosed-text", MODE[0] + "t")        # text wrapper too
    kept_text.write(want.decode())
""")

CHILD = """
import sys, time
import crush
BLOCK = {block}
{content}
PATH, OUT, MODE, THREADS, BLOCKS = {path!r}, {out!r}, {mode!r}, {threads}, {blocks}
want = content(BLOCKS)
{scenarios}
print("{marker}", time.monotonic(), flush=True)
"""

WRITE_OUTPUTS = ("exception", "del", "function", "unclosed", "unclosed-text")


def run_to_exit(script: str, cwd: pathlib.Path) -> tuple[str, float]:
    """Run *script* in a fresh interpreter; return its stderr and seconds from marker to exit."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    watchdog = threading.Timer(WORK_TIMEOUT, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None and proc.stderr is not None
        done_at = None
        for line in proc.stdout:
            if line.startswith(MARKER):
                done_at = float(line.split()[1])
                break
        if done_at is None:
            proc.wait()
            pytest.fail(f"the child failed before the end of its work:\n{proc.stderr.read()}")
        # Wait long enough to tell a slow exit from a hang, then judge.
        try:
            proc.wait(timeout=EXIT_LIMIT + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"the interpreter did not exit after its work: {proc.stderr.read()}")
        exited = time.monotonic()
        err = proc.stderr.read()
    finally:
        watchdog.cancel()
    assert proc.returncode == 0, err
    return err, exited - done_at


def child(path: pathlib.Path, out: str, mode: str, threads: int, blocks: int) -> str:
    scenarios = READ_SCENARIOS if mode[0] == "r" else WRITE_SCENARIOS
    return CHILD.format(block=BLOCK, content=CONTENT, path=str(path), out=out, mode=mode,
                        threads=threads, blocks=blocks, scenarios=scenarios, marker=MARKER)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, pathlib.Path]:
    """One file of a single block and one of many, as crush writes them."""
    top = tmp_path_factory.mktemp("lifecycle")
    made = {}
    for blocks in (1, MANY):
        made[blocks] = top / f"{blocks}.crush"
        with crush.open(made[blocks], "wb", block_size=BLOCK) as f:
            f.write(content(blocks))  # type: ignore[operator]
    return made


@pytest.mark.parametrize("blocks", [1, MANY], ids=["1-block", "many-blocks"])
@pytest.mark.parametrize("threads", [1, 2, 8])
@pytest.mark.parametrize("mode", ["rb", "rt", "wb", "ab"])
def test_the_interpreter_exits_promptly_after_any_use(
    files: dict[int, pathlib.Path], tmp_path: pathlib.Path, mode: str, threads: int, blocks: int,
) -> None:
    base = content(blocks)  # type: ignore[operator]
    out = str(tmp_path / "out-")
    if mode == "ab":
        for name in WRITE_OUTPUTS:
            shutil.copyfile(files[blocks], out + name)
    err, seconds = run_to_exit(child(files[blocks], out, mode, threads, blocks), tmp_path)
    assert "Exception ignored" not in err and "Traceback" not in err, err
    assert seconds < EXIT_LIMIT, f"the interpreter took {seconds:.2f} s to exit after its work"
    if mode[0] == "r":
        return
    # Every writer, closed or not, was finished: end marker written, whole content.
    expected = base * (2 if mode == "ab" else 1)
    for name in WRITE_OUTPUTS:
        with crush.open(out + name) as f:
            assert f.read() == expected, name


def test_the_readme_file_example_exits(tmp_path: pathlib.Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Files and streams"):]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    example = block.group(1).split("\n\n")[0]  # the file part; streams need src/dst
    assert "crush.open" in example and "f.read(100)" in example
    # More than one default block (1 MiB), so the reader has read-ahead in flight.
    script = (f"import time, crush\npayload = bytes(range(256)) * {12 << 12}\n{example}\n"
              f"print({MARKER!r}, time.monotonic(), flush=True)\n")
    err, seconds = run_to_exit(script, tmp_path)
    assert seconds < EXIT_LIMIT, f"the interpreter took {seconds:.2f} s to exit: {err}"
    with crush.open(tmp_path / "data.crush") as f:
        assert f.read() == bytes(range(256)) * (12 << 12)


@pytest.fixture
def no_cyclic_gc() -> object:
    """Disable the cyclic GC so that only reference counting can free objects."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def crush_garbage() -> list[str]:
    """Return what the cyclic GC finds that crush made: its objects, functions, generators.

    Only crush's share counts: threads of earlier tests (a Dask cluster
    shutting down, released hung plugins) may leave garbage of their own
    at any moment.
    """
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return [repr(o)[:80] for o in gc.garbage if _made_by_crush(o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _made_by_crush(obj: object) -> bool:
    if (getattr(type(obj), "__module__", None) or "").startswith("crush"):
        return True
    code = (getattr(obj, "gi_code", None) or getattr(obj, "f_code", None)
            or getattr(obj, "__code__", None))
    return code is not None and f"{os.sep}crush{os.sep}" in code.co_filename


@pytest.mark.usefixtures("no_cyclic_gc")
@pytest.mark.parametrize("threads", [1, 2, 8])
def test_readers_hold_no_reference_cycle(files: dict[int, pathlib.Path], threads: int) -> None:
    for mode in ("rb", "rt"):
        f = crush.open(files[MANY], mode, threads=threads)
        f.read(100)  # read-ahead in flight
        binary: Any = f.buffer if isinstance(f, io.TextIOWrapper) else f
        dead = [weakref.ref(obj) for obj in (f, binary, binary._raw, binary._raw._decoder)]
        del f, binary
        assert [ref() for ref in dead] == [None] * len(dead), f"{mode}: freed by refcount alone"
        assert not crush_garbage(), f"{mode}: the reader left cyclic garbage"


@pytest.mark.usefixtures("no_cyclic_gc")
@pytest.mark.parametrize("threads", [1, 2, 8])
def test_writers_hold_no_reference_cycle(tmp_path: pathlib.Path, threads: int) -> None:
    data = content(MANY)  # type: ignore[operator]
    for mode in ("wb", "wt"):
        path = tmp_path / f"{mode}.crush"
        f = crush.open(path, mode, threads=threads, block_size=BLOCK)
        f.write(data if mode == "wb" else data.decode())
        binary: Any = f.buffer if isinstance(f, io.TextIOWrapper) else f
        dead = [weakref.ref(obj) for obj in (f, binary, binary._compressor)]
        del f, binary
        assert [ref() for ref in dead] == [None] * len(dead), f"{mode}: freed by refcount alone"
        assert not crush_garbage(), f"{mode}: the writer left cyclic garbage"
        # (Checked before decompress(), whose in-place output type is a
        # class per call: cyclic, but not part of any reader or writer.)
        assert crush.decompress(path.read_bytes()) == data, "finalising wrote the end marker"
        gc.collect()


@pytest.mark.parametrize("how", ["close", "del", "seek"])
def test_dropping_read_ahead_starts_no_thread(files: dict[int, pathlib.Path], how: str) -> None:
    # Read-ahead jobs in flight are simply cancelled: no Timer, no replacement
    # worker (a thread started in a finaliser at interpreter exit never runs).
    f = crush.open(files[MANY], threads=8)
    f.read(100)
    f.read(1)  # the pool has started by now; the jobs ahead are pending
    before = set(threading.enumerate())
    if how == "close":
        f.close()
    elif how == "del":
        del f
    else:
        f.seek(MANY * BLOCK - 10)  # a jump restarts the decoder further on
        f.seek(5)
    assert not set(threading.enumerate()) - before
