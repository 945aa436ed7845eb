"""crush.testing: every built-in plugin passes it, and each check catches what it is for.

The built-ins run through the plain functions (one test per plugin and
check) and a token-polling example plugin through the pytest base class.
Each broken plugin below violates exactly one rule, and the matching check
must reject it with a message naming the rule.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from typing import Final

import pytest

import crush
from crush import testing
from crush.contract import Buffer
from crush.contract import CancelToken
from crush.contract import PluginMetadata

PLUGINS = crush.list_plugins()

CHECKS: Final[dict[str, Callable[[crush.Plugin], None]]] = {
    "metadata": testing.check_metadata,
    "round trips": testing.check_round_trips,
    "wrong size": testing.check_wrong_size,
    "output bounded": testing.check_output_bounded,
    "detect": testing.check_detect,
    "thread safety": testing.check_thread_safety,
    "determinism": testing.check_determinism,
}


@pytest.mark.parametrize("check", CHECKS.values(), ids=list(CHECKS))
@pytest.mark.parametrize("plugin", PLUGINS, ids=[p.name for p in PLUGINS])
def test_every_builtin_plugin_conforms(
    plugin: crush.Plugin, check: Callable[[crush.Plugin], None]
) -> None:
    check(plugin)


_CHUNK: Final = 1 << 14


class Chunked:
    """DEFLATE in 16 KiB steps, polling the token between steps (a well-behaved plugin)."""

    name = "chunked"
    plugin_id = 0x80
    metadata = PluginMetadata(
        version="1", description="deflate in steps", throughput=30.0, ratio=0.35,
        min_level=1, max_level=9, default_level=6, fast=1, balanced=6, best=9,
    )

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> Buffer:
        """Deflate *data*, checking the token every 16 KiB."""
        view = memoryview(data).cast("B")
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        parts = []
        for start in range(0, len(view), _CHUNK):
            cancel.check()
            parts.append(packer.compress(view[start : start + _CHUNK]))
        cancel.check()
        parts.append(packer.flush())
        return b"".join(parts)

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        """Inflate at most *size* bytes, checking the token every 16 KiB of output."""
        unpacker = zlib.decompressobj(-15)
        out = bytearray()
        pending = bytes(data)
        while not unpacker.eof and len(out) <= size:
            cancel.check()
            piece = unpacker.decompress(pending, _CHUNK)
            pending = unpacker.unconsumed_tail
            if not piece and not pending:
                break  # truncated: no more input, no end of stream
            out += piece
        if len(out) != size or not unpacker.eof or unpacker.unused_data:
            raise ValueError(f"block decodes to other than {size} bytes")
        return bytes(out)

    def detect(self, header: bytes) -> bool:
        """Accept everything."""
        return True


class TestChunkedThroughTheBaseClass(testing.PluginConformance):
    """The pytest base class, with cancellation: every inherited test runs here."""

    plugin = Chunked()
    polls_cancel = True
    block_size = 1 << 18


class NeverPolls(Chunked):
    """Claims to poll the token but never does."""

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> Buffer:
        """Deflate, ignoring *cancel*."""
        return zlib.compress(data, level, -15)


class BadPresets(Chunked):
    metadata = Chunked.metadata._replace(fast=9, best=1)


class DropsLastByte(Chunked):
    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        out = super().decompress(data, size, cancel)
        return out[:-1] + b"?" if out else out


class TrustsTheSize(Chunked):
    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        return zlib.decompress(data, -15)[:size].ljust(size, b"\0")


class DecodesEverything(Chunked):
    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        out = zlib.decompress(data, -15)
        if len(out) != size:
            raise ValueError("wrong size")
        return out


class DetectRaises(Chunked):
    def detect(self, header: bytes) -> bool:
        return header[0] == 0  # IndexError on an empty header


class SharesState(Chunked):
    """Keeps the block in an attribute between steps: concurrent calls swap blocks."""

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> Buffer:
        self.block = bytes(data)
        time.sleep(0.002)
        return zlib.compress(self.block, level, -15)


class Salted(Chunked):
    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> Buffer:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15,
                                  memLevel=random.choice((7, 8, 9)))
        return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("plugin", "check", "says"),
    [
        (BadPresets(), testing.check_metadata, "presets must go from fastest"),
        (DropsLastByte(), testing.check_round_trips, "round trip of"),
        (TrustsTheSize(), testing.check_wrong_size, "instead of raising"),
        (DecodesEverything(), testing.check_output_bounded, "allocated"),
        (DetectRaises(), testing.check_detect, "detect must answer"),
        (SharesState(), testing.check_thread_safety, "threads called it at once"),
        (Salted(), testing.check_determinism, "different bytes"),
        (NeverPolls(), testing.check_cancellation, "already-cancelled token"),
    ],
    ids=lambda v: type(v).__name__ if not callable(v) or isinstance(v, Chunked) else None,
)
def test_each_check_rejects_the_plugin_that_breaks_its_rule(
    plugin: crush.Plugin, check: Callable[..., None], says: str
) -> None:
    with pytest.raises(AssertionError, match=says) as caught:
        check(plugin)
    assert str(caught.value).startswith(f"plugin {plugin.name!r}: ")


def test_a_cancelled_call_that_ignores_the_token_mid_way_is_reported() -> None:
    """Polls only before starting: the pre-cancelled check passes, the mid-call one must not."""

    slow = threading.Event()

    class Sleeper(Chunked):
        def compress(self, data: Buffer, level: int, cancel: CancelToken) -> Buffer:
            cancel.check()
            if level == self.metadata.best:  # only the mid-call check pays the wait
                slow.wait(1.5 * testing.CANCEL_WITHIN)
            cancel.check()
            return zlib.compress(data, level, -15)

    with pytest.raises(AssertionError, match="to stop"):
        testing.check_cancellation(Sleeper(), block_size=1 << 16)


def test_check_plugin_runs_everything_and_passes_a_good_plugin() -> None:
    testing.check_plugin(Chunked(), polls_cancel=True, block_size=1 << 16)
    with pytest.raises(AssertionError, match="already-cancelled"):
        testing.check_plugin(NeverPolls(), polls_cancel=True, block_size=1 << 16)


def test_import_crush_does_not_import_the_suite() -> None:
    code = "import sys, crush; print('crush.testing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "False"
