"""Every single-bit flip anywhere in a multi-block v2 frame is detected, for every plugin.

Not a sample: each bit of the frame is flipped in turn and decoding must
raise a :class:`crush.CrushError` (docs/FORMAT.md, "Version 2": the record
CRC32 covers each record's fields and stored bytes, the header and footer
CRC32s the rest). Small blocks and content keep it to a few thousand
in-process decodes per plugin; most flips are caught by a CRC32 before any
codec runs.
"""

from __future__ import annotations

import pytest

import crush

# Compressible text (compressed blocks) and a random tail (a raw block).
CONTENT = b"abcabcabd " * 12 + bytes(range(7, 240, 5))
BLOCK_SIZE = 64


def _frame(plugin: str) -> bytes:
    blob = crush.compress(CONTENT, plugin=plugin, block_size=BLOCK_SIZE, threads=1)
    assert crush.inspect(blob).blocks >= 3
    return blob


@pytest.mark.parametrize("plugin", [p.name for p in crush.list_plugins()])
def test_every_bit_flip_is_detected(plugin: str) -> None:
    blob = _frame(plugin)
    work = bytearray(blob)
    missed = []
    for bit in range(len(blob) * 8):
        work[bit >> 3] ^= 1 << (bit & 7)
        try:
            crush.decompress(work, threads=1)
        except crush.CrushError:
            pass
        else:
            missed.append(bit)
        work[bit >> 3] ^= 1 << (bit & 7)
    assert not missed, f"{plugin}: {len(missed)} of {len(blob) * 8} flips undetected: {missed[:20]}"
    assert crush.decompress(bytes(work)) == CONTENT


@pytest.mark.parametrize("plugin", [p.name for p in crush.list_plugins()])
def test_flip_counts(plugin: str) -> None:
    # The frame the flip test covers has compressed and raw blocks (the store
    # plugin: raw only), so each record layout is exercised.
    report = crush.inspect(_frame(plugin)).frames[0]
    if crush.get_plugin(plugin).metadata.ratio < 1:
        assert 1 <= report.raw_blocks < report.blocks
    else:
        assert report.raw_blocks == report.blocks
