"""The execution engine under fault injection: deadlines, cancellation, hung plugins."""

from __future__ import annotations

import collections
import gc
import io
import logging
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from faulty import CompressRaises
from faulty import CooperativeSlow
from faulty import DecompressTooLong
from faulty import FaultyPlugin
from faulty import IgnoresCancel

import crush
from crush import execution
from crush.plugins.deflate import DeflatePlugin
from crush.plugins.lz4 import Lz4Plugin
from crush.plugins.zstd import ZstdPlugin

ROOT = Path(__file__).resolve().parent.parent
# Timing bounds are generous on purpose: a loaded 2-core CI machine must not
# flake. tools/bench measures the precision.
PROMPT = 5.0


def diagnostics_for(plugin: str, *, stuck: int) -> crush.PluginDiagnostics:
    """Wait until *plugin* reports *stuck* stuck workers (they count after STUCK_AFTER)."""
    give_up = time.monotonic() + PROMPT
    while True:
        found = {d.plugin: d for d in crush.diagnostics()}.get(plugin)
        if (found.stuck if found else 0) == stuck or time.monotonic() > give_up:
            assert found is not None
            return found
        time.sleep(0.02)


def registry(*plugins: object, **options: object) -> crush.Registry:
    return crush.Registry([DeflatePlugin(), *plugins], default="deflate", **options)  # type: ignore[arg-type]


def test_cooperative_slow_plugin_is_cancelled_cleanly() -> None:
    slow = CooperativeSlow("coop-a", 0xA0, seconds=60)
    reg = registry(slow)
    token = crush.CancelToken()
    threading.Timer(0.2, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(crush.CancelledError):
        crush.compress(b"x" * 100, plugin="coop-a", cancel=token, registry=reg)
    assert time.monotonic() - started < PROMPT
    assert slow.stopped.wait(PROMPT), "the plugin saw the cancellation and returned"
    time.sleep(execution.STUCK_AFTER)
    assert not any(d.plugin == "coop-a" for d in crush.diagnostics())


def test_cooperative_slow_plugin_times_out_and_stops() -> None:
    slow = CooperativeSlow("coop-b", 0xA1, seconds=60)
    started = time.monotonic()
    with pytest.raises(crush.CrushTimeoutError) as info:
        crush.compress(b"x" * 100, plugin="coop-b", timeout=0.3, registry=registry(slow))
    assert 0.3 <= time.monotonic() - started < PROMPT
    assert slow.stopped.wait(PROMPT), "the token was cancelled at the deadline"
    assert info.value.plugin == "coop-b"
    assert info.value.timeout == 0.3
    assert isinstance(info.value, TimeoutError)
    assert "coop-b" in str(info.value)
    assert "timeout=" in str(info.value)


def test_timeout_precedence_call_over_plugin_over_env_over_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolve = execution.resolve_timeout
    monkeypatch.setenv("CRUSH_TIMEOUT", "7")
    assert resolve(1.0, 2.0, 3.0) == 1.0
    assert resolve(None, 2.0, 3.0) == 2.0
    assert resolve(None, None, 3.0) == 7.0
    monkeypatch.delenv("CRUSH_TIMEOUT")
    assert resolve(None, None, 3.0) == 3.0
    assert resolve(None, None, None) == 30.0
    assert resolve(0, 2.0, 3.0) is None, "0 disables the deadline"
    monkeypatch.setenv("CRUSH_TIMEOUT", "0")
    assert resolve(None, None, 3.0) is None
    monkeypatch.setenv("CRUSH_TIMEOUT", "soon")
    with pytest.raises(crush.ConfigError, match="CRUSH_TIMEOUT"):
        resolve(None, None, 3.0)


def test_plugin_timeout_from_registry_applies() -> None:
    slow = CooperativeSlow("coop-c", 0xA2, seconds=60)
    reg = registry(slow, timeouts={"coop-c": 0.2})
    with pytest.raises(crush.CrushTimeoutError) as info:
        crush.compress(b"x", plugin="coop-c", registry=reg)
    assert info.value.timeout == 0.2


def test_hung_plugin_is_abandoned_and_capacity_is_kept() -> None:
    stuck = IgnoresCancel("stuck-a", 0xA3)
    reg = registry(stuck)
    # More than the pool, but under the per-plugin cap (so every call times out).
    calls = min(3 * execution.default_threads(), execution.MAX_STUCK_WORKERS)
    try:
        for _ in range(calls):
            started = time.monotonic()
            with pytest.raises(crush.CrushTimeoutError):
                crush.compress(b"x" * 100, plugin="stuck-a", timeout=0.2, registry=reg)
            assert time.monotonic() - started < PROMPT
        report = diagnostics_for("stuck-a", stuck=calls)
        assert report.stuck == calls
        assert report.abandoned == calls
        # Every worker the pool had is stuck, yet a normal call runs at once.
        data = os.urandom(1 << 20) + bytes(1 << 20)
        started = time.monotonic()
        blob = crush.compress(data, plugin="deflate", threads=2, registry=reg)
        assert crush.decompress(blob, registry=reg) == data
        assert time.monotonic() - started < PROMPT
    finally:
        stuck.release()
    report = diagnostics_for("stuck-a", stuck=0)
    assert report.stuck == 0, "released threads are counted as no longer stuck"
    assert report.abandoned == calls


def test_abandonment_warns_once_per_plugin(caplog: pytest.LogCaptureFixture) -> None:
    stuck = IgnoresCancel("stuck-b", 0xA4)
    reg = registry(stuck)
    try:
        with caplog.at_level(logging.WARNING, logger="crush"):
            for _ in range(3):
                with pytest.raises(crush.CrushTimeoutError):
                    crush.compress(b"x", plugin="stuck-b", timeout=0.1, registry=reg)
            diagnostics_for("stuck-b", stuck=3)
    finally:
        stuck.release()
    warnings = [r for r in caplog.records if "stuck-b" in r.getMessage()]
    assert len(warnings) == 1


def test_past_the_cap_calls_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution, "MAX_STUCK_WORKERS", 2)
    monkeypatch.setattr(execution, "STUCK_AFTER", 0.0)
    stuck = IgnoresCancel("stuck-c", 0xA5)
    reg = registry(stuck)
    try:
        for _ in range(2):
            with pytest.raises(crush.CrushTimeoutError):
                crush.compress(b"x", plugin="stuck-c", timeout=0.1, registry=reg)
        entered = stuck.calls
        started = time.monotonic()
        with pytest.raises(crush.PluginError, match=r"stuck-c.*never returned") as info:
            crush.compress(b"x", plugin="stuck-c", timeout=10, registry=reg)
        assert time.monotonic() - started < 1.0, "fails fast, no deadline wait"
        assert info.value.plugin == "stuck-c"
        assert stuck.calls == entered
        assert crush.decompress(crush.compress(b"ok", registry=reg), registry=reg) == b"ok"
    finally:
        stuck.release()


def test_hung_calls_never_keep_the_process_from_exiting() -> None:
    script = textwrap.dedent(
        """
        import time, crush
        from crush.plugins.deflate import DeflatePlugin
        from tests.faulty import IgnoresCancel
        reg = crush.Registry([DeflatePlugin(), IgnoresCancel()], default="deflate")
        for _ in range(6):
            try:
                crush.compress(b"x" * 100, plugin="stuck", timeout=0.2, registry=reg)
            except crush.CrushTimeoutError:
                pass
        started = time.monotonic()
        assert crush.decompress(crush.compress(b"y" * 300000, registry=reg)) == b"y" * 300000
        print("normal call", round(time.monotonic() - started, 3))
        """
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "normal call" in result.stdout
    assert time.monotonic() - started < 30


def test_crash_fallback_still_works_on_the_pool(caplog: pytest.LogCaptureFixture) -> None:
    # Only the fifth block fails: earlier blocks stay in the first frame.
    flaky = CompressRaises("flaky", 0xA6, when=lambda block: block.startswith(b"\x05"))
    reg = registry(flaky)
    data = b"".join(bytes([i]) * 1000 for i in range(12))
    with caplog.at_level(logging.WARNING, logger="crush"):
        blob = crush.compress(data, plugin="flaky", block_size=1000, threads=2, registry=reg)
    assert crush.decompress(blob, registry=reg) == data
    report = crush.inspect(blob, registry=reg)
    assert [f.plugin for f in report.frames] == ["flaky", "deflate"]
    assert report.frames[0].blocks == 5
    assert any("flaky" in r.getMessage() and "boom" in r.getMessage() for r in caplog.records)


def test_timeout_does_not_fall_back() -> None:
    slow = CooperativeSlow("coop-d", 0xA7, seconds=60)
    with pytest.raises(crush.CrushTimeoutError):
        crush.compress(b"x" * 200_000, plugin="coop-d", timeout=0.2, registry=registry(slow))


def test_decompress_with_too_many_bytes_is_a_plugin_error() -> None:
    plugin = DecompressTooLong("long", 0xA8)
    reg = registry(plugin)
    blob = crush.compress(b"abc" * 10_000, plugin="long", registry=reg)
    with pytest.raises(crush.PluginError, match="declares"):
        crush.decompress(blob, registry=reg, threads=2)


def test_keyboard_interrupt_cancels_blocks_in_flight() -> None:
    slow = CooperativeSlow("coop-e", 0xA9, seconds=60)
    reg = registry(slow)
    main = threading.get_ident()

    def interrupt() -> None:
        # A real SIGINT: Python runs the handler in the main thread, which
        # must be waiting interruptibly for the blocks.
        assert threading.get_ident() != main
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(0.3, interrupt).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        crush.compress(b"z" * 300_000, plugin="coop-e", block_size=100_000, threads=2,
                       registry=reg, timeout=60)
    assert time.monotonic() - started < PROMPT
    assert slow.stopped.wait(PROMPT), "the blocks in flight saw the cancellation"


def test_pool_results_keep_order_with_uneven_blocks() -> None:
    class Jitter(FaultyPlugin):
        def compress(self, data: bytes, level: int, cancel: crush.CancelToken) -> bytes:
            time.sleep(random.random() / 200)
            return super().compress(data, level, cancel)

    reg = registry(Jitter("jitter", 0xAA))
    data = b"".join(os.urandom(10) * 50 for _ in range(400))
    blob = crush.compress(data, plugin="jitter", block_size=500, threads=4, registry=reg)
    assert crush.decompress(blob, threads=4, registry=reg) == data


def test_32_threads_with_mixed_plugins_and_timeouts() -> None:
    slow = CooperativeSlow("coop-f", 0xAB, seconds=60)
    reg = crush.Registry([DeflatePlugin(), ZstdPlugin(), Lz4Plugin(), slow], default="deflate")
    errors: list[BaseException] = []
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            for _ in range(5):
                data = rng.randbytes(rng.randrange(0, 3000)) * rng.randrange(1, 200)
                if rng.random() < 0.15:
                    try:
                        crush.compress(data, plugin="coop-f", timeout=0.1, registry=reg)
                    except crush.CrushTimeoutError:
                        with lock:
                            outcomes.append("timeout")
                    continue
                name = rng.choice(["deflate", "zstd", "lz4"])
                blob = crush.compress(data, plugin=name, block_size=rng.choice([4096, 65536]),
                                      threads=rng.choice([1, 2, 4]), timeout=60, registry=reg)
                assert crush.decompress(blob, registry=reg, timeout=60) == data
                with lock:
                    outcomes.append(name)
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert not errors, errors[0]
    assert len(outcomes) == 32 * 5


def test_small_builtin_inputs_run_inline_and_others_on_the_pool() -> None:
    seen: list[int] = []

    class Where(FaultyPlugin):
        def compress(self, data: bytes, level: int, cancel: crush.CancelToken) -> bytes:
            seen.append(threading.get_ident())
            return super().compress(data, level, cancel)

    reg = registry(Where("where", 0xAC))
    crush.compress(b"a" * 100, plugin="where", registry=reg)
    assert seen[-1] != threading.get_ident(), "third-party plugins always run on a worker"
    inline = execution.InlineRunner
    assert inline is not None


def test_a_cancelled_call_does_not_keep_a_hung_worker() -> None:
    stuck = IgnoresCancel("stuck-d", 0xAD)
    reg = registry(stuck)
    token = crush.CancelToken()
    threading.Timer(0.2, token.cancel).start()
    try:
        with pytest.raises(crush.CancelledError):
            crush.compress(b"x" * 100, plugin="stuck-d", cancel=token, timeout=60, registry=reg)
        assert stuck.entered.is_set()
        # It ignored the cancellation: after the grace its worker is set adrift,
        # replaced, and counted once it has been stuck long enough.
        report = diagnostics_for("stuck-d", stuck=1)
        assert report.stuck == 1
        data = os.urandom(1 << 20) * 2
        assert crush.decompress(crush.compress(data, threads=2, registry=reg),
                                registry=reg) == data
    finally:
        stuck.release()


# --- limits: huge timeouts, thread counts, the stuck-worker caps ---------------------------


@pytest.mark.parametrize("timeout", [1e10, 1e300, sys.float_info.max])
def test_any_finite_timeout_is_valid(timeout: float) -> None:
    # Lock and poll timeouts overflow near 9e9 s (poll: about 24 days); the
    # waits are sliced, so a deadline that far away is simply never reached.
    data = os.urandom(1 << 16) * 8
    pool = registry(FaultyPlugin("far", 0xB0))
    for name, reg in (("deflate", None), ("zstd", None), ("far", pool)):
        blob = crush.compress(data, plugin=name, block_size=1 << 16, threads=2,
                              timeout=timeout, registry=reg)
        assert crush.decompress(blob, threads=2, timeout=timeout, registry=reg) == data


def test_huge_timeout_with_process_isolation() -> None:
    data = b"isolated " * 20_000
    blob = crush.compress(data, plugin="deflate", isolation="process", threads=2, timeout=1e10)
    assert crush.decompress(blob, isolation="process", timeout=1e10) == data


def test_huge_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRUSH_TIMEOUT", "1e10")
    data = os.urandom(300_000)
    blob = crush.compress(data, plugin="far", threads=2, registry=registry(FaultyPlugin("far")))
    assert crush.decompress(blob, threads=2, registry=registry(FaultyPlugin("far"))) == data


def test_huge_timeout_on_the_command_line(tmp_path: Path) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(bytes(range(256)) * 8192)  # compressible: on the pool, not stored
    env = {**os.environ, "CRUSH_TIMEOUT": "1e10"}
    for argv in (["compress", "-k", "-m", "zstd", "-T", "2", "--timeout", "1e10", str(src)],
                 ["test", "-T", "2", str(src) + ".crush"]):
        done = subprocess.run([sys.executable, "-m", "crush", *argv], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("timeout", [math.nan, -1, -math.inf, "1", True])
def test_invalid_timeouts_are_config_errors(timeout: object) -> None:
    with pytest.raises(crush.ConfigError, match=r"timeout.*0 or math\.inf disables"):
        crush.compress(b"x", timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["nan", "-1", "soon"])
def test_invalid_env_timeouts_are_config_errors(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRUSH_TIMEOUT", raw)
    with pytest.raises(crush.ConfigError, match="CRUSH_TIMEOUT"):
        crush.compress(b"x")


def test_infinite_timeout_means_no_deadline() -> None:
    reg = registry(FaultyPlugin("inf", 0xB1))
    blob = crush.compress(b"y" * 300_000, plugin="inf", timeout=math.inf, registry=reg)
    assert crush.decompress(blob, timeout=math.inf, registry=reg) == b"y" * 300_000


@pytest.mark.parametrize("threads", [execution.MAX_THREADS + 1, 100_000, 0, -1])
def test_thread_counts_past_the_maximum_are_config_errors(threads: int) -> None:
    before = threading.active_count()
    most = execution.MAX_THREADS
    with pytest.raises(crush.ConfigError, match=rf"threads must be an int in 1\.\.{most}"):
        crush.compress(b"x" * 300_000, threads=threads)
    with pytest.raises(crush.ConfigError, match="MAX_THREADS"):
        crush.open(io.BytesIO(), "wb", threads=threads)
    assert threading.active_count() <= before, "no thread was started for a refused call"


def test_thread_count_limit_on_the_command_line(tmp_path: Path) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(b"abc" * 1000)
    too_many = str(execution.MAX_THREADS + 1)
    for argv, env in ((["compress", "-T", "100000", str(src)], {}),
                      (["compress", str(src)], {"CRUSH_THREADS": too_many})):
        done = subprocess.run([sys.executable, "-m", "crush", *argv], cwd=ROOT,
                              env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 2, done.stderr
        assert f"1..{execution.MAX_THREADS}" in done.stderr
    assert not (tmp_path / "data.bin.crush").exists()


def test_the_maximum_thread_count_works() -> None:
    # In a fresh interpreter: the pool keeps its largest size for good.
    script = textwrap.dedent(
        """
        import threading, crush
        from crush.execution import MAX_THREADS
        data = bytes(range(256)) * 4096 * 4
        blob = crush.compress(data, plugin="zstd", block_size=4096, threads=MAX_THREADS)
        assert crush.decompress(blob, threads=MAX_THREADS) == data
        print(threading.active_count() - 1, MAX_THREADS)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    workers, most = map(int, done.stdout.split())
    assert workers == most


def hammer(reg: crush.Registry, plugin: str, calls: int, threads: int) -> collections.Counter[str]:
    """Make *calls* multi-block calls to a hung *plugin*; count how each ended."""
    data = os.urandom(1000) * (4 * threads)  # 4 blocks per thread
    ended: collections.Counter[str] = collections.Counter()
    for _ in range(calls):
        try:
            crush.compress(data, plugin=plugin, block_size=1000, threads=threads, timeout=0.01,
                           registry=reg)
        except (crush.CrushTimeoutError, crush.PluginError) as exc:
            ended[type(exc).__name__] += 1
    return ended


def extra_threads(before: int) -> int:
    """Threads started since *before* was counted, beyond the pool's own growth."""
    return threading.active_count() - before - max(0, execution._POOL.target - POOL_BEFORE[0])


POOL_BEFORE = [0]


@pytest.fixture
def counted() -> Iterator[int]:
    """Yield the thread count before a test; the pool's growth is not held against it."""
    execution._POOL.ensure(1)
    POOL_BEFORE[0] = execution._POOL.target
    yield threading.active_count()


def test_stuck_cap_holds_for_multi_block_calls(counted: int) -> None:
    stuck = IgnoresCancel("stuck-multi", 0xB2)
    reg = registry(stuck)
    try:
        ended = hammer(reg, "stuck-multi", 200, threads=16)
        assert ended["PluginError"] > 150, ended  # past the cap calls fail fast
        assert extra_threads(counted) <= execution.MAX_STUCK_WORKERS
        stuck_now = {d.plugin: d.stuck for d in crush.diagnostics()}.get("stuck-multi", 0)
        assert stuck_now <= execution.MAX_STUCK_WORKERS
    finally:
        stuck.release()


def test_process_wide_stuck_cap_holds_for_many_hung_plugins(counted: int) -> None:
    hung = [IgnoresCancel(f"hung-{n}", 0xC0 + n) for n in range(20)]
    reg = registry(*hung)
    try:
        for plugin in hung:
            hammer(reg, plugin.name, 10, threads=16)
        assert extra_threads(counted) <= execution.MAX_STUCK_TOTAL
        with execution._POOL.lock:
            assert execution._POOL.replaced <= execution.MAX_STUCK_TOTAL
        # Hung plugins now fail fast; a healthy built-in still works inline,
        # and automatic selection does not wait for 20 hung detects' deadlines.
        with pytest.raises(crush.PluginError, match=r"hung workers|never returned|stuck"):
            crush.compress(b"x" * 300_000, plugin="hung-0", threads=2, registry=reg)
        started = time.monotonic()
        assert crush.decompress(crush.compress(b"ok" * 1000, registry=reg), registry=reg) \
            == b"ok" * 1000
        assert time.monotonic() - started < 30, "one hung detect's default deadline at most"
    finally:
        for plugin in hung:
            plugin.release()
    # Released, the stuck threads leave or rejoin the pool: capacity comes back.
    give_up = time.monotonic() + PROMPT
    while execution._POOL.adrift and time.monotonic() < give_up:
        time.sleep(0.02)
    data = os.urandom(1 << 20) * 2
    blob = crush.compress(data, plugin="zstd", threads=4, block_size=1 << 18, timeout=60)
    assert crush.decompress(blob, threads=4, timeout=60) == data


def test_closing_a_runner_starts_no_thread_and_does_not_wait() -> None:
    release = threading.Event()
    entered = threading.Event()

    def hang() -> object:
        entered.set()
        release.wait(60)
        return b""

    deadline = execution.Deadline("close-test", 60.0, None)
    runner: execution.PoolRunner[object] = execution.PoolRunner(deadline, 2)
    try:
        runner.submit(hang)
        assert entered.wait(PROMPT)
        before = set(threading.enumerate())
        runner.close()  # cancelled before the deadline: abandoned later, lazily
        after = set(threading.enumerate())
        assert after <= before, f"close() started {after - before}"
        assert deadline.token.cancelled
        # The next call into the pool, once the grace has passed, abandons
        # and replaces the worker that ignored the cancellation.
        time.sleep(execution.STUCK_AFTER)
        diagnostics_for("close-test", stuck=1)
    finally:
        release.set()
        deadline.close()


def test_closing_at_interpreter_exit_never_hangs() -> None:
    # A runner with a hung job closed by a finaliser during shutdown: a
    # thread started then would block the exit forever.
    script = textwrap.dedent(
        """
        import sys, threading
        from crush import execution

        class Holder:
            def __del__(self):
                self.runner.close()
                sys.stderr.write("closed\\n")

        entered = threading.Event()
        def hang():
            entered.set()
            threading.Event().wait()

        def make():
            holder = Holder()
            holder.runner = execution.PoolRunner(execution.Deadline("exit", 60.0, None), 2)
            holder.runner.submit(hang)
            entered.wait(30)
            holder.cycle = holder  # garbage only the collector at shutdown finalises

        make()
        print("exiting")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert "closed" in done.stderr, "the finaliser ran at exit"
    assert "exiting" in done.stdout


def test_idle_workers_keep_no_result_alive() -> None:
    # A worker holding its last block costs a block of memory per worker.
    class Block:
        pass

    made: list[weakref.ref[Block]] = []

    def job() -> Block:
        block = Block()
        made.append(weakref.ref(block))
        return block

    with execution.Deadline("weak", 60.0, None) as deadline:
        runner: execution.PoolRunner[Block] = execution.PoolRunner(deadline, 4)
        for _ in range(8):
            runner.submit(job)
        for _ in range(8):
            runner.take()
        runner.close()
    gc.collect()
    assert [ref() for ref in made] == [None] * 8


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_with_a_fresh_pool() -> None:
    stuck = IgnoresCancel("stuck-fork", 0xB3)
    reg = registry(stuck)
    try:
        for _ in range(2):
            hammer(reg, "stuck-fork", 1, threads=execution.MAX_STUCK_WORKERS)
        with pytest.raises(crush.PluginError):
            crush.compress(b"x" * 300_000, plugin="stuck-fork", threads=2, registry=reg)
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a threaded process: that is the point.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            code = 1
            try:
                # The parent's stuck threads do not exist here: no refusal,
                # and a fresh pool serves the blocks.
                with pytest.raises(crush.CrushTimeoutError):
                    crush.compress(b"x" * 300_000, plugin="stuck-fork", threads=2,
                                   timeout=0.05, registry=reg)
                data = os.urandom(1 << 20) * 2
                blob = crush.compress(data, plugin="zstd", threads=2, timeout=60)
                code = 0 if crush.decompress(blob, threads=2, timeout=60) == data else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        stuck.release()
