"""The execution engine under fault injection: deadlines, cancellation, hung plugins."""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
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
    calls = 3 * execution.default_threads()
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
