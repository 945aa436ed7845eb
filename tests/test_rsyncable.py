"""Rsyncable frames (crush/chunking.py): content-defined blocks survive an insertion."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush import chunking


def _corpus(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = [bytes(rng.choices(b"abcdefghijklmnop", k=rng.randint(2, 9))) for _ in range(500)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + (b"\n" if rng.random() < 0.1 else b" ")
        if rng.random() < 0.01:
            out += rng.randbytes(rng.randint(1, 40))
    return bytes(out[:size])


def _records(blob: bytes) -> list[bytes]:
    return [blob[e.offset : e.offset + e.record_size + e.stored_size]
            for e in crush.read_index(blob)]


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=20_000), block_size=st.integers(1024, 8192))
def test_rsyncable_round_trips_within_bounds(data: bytes, block_size: int) -> None:
    blob = crush.compress(data, plugin="deflate", block_size=block_size, rsyncable=True)
    assert crush.decompress(blob) == data
    index = crush.read_index(blob)
    assert index.frames[0].header.block_size == 4 * block_size
    sizes = list(index.frames[0].sizes)
    assert all(size <= 4 * block_size for size in sizes)
    assert all(size >= block_size // 2 for size in sizes[:-1])


def test_stream_and_memory_cut_the_same_blocks() -> None:
    data = _corpus(300_000, 1)
    blob = crush.compress(data, plugin="zstd", block_size=4096, rsyncable=True)
    out = io.BytesIO()
    crush.compress_stream(io.BytesIO(data), out, plugin="zstd", block_size=4096, rsyncable=True)
    assert out.getvalue() == blob
    cutter = chunking.Cutter(4096)
    pieces = [b for i in range(0, len(data), 1000) for b in cutter.feed(data[i : i + 1000])]
    assert [bytes(b) for b in chunking.cut(data, 4096)] == pieces + cutter.finish()


@pytest.mark.parametrize("where", ["start", "middle", "ten places"])
def test_blocks_after_an_edit_stay_identical(where: str) -> None:
    data = _corpus(400_000, 2)
    rng = random.Random(3)
    if where == "start":
        edited = b"!" + data
    elif where == "middle":
        edited = data[:200_000] + b"!" + data[200_000:]
    else:
        edited = data
        for at in sorted(rng.sample(range(len(data)), 10), reverse=True):
            edited = edited[:at] + rng.randbytes(10) + edited[at:]
    before = set(_records(crush.compress(data, plugin="zstd", block_size=4096, rsyncable=True)))
    after = _records(crush.compress(edited, plugin="zstd", block_size=4096, rsyncable=True))
    same = sum(r in before for r in after) / len(after)
    fixed_before = set(_records(crush.compress(data, plugin="zstd", block_size=4096)))
    fixed = _records(crush.compress(edited, plugin="zstd", block_size=4096))
    fixed_same = sum(r in fixed_before for r in fixed) / len(fixed)
    # ~100 blocks; each edit may change the two blocks around it.
    assert same >= 0.75, same
    assert same > fixed_same + 0.2


@pytest.mark.parametrize("size", [1023, (4 << 20) + 1])
def test_rsyncable_block_size_is_bounded(size: int) -> None:
    with pytest.raises(crush.ConfigError, match="rsyncable"):
        crush.compress(b"x", block_size=size, rsyncable=True)


def test_cli_rsyncable_writes_what_the_api_writes(tmp_path: Path) -> None:
    data = _corpus(3_000_000, 4)
    (tmp_path / "a").write_bytes(data)
    subprocess.run([sys.executable, "-m", "crush", "-m", "zstd", "--rsyncable", "-k", "a"],
                   cwd=tmp_path, check=True, timeout=120, capture_output=True)
    blob = (tmp_path / "a.crush").read_bytes()
    assert crush.decompress(blob) == data
    index = crush.read_index(blob)
    assert index.frames[0].header.block_size == 4 << 20
    sizes = list(index.frames[0].sizes)
    assert len(set(sizes)) > 1  # content-defined, not every 1 MiB
    plain = crush.compress(data, plugin="zstd", rsyncable=True)
    assert list(crush.read_index(plain).frames[0].sizes) == sizes


def test_open_writes_what_compress_writes() -> None:
    data = _corpus(200_000, 5)
    out = io.BytesIO()
    with crush.open(out, "wb", plugin="lz4", block_size=2048, rsyncable=True) as f:
        for start in range(0, len(data), 3333):
            f.write(data[start : start + 3333])
    assert out.getvalue() == crush.compress(data, plugin="lz4", block_size=2048, rsyncable=True)
