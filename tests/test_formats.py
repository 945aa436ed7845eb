"""Standard formats: crush reads what real tools write and real tools read what crush writes.

The CLIs (gzip, pigz, zstd, xz, bzip2, lz4, bgzip) are installed with apt
when missing; a test skips only when apt cannot install them, and says so.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import shutil
import subprocess
import sys
from pathlib import Path

import apt_packages
import pytest
import zstandard
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import crush

REPO = Path(__file__).resolve().parent.parent
PACKAGES = {"gzip": "gzip", "pigz": "pigz", "zstd": "zstd", "xz": "xz-utils",
            "bzip2": "bzip2", "lz4": "lz4", "bgzip": "tabix"}
TEXT = b"".join(b"line %d of the sample, with some words repeated\n" % i for i in range(40000))
SIZES = [0, 1, 65279, 65280, 65281, (1 << 20) + 7]


@pytest.fixture(scope="session")
def tools() -> dict[str, str | None]:
    """Return every CLI by name, installing missing ones with apt (None when that fails)."""
    found = {name: shutil.which(name) for name in PACKAGES}
    missing = sorted({PACKAGES[n] for n, path in found.items() if path is None})
    if missing:
        apt_packages.install(*missing)
        found = {name: shutil.which(name) for name in PACKAGES}
    return found


def tool(tools: dict[str, str | None], name: str) -> str:
    """Return the CLI *name* or skip, saying apt could not install it."""
    path = tools[name]
    if path is None:
        pytest.skip(f"{name} is not installed and apt-get could not install {PACKAGES[name]}")
    return path


def run(args: list[str], data: bytes) -> bytes:
    """Return what the real tool writes to stdout for *data* on stdin."""
    return subprocess.run(args, input=data, capture_output=True, check=True, timeout=120).stdout


WRITERS = {
    "gzip": ["gzip", "-c"], "pigz": ["pigz", "-c", "-p", "2"], "zstd": ["zstd", "-c", "-q"],
    "xz": ["xz", "-c", "-T2"], "bzip2": ["bzip2", "-c"], "lz4": ["lz4", "-c", "-q"],
    "bgzip": ["bgzip", "-c"],
}
READERS = {"gzip": [["gzip", "-dc"], ["pigz", "-dc"], ["bgzip", "-dc"]],
           "bgzf": [["gzip", "-dc"], ["bgzip", "-dc"], ["pigz", "-dc"]],
           "zstd": [["zstd", "-dcq"]]}


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("size", SIZES)
def test_crush_reads_what_the_real_tool_writes(tools: dict[str, str | None], writer: str,
                                               size: int) -> None:
    exe = tool(tools, writer)
    data = TEXT[:size]
    packed = run([exe, *WRITERS[writer][1:]], data)
    assert crush.decompress(packed) == data
    assert crush.decompress(packed, threads=1) == data
    assert crush.decompress(packed + packed) == data + data
    with crush.open(io.BytesIO(packed)) as f:
        assert f.read() == data
        f.seek(size // 2)
        assert f.read(100) == data[size // 2 : size // 2 + 100]
    out = io.BytesIO()
    crush.decompress_stream(io.BytesIO(packed), out)
    assert out.getvalue() == data


@pytest.mark.parametrize("fmt", sorted(READERS))
@pytest.mark.parametrize("size", SIZES)
def test_real_tools_read_what_crush_writes(tools: dict[str, str | None], fmt: str,
                                           size: int) -> None:
    data = TEXT[:size]
    packed = crush.compress(data, format=fmt, block_size=1 << 18)
    for args in READERS[fmt]:
        assert run([tool(tools, args[0]), *args[1:]], packed) == data, args
    if fmt != "zstd":
        assert gzip.decompress(packed) == data
        subprocess.run([tool(tools, "gzip"), "-t"], input=packed, check=True)
    else:
        dctx = zstandard.ZstdDecompressor()
        assert dctx.decompressobj(read_across_frames=True).decompress(packed) == data


EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def test_bgzf_is_byte_compatible_in_layout(tools: dict[str, str | None], tmp_path: Path) -> None:
    packed = crush.compress(TEXT, format="bgzf")
    assert packed.endswith(EOF_BLOCK)
    (tmp_path / "a.gz").write_bytes(packed)
    subprocess.run([tool(tools, "bgzip"), "-t", str(tmp_path / "a.gz")], check=True)
    # Every member declares BSIZE and holds at most 65280 bytes, as bgzip's do.
    reference = run([tool(tools, "bgzip"), "-c"], TEXT)
    assert packed[:16] == reference[:16]


def test_python_libraries_read_back() -> None:
    for data in (b"", b"x", TEXT):
        assert crush.decompress(lzma.compress(data)) == data
        assert crush.decompress(bz2.compress(data) * 2) == data * 2
        assert crush.decompress(gzip.compress(data) + b"\0" * 10) == data


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=3000), fmt=st.sampled_from(["gzip", "bgzf", "zstd"]),
       block=st.integers(1, 2000))
def test_round_trip(data: bytes, fmt: str, block: int) -> None:
    packed = crush.compress(data, format=fmt, block_size=block)
    assert crush.decompress(packed) == data
    if fmt != "zstd":
        assert gzip.decompress(packed) == data
    with crush.open(io.BytesIO(packed)) as f:
        f.seek(len(data) // 3)
        assert f.read() == data[len(data) // 3 :]


CORPUS = {
    "gzip": gzip.compress(TEXT[:50000]),
    "crush-gzip": crush.compress(TEXT[:50000], format="gzip", block_size=8000),
    "bgzf": crush.compress(TEXT[:50000], format="bgzf"),
    "zstd": crush.compress(TEXT[:50000], format="zstd", block_size=8000),
    "zstd-plain": zstandard.ZstdCompressor(write_checksum=True).compress(TEXT[:50000]),
    "xz": lzma.compress(TEXT[:50000]),
    "bz2": bz2.compress(TEXT[:50000]),
}


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(CORPUS)), data=st.data())
def test_damage_raises_only_crush_errors(name: str, data: st.DataObject) -> None:
    packed = bytearray(CORPUS[name])
    how = data.draw(st.sampled_from(["flip", "truncate", "garbage"]))
    if how == "flip":
        at = data.draw(st.integers(0, len(packed) - 1))
        packed[at] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        del packed[data.draw(st.integers(1, len(packed) - 1)) :]
    else:
        packed += data.draw(st.binary(min_size=1, max_size=20)).replace(b"\0", b"\1")
    try:
        out = crush.decompress(bytes(packed))
    except crush.CrushError:
        return
    # A flip may land where no check covers it (a gzip header's mtime, a
    # seek table crush then ignores); a cut at a unit boundary leaves a
    # shorter valid file (zstd, multi-member gzip have no end marker).
    # Either way what comes out is the content or a prefix of it.
    assert how != "garbage"
    assert TEXT[:50000].startswith(out)
    assert how == "truncate" or len(out) == 50000


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_max_output_size_is_enforced(name: str) -> None:
    with pytest.raises(crush.OutputLimitError):
        crush.decompress(CORPUS[name], max_output_size=1000)
    assert len(crush.decompress(CORPUS[name], max_output_size=50000)) == 50000


def test_bomb_stops_at_the_limit() -> None:
    bomb = zstandard.ZstdCompressor().compress(bytes(1 << 28))
    with pytest.raises(crush.OutputLimitError):
        crush.decompress(bomb, max_output_size=1 << 20)
    with pytest.raises(crush.OutputLimitError):
        crush.decompress(gzip.compress(bytes(1 << 26)), max_output_size=1 << 20)


def test_unknown_format_name_is_a_config_error() -> None:
    with pytest.raises(crush.ConfigError, match="gzip"):
        crush.compress(b"x", format="rar")
    with pytest.raises(crush.ConfigError):
        crush.compress(b"x", format="xz")


def test_a_build_with_only_the_gzip_format(tmp_path: Path) -> None:
    shutil.copytree(REPO / "crush", tmp_path / "crush")
    shutil.copytree(REPO / "codegen", tmp_path / "codegen")
    text = (REPO / "plugins.toml").read_text(encoding="utf-8")
    text = text[: text.index("[[format]]")] + (
        '[[format]]\nname = "gzip"\nclass = "crush.formats.gzip:GzipFormat"\n')
    (tmp_path / "plugins.toml").write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CRUSH_PLUGINS_TOML", None)
    subprocess.run([sys.executable, "-m", "codegen"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    script = (
        "import crush, gzip, zstandard\n"
        "from crush._registry import formats\n"
        "assert [f.name for f in formats()] == ['gzip'], formats()\n"
        "assert crush.decompress(gzip.compress(b'abc')) == b'abc'\n"
        "assert crush.decompress(crush.compress(b'abc', format='gzip')) == b'abc'\n"
        "try:\n    crush.decompress(zstandard.compress(b'abc'))\n"
        "except crush.FormatError: pass\nelse: raise SystemExit('zstd read')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True)


def test_gzi_index_is_what_bgzip_makes(tools: dict[str, str | None], tmp_path: Path) -> None:
    from crush.formats.bgzf import make_gzi

    path = tmp_path / "a.gz"
    path.write_bytes(crush.compress(TEXT, format="bgzf"))
    subprocess.run([tool(tools, "bgzip"), "-r", str(path)], check=True)
    assert make_gzi(path.read_bytes()) == (tmp_path / "a.gz.gzi").read_bytes()


@pytest.mark.parametrize("with_gzi", [False, True])
def test_bgzf_seeks_by_unit(tmp_path: Path, with_gzi: bool) -> None:
    from crush.formats.bgzf import make_gzi

    path = tmp_path / "a.gz"
    path.write_bytes(crush.compress(TEXT, format="bgzf"))
    if with_gzi:
        (tmp_path / "a.gz.gzi").write_bytes(make_gzi(path.read_bytes()))
    with crush.open(path) as f:
        for at in (1_000_000, 10, 1_500_000, 65280, 65279, len(TEXT) - 3, 5):
            f.seek(at)
            assert f.read(300) == TEXT[at : at + 300], at
        assert f.seek(0, io.SEEK_END) == len(TEXT)


def test_zstd_seeks_with_its_seek_table() -> None:
    packed = crush.compress(TEXT, format="zstd", block_size=100_000)
    with crush.open(io.BytesIO(packed)) as f:
        for at in (1_000_000, 10, 999_999, len(TEXT) - 1):
            f.seek(at)
            assert f.read(50) == TEXT[at : at + 50]


def test_a_lying_seek_table_is_corrupt_without_a_large_allocation() -> None:
    from crush.formats.zstd import seek_table

    frame = zstandard.ZstdCompressor().compress(b"abc")
    lying = frame + seek_table([(len(frame), 0xFFFFFFFF)])
    with pytest.raises(crush.CorruptFrameError):
        crush.decompress(lying)
    with pytest.raises(crush.OutputLimitError):
        crush.decompress(lying, max_output_size=100)


@pytest.mark.parametrize("fmt", ["gzip", "bgzf", "zstd"])
def test_inspect_and_list_report_sizes(fmt: str) -> None:
    packed = crush.compress(TEXT, format=fmt, file_info=crush.FileInfo(name="a.txt",
                                                                       mtime_ns=10**18))
    report = crush.inspect(packed)
    assert (report.plugin, report.original_size, report.compressed_size) == (
        "gzip" if fmt != "zstd" else "zstd", len(TEXT), len(packed))
    if fmt == "gzip":
        assert report.frames[0].info.name == "a.txt"
        assert report.frames[0].info.mtime_ns == 10**18
    from crush.api import inspect_stream

    frames = list(inspect_stream(io.BytesIO(packed)))
    assert frames[0].original_size == len(TEXT)


MAGICS = [b"\x1f\x8b\x08", b"\x1f\x8b\x08\x04\0\0\0\0\0\xff\x06\0BC\x02\0", b"\x28\xb5\x2f\xfd",
          b"\x50\x2a\x4d\x18", b"\xfd7zXZ\x00", b"BZh9", b"\x04\x22\x4d\x18"]


@settings(max_examples=500, deadline=None)
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=200))
def test_random_bytes_after_a_magic_raise_only_crush_errors(magic: bytes, tail: bytes) -> None:
    for threads in (1, 2):
        with contextlib.suppress(crush.CrushError):
            crush.decompress(magic + tail, threads=threads, max_output_size=1 << 20)
        with contextlib.suppress(crush.CrushError), crush.open(io.BytesIO(magic + tail)) as f:
            f.read()


def test_levels_and_presets() -> None:
    assert len(crush.compress(TEXT, format="gzip", level="best")) <= len(
        crush.compress(TEXT, format="gzip", level="fast"))
    with pytest.raises(crush.ConfigError):
        crush.compress(TEXT, format="gzip", level=42)
    with pytest.raises(crush.ConfigError):
        crush.open(io.BytesIO(), "wb", format="zstd", level=99)
    out = io.BytesIO()
    with crush.open(out, "wt", format="gzip", encoding="utf-8") as f:
        f.write("héllo\n" * 1000)
    assert gzip.decompress(out.getvalue()) == "héllo\n".encode() * 1000


def test_pyzstd_seekable_file_both_ways() -> None:
    pyzstd = pytest.importorskip("pyzstd")  # the dev extra installs it
    packed = crush.compress(TEXT, format="zstd", block_size=100_000)
    with pyzstd.SeekableZstdFile(io.BytesIO(packed)) as f:
        f.seek(1_000_000)
        assert f.read(50) == TEXT[1_000_000:1_000_050]
    out = io.BytesIO()
    with pyzstd.SeekableZstdFile(out, "w", max_frame_content_size=50_000) as w:
        w.write(TEXT)
    with crush.open(io.BytesIO(out.getvalue())) as r:
        r.seek(900_000)
        assert r.read(50) == TEXT[900_000:900_050]
    assert crush.decompress(out.getvalue()) == TEXT


def test_compression_zstd_both_ways() -> None:
    if sys.version_info >= (3, 14):
        from compression import zstd
    else:
        zstd = pytest.importorskip("backports.zstd")  # the dev extra installs it
    assert zstd.decompress(crush.compress(TEXT, format="zstd")) == TEXT
    assert crush.decompress(zstd.compress(TEXT)) == TEXT


class _Pipe:
    """A binary reader that can neither seek nor peek (a socket-like object)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._data.read(n)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize("packed", [gzip.compress(TEXT), crush.compress(TEXT),
                                    crush.compress(TEXT, format="zstd"), lzma.compress(TEXT)],
                         ids=["gzip", "crush", "zstd", "xz"])
def test_readers_that_cannot_peek_or_seek(packed: bytes) -> None:
    with crush.open(_Pipe(packed)) as f:
        f.seek(1000)  # forward seeks decode ahead
        assert f.read() == TEXT[1000:]
    out = io.BytesIO()
    crush.decompress_stream(_Pipe(packed), out)
    assert out.getvalue() == TEXT


@pytest.mark.parametrize("fmt", ["gzip", "zstd"])
def test_a_read_error_is_sticky_until_a_seek(fmt: str) -> None:
    packed = bytearray(crush.compress(TEXT, format=fmt, block_size=100_000))
    packed[len(packed) // 2] ^= 0xFF
    with crush.open(io.BytesIO(bytes(packed))) as f:
        with pytest.raises(crush.CrushError):
            f.read()
        with pytest.raises(crush.CrushError):
            f.read(10)
        f.seek(0)
        assert f.read(100) == TEXT[:100]
