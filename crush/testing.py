"""The conformance suite every crush plugin passes, built in or third-party.

Run it from a plugin's own tests, either as plain functions::

    from crush.testing import check_plugin
    def test_conformance():
        check_plugin(MyPlugin())

or by subclassing the pytest base class, which turns each check into its
own test (pytest collects the subclass because its name starts with Test)::

    from crush.testing import PluginConformance
    class TestMyPlugin(PluginConformance):
        plugin = MyPlugin()
        polls_cancel = True      # compress/decompress call cancel.check()
        deterministic = True     # same (data, level) -> same bytes

Every check raises ``AssertionError`` whose message names the plugin, the
input, the level and what the contract expected, so a failure can be read
without opening this file. The checks:

* :func:`check_metadata` — the contract's attributes, finite positive
  figures, ``fast <= balanced <= best`` inside ``min_level..max_level``.
* :func:`check_round_trips` — every level and preset on empty, 1-byte,
  block-sized, incompressible and highly repetitive inputs, and every
  buffer type crush passes (``bytes``, ``bytearray``, ``memoryview``).
* :func:`check_wrong_size` — ``decompress`` with a declared size one
  byte off either way raises instead of returning.
* :func:`check_output_bounded` — a block that decodes to 8 MiB, declared
  as 1 KiB, raises without allocating anything like 8 MiB.
* :func:`check_detect` — ``detect`` answers a bool for typical and empty
  headers; a general-purpose plugin accepts typical data.
* :func:`check_thread_safety` — concurrent calls from several threads
  give the same results as calls from one.
* :func:`check_cancellation` — for plugins that poll the token: a
  cancelled call raises :class:`crush.CancelledError` within
  :data:`CANCEL_WITHIN` seconds.
* :func:`check_determinism` — for plugins that declare it: the same input
  and level give the same bytes.

``import crush`` does not import this module; import it explicitly.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar
from typing import Final

from .contract import PRESETS
from .contract import Buffer
from .contract import CancelToken
from .contract import Plugin
from .contract import PluginMetadata
from .errors import CancelledError
from .options import DEFAULT_BLOCK_SIZE
from .registry import contract_problems

__all__ = [
    "CANCEL_WITHIN",
    "CHECK_INTERVAL",
    "PluginConformance",
    "check_cancellation",
    "check_detect",
    "check_determinism",
    "check_metadata",
    "check_output_bounded",
    "check_plugin",
    "check_round_trips",
    "check_thread_safety",
    "check_wrong_size",
    "inputs",
]

CANCEL_WITHIN: Final = 1.0
"""Seconds a token-polling plugin may take to raise CancelledError after ``cancel()``."""

CHECK_INTERVAL: Final = 0.01
"""The recommended longest stretch of work (seconds) between two ``cancel.check()`` calls."""

BOMB_SIZE: Final = 8 << 20
"""Bytes the output-bound check's block really decodes to."""

BOMB_DECLARED: Final = 1024
"""The size the output-bound check declares for that block."""

_SLACK: Final = 1 << 20
"""Allocation allowed on top of input + declared output for hostile input (codec state)."""


def _fail(plugin: Plugin, message: str) -> AssertionError:
    name = getattr(plugin, "name", type(plugin).__name__)
    return AssertionError(f"plugin {name!r}: {message}")


def _text(size: int) -> bytes:
    """Return *size* bytes of text-like data: words and numbers, compressible but not trivially."""
    rnd = random.Random(f"crush-testing-text-{size}")
    words = [bytes(rnd.choices(range(97, 123), k=rnd.randint(2, 9))) for _ in range(600)]
    out = bytearray()
    while len(out) < size:
        out += b" ".join(rnd.choices(words, k=12)) + b" %d\n" % rnd.randint(0, 99999)
    return bytes(out[:size])


@functools.lru_cache(maxsize=8)
def inputs(block_size: int = DEFAULT_BLOCK_SIZE) -> dict[str, bytes]:
    """Return the named inputs the round-trip checks use, for blocks of *block_size* bytes.

    ``empty``, ``one byte``, ``block-sized`` (text-like, exactly one block),
    ``incompressible`` (random, one block) and ``repetitive`` (one short
    pattern repeated to one block). Deterministic; cached.
    """
    return {
        "empty": b"",
        "one byte": b"x",
        "block-sized": _text(block_size),
        "incompressible": random.Random("crush-testing-random").randbytes(block_size),
        "repetitive": (b"abcabcabd" * (block_size // 9 + 1))[:block_size],
    }


def _levels(meta: PluginMetadata) -> list[tuple[str, int]]:
    named = [(f"preset {p!r} (level {meta.preset(p)})", meta.preset(p)) for p in PRESETS]
    native = [(f"level {n}", n) for n in range(meta.min_level, meta.max_level + 1)]
    return named + native


def _compress(plugin: Plugin, data: Buffer, level: int, what: str) -> Buffer:
    try:
        out = plugin.compress(data, level, CancelToken())
    except Exception as exc:
        raise _fail(plugin, f"compress({what}) raised {type(exc).__name__}: {exc}") from exc
    if out is not data and not isinstance(out, bytes):
        raise _fail(plugin, f"compress({what}) returned {type(out).__name__}; return bytes, "
                            "or the input object itself to have the block stored raw")
    return out


def _round_trip(plugin: Plugin, data: Buffer, level: int, what: str) -> Buffer:
    """Compress and decompress *data*; return the compressed form."""
    packed = _compress(plugin, data, level, what)
    if packed is data:
        return packed  # stored raw: crush never calls decompress for it
    size = len(memoryview(data).cast("B"))
    try:
        out = plugin.decompress(packed, size, CancelToken())
    except Exception as exc:
        raise _fail(plugin, f"decompress(compress({what}), {size}) raised "
                            f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(out, bytes):
        raise _fail(plugin, f"decompress({what}) returned {type(out).__name__}, not bytes")
    if out != bytes(data):
        raise _fail(plugin, f"round trip of {what} gave {len(out)} different bytes "
                            f"(expected {size} bytes back)")
    return packed


def check_metadata(plugin: Plugin) -> None:
    """Check the contract's attributes and that the metadata is sane and consistent."""
    if not isinstance(plugin, Plugin):
        raise _fail(plugin, "does not have every attribute and method of crush.Plugin "
                            "(name, plugin_id, metadata, compress, decompress, detect)")
    problems = contract_problems(plugin)
    if problems:
        raise _fail(plugin, "violates the contract: " + "; ".join(problems))
    m = plugin.metadata
    for label, text in (("version", m.version), ("description", m.description)):
        if not isinstance(text, str) or not text.strip():
            raise _fail(plugin, f"metadata.{label} must be a non-empty str, got {text!r}")
    if not (math.isfinite(m.ratio) and m.ratio > 0):
        raise _fail(plugin, f"metadata.ratio must be finite and > 0, got {m.ratio}")
    if not m.fast <= m.balanced <= m.best:
        raise _fail(plugin, f"presets must go from fastest to best compression: fast={m.fast} "
                            f"<= balanced={m.balanced} <= best={m.best}")
    if not all(isinstance(f, str) and f for f in m.formats):
        raise _fail(plugin, f"metadata.formats must be non-empty strs, got {m.formats!r}")


def check_round_trips(plugin: Plugin, *, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
    """Round-trip every input of :func:`inputs` at every level and preset, and every buffer type.

    Returning the input object itself from ``compress`` (stored raw) is
    accepted; anything else must be ``bytes`` that ``decompress`` turns back
    into exactly the input.
    """
    for label, data in inputs(block_size).items():
        for level_label, level in _levels(plugin.metadata):
            _round_trip(plugin, data, level, f"{label} input, {len(data)} bytes, {level_label}")
    data = inputs(block_size)["block-sized"][:65536]
    level = plugin.metadata.default_level
    for kind, buffer in (("bytearray", bytearray(data)), ("memoryview", memoryview(data)),
                         ("memoryview slice", memoryview(b"pad" + data)[3:])):
        _round_trip(plugin, buffer, level, f"{kind} of {len(data)} bytes, default level")


def check_wrong_size(plugin: Plugin, *, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
    """Check that ``decompress`` raises when the declared size is one byte off."""
    data = inputs(block_size)["block-sized"][:65536]
    packed = _compress(plugin, data, plugin.metadata.default_level, "64 KiB of text")
    for size in (len(data) - 1, len(data) + 1):
        try:
            out = plugin.decompress(packed, size, CancelToken())
        except CancelledError:
            raise _fail(plugin, "decompress raised CancelledError with a live token") from None
        except Exception:
            continue
        raise _fail(plugin, f"decompress(block of {len(data)} bytes, size={size}) returned "
                            f"{len(out)} bytes instead of raising; it must return exactly "
                            "size bytes or raise")


def check_output_bounded(plugin: Plugin) -> None:
    """Check that a block declared far smaller than it decodes raises with bounded memory.

    The block decodes to :data:`BOMB_SIZE` bytes and is declared as
    :data:`BOMB_DECLARED`; ``decompress`` must raise, and the Python-level
    allocations it makes (``tracemalloc``) must stay below the compressed
    input plus twice the declared size plus 1 MiB for codec state.
    """
    bomb = bytes(BOMB_SIZE)
    packed = _compress(plugin, bomb, plugin.metadata.default_level, "8 MiB of zeros")
    limit = 2 * len(packed) + 2 * BOMB_DECLARED + _SLACK
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    returned: bytes | None = None
    try:
        returned = plugin.decompress(packed, BOMB_DECLARED, CancelToken())
    except Exception:  # any error is the right answer; the engine wraps it
        returned = None
    finally:
        peak = tracemalloc.get_traced_memory()[1] - base
        if started:
            tracemalloc.stop()
    if returned is not None:
        raise _fail(plugin, f"decompress(block of {BOMB_SIZE} bytes, size={BOMB_DECLARED}) "
                            f"returned {len(returned)} bytes instead of raising")
    if peak > limit:
        raise _fail(plugin, f"decompress of a block declared as {BOMB_DECLARED} bytes allocated "
                            f"{peak:,} bytes (limit {limit:,}); ask the codec for at most size "
                            "bytes of output (e.g. max_length=size) instead of decoding it all")


def check_detect(plugin: Plugin, *, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
    """Check ``detect`` on typical, empty, random and repetitive headers (first 4 KiB)."""
    headers = {label: data[:4096] for label, data in inputs(block_size).items()}
    for label, header in headers.items():
        try:
            answer = plugin.detect(header)
        except Exception as exc:
            raise _fail(plugin, f"detect({label} header of {len(header)} bytes) raised "
                                f"{type(exc).__name__}: {exc}; detect must answer, not raise"
                        ) from exc
        if not isinstance(answer, bool):
            raise _fail(plugin, f"detect({label} header) returned {answer!r}, not a bool")
    if not plugin.metadata.formats and not plugin.detect(headers["block-sized"]):
        raise _fail(plugin, "a general-purpose plugin (metadata.formats is empty) must accept "
                            "typical text in detect(); name the formats it targets otherwise")


def _concurrently(jobs: list[Callable[[], bytes]], threads: int) -> list[bytes]:
    barrier = threading.Barrier(min(threads, len(jobs)))

    def run(job: Callable[[], bytes]) -> bytes:
        # Fewer jobs than threads left at the end: start anyway.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)
        return job()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, jobs))


def _packs(plugin: Plugin, data: bytes, level: int, token: CancelToken) -> bytes:
    return bytes(plugin.compress(data, level, token))


def _unpacks(plugin: Plugin, packed: bytes, data: bytes, token: CancelToken) -> bytes:
    # A block stored raw (compress returned its input) is never decompressed.
    return data if packed == data else plugin.decompress(packed, len(data), token)


def check_thread_safety(plugin: Plugin, *, threads: int = 8, rounds: int = 4) -> None:
    """Check that concurrent compress and decompress calls give one thread's results.

    *threads* threads start together (a barrier) on different inputs and
    levels, *rounds* times each.
    """
    text = inputs()["block-sized"]
    m = plugin.metadata
    levels = [m.fast, m.balanced, m.default_level]
    cases = [(text[i * 8192 : i * 8192 + 65536], levels[i % len(levels)])
             for i in range(threads * rounds)]
    token = CancelToken()
    expected = [bytes(_round_trip(plugin, data, level, f"thread-safety input {i}"))
                for i, (data, level) in enumerate(cases)]
    packed = _concurrently([functools.partial(_packs, plugin, d, lv, token) for d, lv in cases],
                           threads)
    unpacked = _concurrently([functools.partial(_unpacks, plugin, p, d, token)
                              for p, (d, _) in zip(expected, cases, strict=True)], threads)
    for i, ((data, level), out) in enumerate(zip(cases, unpacked, strict=True)):
        if out != data:
            raise _fail(plugin, f"decompress of input {i} gave wrong bytes when {threads} "
                                "threads called it at once; do not share codec contexts")
        if packed[i] != data:
            again = plugin.decompress(packed[i], len(data), CancelToken())
            if again != data:
                raise _fail(plugin, f"compress of input {i} at level {level} made a block that "
                                    f"does not decode when {threads} threads called it at once")


def _cancel_mid_call(plugin: Plugin, call: Callable[[CancelToken], object],
                     what: str, within: float) -> None:
    token = CancelToken()
    outcome: list[BaseException | None] = []
    ended = threading.Event()

    def work() -> None:
        try:
            call(token)
            outcome.append(None)
        except BaseException as exc:  # handed to the checking thread
            outcome.append(exc)
        ended.set()

    worker = threading.Thread(target=work, daemon=True, name="crush-testing-cancel")
    worker.start()
    time.sleep(CHECK_INTERVAL)
    cancelled_at = time.monotonic()
    token.cancel()
    # Wait generously, then judge by the time the call took to end, measured
    # after it ended: a loaded machine delays the waiter, not the verdict.
    ended.wait(within * 30)
    took = time.monotonic() - cancelled_at
    if not ended.is_set():
        raise _fail(plugin, f"{what} did not end within {within * 30:g} s of cancel(); a plugin "
                            "that declares it polls the token must call cancel.check()")
    error = outcome[0]
    if error is None:
        return  # the call finished before it noticed: nothing to cancel
    if not isinstance(error, CancelledError):
        raise _fail(plugin, f"{what} raised {type(error).__name__}: {error} after cancel(); "
                            "raise crush.CancelledError (cancel.check() does)")
    if took > within:
        raise _fail(plugin, f"{what} took {took:.3f} s after cancel() to stop (limit "
                            f"{within:g} s); call cancel.check() at least every "
                            f"{CHECK_INTERVAL * 1000:g} ms of work")


def check_cancellation(plugin: Plugin, *, within: float = CANCEL_WITHIN,
                       block_size: int = DEFAULT_BLOCK_SIZE) -> None:
    """Check that a plugin which polls its token stops with CancelledError when cancelled.

    A token cancelled before the call must make ``compress`` and
    ``decompress`` of a block-sized input raise :class:`crush.CancelledError`;
    a token cancelled during ``compress`` at the best level must stop it
    within *within* seconds (a call that finishes first is fine). Only for
    plugins that declare they poll: crush abandons the others' threads.
    """
    data = inputs(block_size)["block-sized"]
    m = plugin.metadata
    packed = _compress(plugin, data, m.default_level, "block-sized text")
    dead = CancelToken()
    dead.cancel()
    calls: list[tuple[str, Callable[[], object]]] = [
        ("compress", lambda: plugin.compress(data, m.best, dead)),
        ("decompress", lambda: plugin.decompress(packed, len(data), dead)),
    ]
    for what, call in calls:
        if packed is data and what == "decompress":
            continue  # stored raw: crush never calls decompress
        try:
            call()
        except CancelledError:
            continue
        except Exception as exc:
            raise _fail(plugin, f"{what} with a cancelled token raised {type(exc).__name__}: "
                                f"{exc}; raise crush.CancelledError (cancel.check() does)"
                        ) from exc
        raise _fail(plugin, f"{what} of {len(data)} bytes with an already-cancelled token "
                            "returned; a plugin that declares polls_cancel must call "
                            "cancel.check()")
    _cancel_mid_call(plugin, lambda token: plugin.compress(data, m.best, token),
                     f"compress of {len(data)} bytes at level {m.best}", within)


def check_determinism(plugin: Plugin, *, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
    """Check that compressing the same input at the same level twice gives the same bytes."""
    data = inputs(block_size)["block-sized"][:65536]
    for label, level in _levels(plugin.metadata):
        first = bytes(_compress(plugin, data, level, f"64 KiB of text, {label}"))
        second = bytes(_compress(plugin, bytearray(data), level, f"64 KiB of text, {label}"))
        if first != second:
            raise _fail(plugin, f"compress at {label} gave different bytes for the same input; "
                                "declare deterministic = False if that is intended")


def check_plugin(plugin: Plugin, *, polls_cancel: bool = False, deterministic: bool = True,
                 block_size: int = DEFAULT_BLOCK_SIZE) -> None:
    """Run every check that applies to *plugin*; the first failure raises AssertionError.

    *polls_cancel*: the plugin calls ``cancel.check()`` during long work
    (then :func:`check_cancellation` runs). *deterministic*: the same input
    and level always give the same bytes (then :func:`check_determinism`
    runs). *block_size*: the block size the round trips use.
    """
    check_metadata(plugin)
    check_round_trips(plugin, block_size=block_size)
    check_wrong_size(plugin, block_size=block_size)
    check_output_bounded(plugin)
    check_detect(plugin, block_size=block_size)
    check_thread_safety(plugin)
    if polls_cancel:
        check_cancellation(plugin, block_size=block_size)
    if deterministic:
        check_determinism(plugin, block_size=block_size)


class PluginConformance:
    """pytest base class: subclass it as ``TestMyPlugin`` and set ``plugin``.

    Each check becomes one test. Class attributes: ``plugin`` (the instance
    under test), ``polls_cancel`` (default False), ``deterministic``
    (default True), ``block_size`` (default 1 MiB, crush's default block).
    The class holds no state beyond them; pytest makes a new instance per test.
    """

    plugin: ClassVar[Plugin]
    polls_cancel: ClassVar[bool] = False
    deterministic: ClassVar[bool] = True
    block_size: ClassVar[int] = DEFAULT_BLOCK_SIZE

    def test_metadata(self) -> None:
        """Metadata is sane and consistent."""
        check_metadata(self.plugin)

    def test_round_trips(self) -> None:
        """Every level and preset round-trips every input."""
        check_round_trips(self.plugin, block_size=self.block_size)

    def test_wrong_size_raises(self) -> None:
        """A declared size one byte off raises."""
        check_wrong_size(self.plugin, block_size=self.block_size)

    def test_output_bounded(self) -> None:
        """A block far larger than declared raises with bounded memory."""
        check_output_bounded(self.plugin)

    def test_detect(self) -> None:
        """Check that detect answers for typical and empty headers."""
        check_detect(self.plugin, block_size=self.block_size)

    def test_thread_safety(self) -> None:
        """Concurrent calls give one thread's results."""
        check_thread_safety(self.plugin)

    def test_cancellation(self) -> None:
        """A plugin that polls its token stops promptly when cancelled."""
        if not self.polls_cancel:
            import pytest

            pytest.skip("the plugin does not declare polls_cancel = True")
        check_cancellation(self.plugin, block_size=self.block_size)

    def test_determinism(self) -> None:
        """Same input and level give the same bytes, when declared."""
        if not self.deterministic:
            import pytest

            pytest.skip("the plugin declares deterministic = False")
        check_determinism(self.plugin, block_size=self.block_size)
