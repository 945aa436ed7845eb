"""crush.integrations.fsspec: compression="crush" and the crush:: filesystem, with real fsspec,
pandas and Dask (threaded scheduler here; tests/test_integrations_dask.py runs a real cluster)."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
from pathlib import Path

import dask.dataframe as dd
import fsspec
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush
from crush import engine
from crush.integrations import fsspec as crush_fsspec
from crush.options import options
from crush.stream import FileSource
from tools import make_golden
from tools.csvdata import write_csv

BLOCK = 64 << 10


@pytest.fixture(scope="module")
def csv_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A ~3 MiB CSV and its crush file with 64 KiB blocks (so many blocks)."""
    tmp = tmp_path_factory.mktemp("csv")
    plain = tmp / "data.csv"
    write_csv(plain, 3 << 20, seed=7)
    packed = tmp / "data.csv.crush"
    with crush.open(packed, "wb", block_size=BLOCK, plugin="zstd") as out:
        out.write(plain.read_bytes())
    return plain, packed


def _url(path: Path) -> str:
    return f"crush::file://{path}"


@pytest.mark.parametrize("compression", ["infer", "crush"])
def test_fsspec_open_reads_text_by_extension_or_name(csv_pair: tuple[Path, Path],
                                                     compression: str) -> None:
    plain, packed = csv_pair
    with fsspec.open(str(packed), "rt", compression=compression) as f:
        assert f.read() == plain.read_text()


def test_fsspec_open_writes_a_crush_file(tmp_path: Path) -> None:
    # fsspec calls the callback with mode "w"; the result must be a real crush frame.
    target = tmp_path / "out.txt.crush"
    with fsspec.open(str(target), "wt", compression="infer") as f:
        f.write("hello\n" * 1000)
    assert crush.decompress(target.read_bytes()) == b"hello\n" * 1000


def test_open_compressed_accepts_fsspec_and_binary_modes(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with crush_fsspec.open_compressed(buf, "wb", plugin="lz4") as f:
        f.write(b"abc" * 100)
    assert crush.inspect(buf.getvalue()).plugin == "lz4"
    buf.seek(0)
    with crush_fsspec.open_compressed(buf, "r") as f:
        assert f.read() == b"abc" * 100


def test_pandas_reads_through_fsspec(csv_pair: tuple[Path, Path]) -> None:
    plain, packed = csv_pair
    expected = pd.read_csv(plain)
    pd.testing.assert_frame_equal(pd.read_csv(_url(packed)), expected)
    with fsspec.open(str(packed), "rb", compression="infer") as f:
        pd.testing.assert_frame_equal(pd.read_csv(f), expected)


def test_dask_to_csv_writes_crush_files(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": range(1000), "b": [i * 0.5 for i in range(1000)]})
    parts = dd.from_pandas(frame, npartitions=3)
    parts.to_csv(str(tmp_path / "part-*.csv.crush"), compression="crush", index=False,
                 compute_kwargs={"scheduler": "sync"})
    files = sorted(tmp_path.glob("part-*.csv.crush"))
    assert len(files) == 3
    back = pd.concat(pd.read_csv(io.BytesIO(crush.decompress(p.read_bytes()))) for p in files)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), frame)


def test_filesystem_lists_one_file_with_the_true_size(csv_pair: tuple[Path, Path]) -> None:
    plain, packed = csv_pair
    fs = fsspec.filesystem("crush", fo=str(packed))
    size = plain.stat().st_size
    assert packed.stat().st_size < size
    assert fs.ls("", detail=False) == ["data.csv"]
    assert fs.info("data.csv")["size"] == size
    assert fs.info("")["size"] == size  # what a crush::URL chain asks for
    with pytest.raises(FileNotFoundError):
        fs.open("other.csv")
    with pytest.raises(NotImplementedError):
        fs.open("data.csv", "wb")


def test_block_table_matches_the_frames(tmp_path: Path) -> None:
    # Two concatenated frames by two plugins, one of them empty in between.
    first, second = os.urandom(5000) + b"a" * 20_000, b"b" * 70_000
    path = tmp_path / "cat.crush"
    path.write_bytes(crush.compress(first, plugin="zstd", block_size=4096)
                     + crush.compress(b"", plugin="lz4")
                     + crush.compress(second, plugin="deflate", block_size=10_000))
    with path.open("rb") as f:
        table = crush_fsspec.block_table(f)
    assert table.size == len(first) + len(second)
    sizes = [b.size for b in table.blocks]
    assert sizes == [4096] * 6 + [424] + [10_000] * 7
    assert list(table.starts) == [sum(sizes[:i]) for i in range(len(sizes))]
    assert table.block_at(4095).content_offset == 0
    assert table.block_at(4096).content_offset == 4096
    assert table.block_at(table.size - 1) is table.blocks[-1]


@pytest.mark.parametrize("version", [1, 2])
def test_every_block_of_the_table_resumes_decoding_at_its_offset(
    tmp_path: Path, version: int
) -> None:
    # The table is where _BlockReader resumes: each entry must start a
    # decoder at exactly its block (v2: from the footers; v1: the record walk).
    content = random.Random(9).randbytes(30_000) + b"z" * 50_000
    parts = [make_golden.compress(content, "zstd", 7000, version=version),
             make_golden.compress(content[:9000], "lz4", 4000, version=version)]
    path = tmp_path / "two.crush"
    path.write_bytes(b"".join(parts))
    whole = content + content[:9000]
    with path.open("rb") as fp:
        table = crush_fsspec.block_table(fp)
        assert table.size == len(whole)
        assert len(table.blocks) == 12 + 3
        for start in table.blocks:
            fp.seek(start.file_offset)
            decoder = engine.FrameDecoder(FileSource(fp, start.file_offset),
                                          options(None, 1, None, None), resume=start)
            try:
                block = bytes(next(iter(decoder)))
            finally:
                decoder.close()
            assert block == whole[start.content_offset : start.content_offset + start.size]


@settings(max_examples=60, deadline=None)
@given(offsets=st.lists(st.integers(0, 260_000), min_size=1, max_size=8),
       length=st.integers(0, 30_000))
def test_seek_and_read_anywhere_matches_the_content(tmp_path_factory: pytest.TempPathFactory,
                                                    offsets: list[int], length: int) -> None:
    # 264800 bytes: 26 blocks of 10_000 and a short one; the random ones are stored raw.
    content = random.Random(5).randbytes(60_000) + bytes(range(256)) * 800
    path = tmp_path_factory.getbasetemp() / "seek.crush"
    if not path.exists():
        path.write_bytes(crush.compress(content, plugin="zstd", block_size=10_000))
    fs = crush_fsspec.CrushFileSystem(str(path), skip_instance_cache=True)
    with fs.open("seek") as f:
        for offset in offsets:
            assert f.seek(offset) == offset
            assert f.read(length) == content[offset : offset + length]
            assert f.tell() == min(offset + length, max(offset, len(content)))


def test_truncated_or_corrupt_file_raises_crush_errors(tmp_path: Path) -> None:
    blob = crush.compress(b"xyz" * 50_000, plugin="zstd", block_size=8192)
    truncated = tmp_path / "cut.crush"
    truncated.write_bytes(blob[:-20])
    with pytest.raises(crush.TruncatedFrameError):
        crush_fsspec.CrushFileSystem(str(truncated)).info("")
    # Flip a byte inside a block's payload: the walk skips payloads, the read checks them.
    damaged = bytearray(blob)
    damaged[len(damaged) // 2] ^= 0xFF
    bad = tmp_path / "bad.crush"
    bad.write_bytes(damaged)
    fs = crush_fsspec.CrushFileSystem(str(bad))
    with fs.open("bad") as f, pytest.raises(crush.CrushError):
        f.read()
    not_crush = tmp_path / "plain.crush"
    not_crush.write_bytes(b"hello world")
    with pytest.raises(crush.FormatError):
        crush_fsspec.CrushFileSystem(str(not_crush)).info("")


def test_rewritten_file_gets_a_new_table(tmp_path: Path) -> None:
    path = tmp_path / "x.crush"
    path.write_bytes(crush.compress(b"a" * 100))
    fs = crush_fsspec.CrushFileSystem(str(path))
    assert fs.info("")["size"] == 100
    os.utime(path, ns=(1, 1))  # so the rewrite below changes the mtime, whatever the clock
    key = fs.ukey("")
    assert fs.ukey("x") == key  # the one file, by its name
    path.write_bytes(crush.compress(os.urandom(3000)))
    assert fs.info("")["size"] == 3000
    assert fs.ukey("") != key


def test_dask_read_csv_splits_one_crush_file(csv_pair: tuple[Path, Path]) -> None:
    plain, packed = csv_pair
    expected = pd.read_csv(plain)
    for url in (_url(packed), f"crush::{packed}"):
        frame = dd.read_csv(url, blocksize=256 << 10)
        assert frame.npartitions >= 10
        got = frame.compute(scheduler="threads").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)


def test_register_refuses_someone_elses_crush_compression(monkeypatch: pytest.MonkeyPatch) -> None:
    from fsspec import compression
    from fsspec import utils
    from fsspec.registry import _registry

    monkeypatch.setitem(compression.compr, "crush", lambda f, **kw: f)
    with pytest.raises(ValueError, match="Duplicate compression"):
        crush_fsspec.register()
    monkeypatch.undo()
    monkeypatch.delitem(compression.compr, "crush")
    monkeypatch.setitem(utils.compressions, "crush", "other")
    with pytest.raises(ValueError, match="Duplicate compression file extension"):
        crush_fsspec.register()
    monkeypatch.undo()
    monkeypatch.setitem(_registry, "crush", type("Other", (), {}))
    with pytest.raises(ValueError, match="already in the registry"):
        crush_fsspec.register()
    monkeypatch.undo()
    crush_fsspec.register()  # and repeating our own registration is fine
    assert compression.compr["crush"] is crush_fsspec.open_compressed
    assert utils.compressions["crush"] == "crush"


def test_fresh_interpreter_finds_the_filesystem_by_entry_point(
        csv_pair: tuple[Path, Path]) -> None:
    # Nothing imports crush: fsspec loads the class from the fsspec.specs entry point.
    plain, packed = csv_pair
    code = ("import sys, fsspec\n"
            f"data = fsspec.open({_url(packed)!r}, 'rb').open().read()\n"
            "print(len(data), 'crush' in fsspec.available_compressions())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.split() == [str(plain.stat().st_size), "True"]


def test_threads_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRUSH_THREADS", raising=False)
    assert crush_fsspec.threads_from_env() is None
    assert crush_fsspec.threads_from_env(3) == 3
    monkeypatch.setenv("CRUSH_THREADS", "2")
    assert crush_fsspec.threads_from_env() == 2
    monkeypatch.setenv("CRUSH_THREADS", "zero")
    with pytest.raises(crush.ConfigError):
        crush_fsspec.threads_from_env()


def test_threads_reach_the_filesystem_through_storage_options(
        csv_pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, packed = csv_pair
    monkeypatch.setenv("CRUSH_THREADS", "1")
    fs, path = fsspec.core.url_to_fs(_url(packed), threads=3)
    assert isinstance(fs, crush_fsspec.CrushFileSystem)
    assert (path, fs._opts.threads) == ("", 3)
    fs, _ = fsspec.core.url_to_fs(_url(packed), skip_instance_cache=True)
    assert fs._opts.threads == 1
