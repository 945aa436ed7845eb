"""Benchmark 2: how late ``CrushTimeoutError`` arrives after the deadline.

Each call gets ``timeout=0.2`` and a job that cannot finish in time:

* a plugin that ignores its token and sleeps (up to an hour; released
  after each call so its abandoned worker ends and the next call starts
  clean),
* a cooperative plugin that polls its token every 10 ms,
* a real codec stuck in C code: lzma at level 9 on 1 MiB blocks, on the
  pool (``threads=2``), inline (``threads=1``) and in worker processes
  (``isolation="process"``).

Lateness is the time from the deadline (call start + timeout) to the
exception reaching the caller. The test plugins go through
``crush.Registry`` with third-party ids (0xF0-0xF2). After each call the
benchmark waits until the workers crush set adrift have finished (the
number of live ``crush-worker`` threads is back where it was), so calls
never compete with leftovers for the CPU.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Final

import crush
from crush.contract import Buffer

from .common import MIB
from .common import Benchmark
from .common import Context
from .common import Row
from .common import busy_meter
from .common import busy_percent
from .common import corpus
from .common import median

TIMEOUT: Final = 0.2
GOAL_MS: Final = 50.0

_META: Final = crush.PluginMetadata(
    version="bench",
    description="benchmark plugin that cannot finish in time",
    throughput=1.0,
    ratio=0.5,
    min_level=0,
    max_level=9,
    default_level=6,
    fast=1,
    balanced=6,
    best=9,
)


def _deflate(data: Buffer, level: int) -> bytes:
    co = zlib.compressobj(level, zlib.DEFLATED, -15)
    return co.compress(data) + co.flush()


def _inflate(data: Buffer, size: int) -> bytes:
    return zlib.decompressobj(-15).decompress(data, max(size, 1))


class SleepsPlugin:
    """Ignores its token and sleeps in ``compress`` until released (at most an hour)."""

    def __init__(self) -> None:
        self.name = "bench-sleeps"
        self.plugin_id = 0xF0
        self.metadata = _META
        self.released = threading.Event()

    def compress(self, data: Buffer, level: int, cancel: crush.CancelToken) -> bytes:
        """Sleep until released, never looking at *cancel*; then deflate."""
        self.released.wait(3600)
        return _deflate(data, level)

    def release(self) -> None:
        """Wake every call sleeping now; later calls sleep again."""
        released, self.released = self.released, threading.Event()
        released.set()

    def decompress(self, data: Buffer, size: int, cancel: crush.CancelToken) -> bytes:
        """Inflate one raw DEFLATE block."""
        return _inflate(data, size)

    def detect(self, header: bytes) -> bool:
        """Never chosen by selection."""
        return False


class QuickPlugin:
    """Deflates at once; a third-party plugin, so crush always runs it on the pool."""

    def __init__(self) -> None:
        self.name = "bench-quick"
        self.plugin_id = 0xF2
        self.metadata = _META

    def compress(self, data: Buffer, level: int, cancel: crush.CancelToken) -> bytes:
        """Deflate *data*."""
        return _deflate(data, level)

    def decompress(self, data: Buffer, size: int, cancel: crush.CancelToken) -> bytes:
        """Inflate one raw DEFLATE block."""
        return _inflate(data, size)

    def detect(self, header: bytes) -> bool:
        """Never chosen by selection."""
        return False


class CooperativePlugin:
    """Takes a minute in ``compress`` but polls its token every 10 ms."""

    def __init__(self) -> None:
        self.name = "bench-cooperative"
        self.plugin_id = 0xF1
        self.metadata = _META

    def compress(self, data: Buffer, level: int, cancel: crush.CancelToken) -> bytes:
        """Wait up to 60 s in 10 ms steps, stopping when *cancel* fires."""
        end = time.monotonic() + 60
        while time.monotonic() < end:
            cancel.check()
            cancel.wait(0.01)
        return _deflate(data, level)

    def decompress(self, data: Buffer, size: int, cancel: crush.CancelToken) -> bytes:
        """Inflate one raw DEFLATE block."""
        return _inflate(data, size)

    def detect(self, header: bytes) -> bool:
        """Never chosen by selection."""
        return False


def _workers() -> int:
    """Return how many crush pool threads are alive (adrift ones included)."""
    return sum(1 for t in threading.enumerate() if t.name.startswith("crush-worker"))


def _settle(baseline: int, limit: float) -> bool:
    """Wait until adrift workers have returned and exited; False if *limit* s pass first.

    The pool replaces a worker it gives up on at once, so the live count
    is back at *baseline* exactly when every adrift worker has finished.
    """
    end = time.monotonic() + limit
    while _workers() > baseline and time.monotonic() < end:
        time.sleep(0.01)
    return _workers() <= baseline


def _stuck_reported(plugin: str) -> int:
    return sum(d.abandoned for d in crush.diagnostics() if d.plugin == plugin)


def _scenario(
    label: str,
    plugin: str,
    *,
    calls: int,
    call: Callable[[], object],
    release: Callable[[], None],
    settle_limit: float,
    setup: str,
) -> Row:
    late: list[float] = []
    raised: Counter[str] = Counter()
    problems: set[str] = set()
    reported_before = _stuck_reported(plugin)
    with busy_meter() as busy:
        adrift, unsettled = _calls(calls, call, release=release, settle_limit=settle_limit,
                                   late=late, raised=raised, problems=problems)
    reported = _stuck_reported(plugin) - reported_before
    worst = max(late) if late else None
    if unsettled:
        problems.add(f"{unsettled} call(s) left workers running past {settle_limit:g} s")
    return {
        "scenario": label,
        "plugin": plugin,
        "setup": setup,
        "calls": calls,
        "raised": ", ".join(f"{name} x{n}" for name, n in raised.most_common()),
        "timeout s": TIMEOUT,
        "late median ms": median(late) if late else None,
        "late max ms": worst,
        "workers adrift": adrift,
        "reported stuck": reported,
        "goal": f"CrushTimeoutError, max ≤ {GOAL_MS:g} ms",
        "met": worst is not None and worst <= GOAL_MS and not problems,
        "problems": "; ".join(sorted(problems)) or None,
        "others %": busy_percent(busy),
    }


def _calls(
    calls: int,
    call: Callable[[], object],
    *,
    release: Callable[[], None],
    settle_limit: float,
    late: list[float],
    raised: Counter[str],
    problems: set[str],
) -> tuple[int, int]:
    adrift = 0
    unsettled = 0
    for _ in range(calls):
        baseline = _workers()
        start = time.monotonic()
        try:
            call()
        except Exception as exc:
            late.append((time.monotonic() - start - TIMEOUT) * 1000)
            raised[type(exc).__name__] += 1
            if not isinstance(exc, crush.CrushTimeoutError):
                problems.add(f"{type(exc).__name__}: {exc}")
        else:
            raised["nothing"] += 1
            problems.add("returned without a timeout")
        adrift += max(0, _workers() - baseline)
        release()
        unsettled += not _settle(baseline, settle_limit)
    return adrift, unsettled


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run(ctx: Context) -> list[Row]:
    """Raise timeouts on purpose and measure how late each one reaches the caller.

    crush's warnings about abandoned workers are expected here; they are
    counted in a note instead of being printed.
    """
    log = logging.getLogger("crush")
    collect = _Collect()
    log.addHandler(collect)
    propagate, log.propagate = log.propagate, False
    try:
        return _run(ctx)
    finally:
        log.removeHandler(collect)
        log.propagate = propagate
        if collect.messages:
            ctx.note(f"crush logged {len(collect.messages)} warning(s) (expected: once per "
                     f"plugin whose worker was abandoned), e.g. {collect.messages[0]!r}")


def _run(ctx: Context) -> list[Row]:
    sleeps = SleepsPlugin()
    coop = CooperativePlugin()
    quick = QuickPlugin()
    registry = crush.Registry([sleeps, coop, quick], default=quick.name)
    small = corpus(1024)
    rows: list[Row] = []

    def nothing() -> None:
        pass

    # Grow the shared pool to two workers first, so the live-thread count
    # only moves when workers are set adrift and replaced.
    crush.compress(small, plugin=quick.name, registry=registry, threads=2, block_size=256)

    calls = ctx.pick(10, 20)
    try:
        rows.append(_scenario(
            "ignores token, sleeps", sleeps.name, calls=calls,
            call=lambda: crush.compress(small, plugin=sleeps.name, registry=registry,
                                        timeout=TIMEOUT, threads=1),
            release=sleeps.release, settle_limit=5.0, setup="1 KiB, threads=1",
        ))
    finally:
        sleeps.release()
    rows.append(_scenario(
        "cooperative, polls every 10 ms", coop.name, calls=calls,
        call=lambda: crush.compress(small, plugin=coop.name, registry=registry,
                                    timeout=TIMEOUT, threads=1),
        release=nothing, settle_limit=5.0, setup="1 KiB, threads=1",
    ))

    if "lzma" in {p.name for p in crush.list_plugins()}:
        big = corpus(2 * MIB)
        few = ctx.pick(3, 5)
        lzma = crush.get_plugin("lzma")
        start = time.perf_counter()
        lzma.compress(big[:MIB], 9, crush.CancelToken())
        block = time.perf_counter() - start
        ctx.note(f"lzma -9 takes {block:.2f} s per 1 MiB block here, so every lzma call is "
                 "still inside the codec at the deadline.")

        for label, threads, isolation in (
            ("lzma -9 in C, pool", 2, "thread"),
            ("lzma -9 in C, inline", 1, "thread"),
            ("lzma -9 in C, process", 2, "process"),
        ):
            def call(threads: int = threads, isolation: str = isolation) -> object:
                return crush.compress(big, plugin="lzma", level=9, timeout=TIMEOUT,
                                      threads=threads,
                                      isolation="process" if isolation == "process" else None)

            # Adrift workers finish their lzma block in C; each call waits for
            # them so they do not steal CPU from the next call or benchmark.
            rows.append(_scenario(label, "lzma", calls=few, call=call, release=nothing,
                                  settle_limit=30.0,
                                  setup=f"2 MiB, threads={threads}, isolation={isolation}"))
    else:
        ctx.note("lzma is not compiled in: the real-codec scenarios were skipped")
    ctx.note(
        f"late = time the call raised - (call start + {TIMEOUT:g} s), whatever it raised; the "
        "goal needs CrushTimeoutError from every call and is judged on the worst one. workers "
        "adrift: pool threads still inside a job when the call raised (replaced at once); "
        "reported stuck: how many of them crush.diagnostics() counted. After each call the "
        "benchmark waits until the adrift workers have finished, so calls do not compete "
        "for the CPU."
    )
    return rows


BENCHMARK = Benchmark(
    name="timeout",
    title="Timeout precision: lateness of CrushTimeoutError after the deadline",
    goal=f"raised within {GOAL_MS:g} ms of the deadline (every call)",
    run=run,
)
