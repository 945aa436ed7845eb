"""Fault-injecting plugins for tests, usable through ``crush.Registry``.

Each class satisfies the plugin contract (``crush.registry.contract_problems``
is empty) and does real raw-DEFLATE work except for the one fault it
injects, so frames it writes can be read back by the same class. Ids are in
the third-party range (0x80-0xFF); pass ``name=``/``plugin_id=`` to make
several instances coexist in one registry or to keep ``crush.diagnostics()``
counts apart between tests.

Build a registry with them, never edit module globals::

    crush.Registry([DeflatePlugin(), CompressRaises()], default="deflate")
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable

from crush import CancelToken
from crush import PluginMetadata
from crush.contract import Buffer

METADATA = PluginMetadata(
    version="test",
    description="fault-injecting test plugin",
    throughput=10.0,
    ratio=0.5,
    min_level=0,
    max_level=9,
    default_level=6,
    fast=1,
    balanced=6,
    best=9,
)


class FaultyPlugin:
    """A working raw-DEFLATE plugin; subclasses override one method to inject a fault."""

    default_name = "faulty"
    default_id = 0x80

    def __init__(self, name: str | None = None, plugin_id: int | None = None) -> None:
        self.name = name or self.default_name
        self.plugin_id = self.default_id if plugin_id is None else plugin_id
        self.metadata = METADATA
        self.calls = 0
        self._lock = threading.Lock()

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        self._count()
        co = zlib.compressobj(level, zlib.DEFLATED, -15)
        return co.compress(data) + co.flush()

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        do = zlib.decompressobj(-15)
        return do.decompress(data, max(size, 1))

    def detect(self, header: bytes) -> bool:
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, 0x{self.plugin_id:02x})"


class CompressRaises(FaultyPlugin):
    """``compress`` raises ``RuntimeError("boom")`` for blocks where *when(block)* holds."""

    default_name = "raises-compress"
    default_id = 0x80

    def __init__(
        self,
        name: str | None = None,
        plugin_id: int | None = None,
        *,
        when: Callable[[bytes], bool] = lambda block: True,
    ) -> None:
        super().__init__(name, plugin_id)
        self.when = when

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        if self.when(bytes(data)):
            self._count()
            raise RuntimeError("boom")
        return super().compress(data, level, cancel)


class CompressNonBytes(FaultyPlugin):
    """``compress`` returns a ``str`` instead of bytes."""

    default_name = "non-bytes"
    default_id = 0x81

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        self._count()
        return "not bytes"  # type: ignore[return-value]


class DecompressRaises(FaultyPlugin):
    """``decompress`` raises ``ValueError("bad block")``."""

    default_name = "raises-decompress"
    default_id = 0x82

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        raise ValueError("bad block")


class DecompressGarbage(FaultyPlugin):
    """``decompress`` returns *size* bytes of garbage (right length, wrong content)."""

    default_name = "garbage"
    default_id = 0x83

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        return b"\xaa" * size


class DecompressTooLong(FaultyPlugin):
    """``decompress`` returns the real content plus one extra byte."""

    default_name = "too-long"
    default_id = 0x84

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        return super().decompress(data, size, cancel) + b"!"


class DecompressNonBytes(FaultyPlugin):
    """``decompress`` returns a list instead of bytes."""

    default_name = "non-bytes-decompress"
    default_id = 0x85

    def decompress(self, data: Buffer, size: int, cancel: CancelToken) -> bytes:
        return [0] * size  # type: ignore[return-value]


class CooperativeSlow(FaultyPlugin):
    """``compress`` takes *seconds* but polls the token every 10 ms and stops when cancelled."""

    default_name = "slow"
    default_id = 0x86

    def __init__(
        self, name: str | None = None, plugin_id: int | None = None, *, seconds: float = 60.0
    ) -> None:
        super().__init__(name, plugin_id)
        self.seconds = seconds
        self.stopped = threading.Event()

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        end = time.monotonic() + self.seconds
        try:
            while time.monotonic() < end:
                cancel.check()
                cancel.wait(0.01)
            return super().compress(data, level, cancel)
        finally:
            self.stopped.set()


class IgnoresCancel(FaultyPlugin):
    """``compress`` ignores the token and sleeps up to *seconds* (3600) or until released.

    Call ``release()`` when the test is done so the abandoned thread ends.
    """

    default_name = "stuck"
    default_id = 0x87

    def __init__(
        self, name: str | None = None, plugin_id: int | None = None, *, seconds: float = 3600.0
    ) -> None:
        super().__init__(name, plugin_id)
        self.seconds = seconds
        self.entered = threading.Event()
        self._release = threading.Event()

    def release(self) -> None:
        self._release.set()

    def hang(self) -> None:
        """Ignore everything for up to ``seconds``, or until released."""
        self.entered.set()
        self._release.wait(self.seconds)

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        self.hang()
        return super().compress(data, level, cancel)


class CompressReturns(FaultyPlugin):
    """``compress`` returns ``make(data, compressed)``: anything at all, for contract tests.

    *compressed* is the block's real raw-DEFLATE form, so a *make* that
    returns it (in any buffer type) writes frames this class decodes.
    """

    default_name = "returns"
    default_id = 0x88

    def __init__(
        self,
        name: str | None = None,
        plugin_id: int | None = None,
        *,
        make: Callable[[Buffer, bytes], object] = lambda data, compressed: compressed,
    ) -> None:
        super().__init__(name, plugin_id)
        self.make = make

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        return self.make(data, super().compress(data, level, cancel))  # type: ignore[return-value]


class DetectSleeps(IgnoresCancel):
    """``detect`` hangs like :class:`IgnoresCancel`'s compress (default 3 s), then accepts.

    ``compress`` works; call ``release()`` when the test is done.
    """

    default_name = "slow-detect"
    default_id = 0x89

    def __init__(
        self, name: str | None = None, plugin_id: int | None = None, *, seconds: float = 3.0
    ) -> None:
        super().__init__(name, plugin_id, seconds=seconds)

    def compress(self, data: Buffer, level: int, cancel: CancelToken) -> bytes:
        return FaultyPlugin.compress(self, data, level, cancel)

    def detect(self, header: bytes) -> bool:
        self.hang()
        return True


class DetectRaises(FaultyPlugin):
    """``detect`` raises ``RuntimeError("detect boom")``."""

    default_name = "raises-detect"
    default_id = 0x8A

    def detect(self, header: bytes) -> bool:
        raise RuntimeError("detect boom")


ALL = (
    CompressRaises,
    CompressNonBytes,
    DecompressRaises,
    DecompressGarbage,
    DecompressTooLong,
    DecompressNonBytes,
    CooperativeSlow,
    IgnoresCancel,
    CompressReturns,
    DetectSleeps,
    DetectRaises,
)
"""Every fault-injecting plugin class (distinct default names and ids)."""
