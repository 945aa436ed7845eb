"""Decode the stored golden frames in tests/golden/ on every run.

The files are written only by ``tools/make_golden.py``; a test never rewrites
them. A change to crush that can no longer read them breaks frames users
already have on disk: fix crush, do not regenerate the files, unless the
format version changes on purpose.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import crush

GOLDEN = Path(__file__).resolve().parent / "golden"
MANIFEST: dict[str, Any] = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))
FILES: dict[str, dict[str, Any]] = MANIFEST["files"]
INPUT = (GOLDEN / MANIFEST["input"]["file"]).read_bytes()
REGENERATE = "regenerate with `.venv/bin/python tools/make_golden.py`"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _compiled_in() -> set[str]:
    return {p.name for p in crush.list_plugins()}


def test_input_matches_manifest() -> None:
    assert len(INPUT) == MANIFEST["input"]["size"]
    assert _sha256(INPUT) == MANIFEST["input"]["sha256"]
    assert MANIFEST["format_version"] == crush.frame.VERSION


def test_manifest_lists_every_golden_file() -> None:
    on_disk = {p.name for p in GOLDEN.glob("*.crush")}
    assert on_disk == set(FILES), f"tests/golden/ and manifest.json disagree; {REGENERATE}"


@pytest.mark.parametrize("name", sorted(FILES))
def test_golden_file_is_unchanged(name: str) -> None:
    blob = (GOLDEN / name).read_bytes()
    entry = FILES[name]
    assert len(blob) == entry["size"]
    assert _sha256(blob) == entry["sha256"], f"{name} changed without manifest.json; {REGENERATE}"


def _decompress(blob: bytes, threads: int | None) -> bytes:
    return crush.decompress(blob, threads=threads)


def _open(blob: bytes, threads: int | None) -> bytes:
    with crush.open(io.BytesIO(blob), "rb", threads=threads) as f:
        return f.read()


DECODERS: dict[str, Callable[[bytes, int | None], bytes]] = {
    "decompress": _decompress,
    "open": _open,
}


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("threads", [1, None])
@pytest.mark.parametrize("name", sorted(FILES))
def test_golden_file_decodes(name: str, threads: int | None, decoder: str) -> None:
    decode = DECODERS[decoder]
    blob = (GOLDEN / name).read_bytes()
    entry = FILES[name]
    missing = [f["plugin"] for f in entry["frames"] if f["plugin"] not in _compiled_in()]
    if missing:
        # A build without the plugin must say which one is missing, not fail obscurely.
        with pytest.raises(crush.PluginNotFoundError, match=missing[0]):
            decode(blob, threads)
        return
    content = decode(blob, threads)
    assert len(content) == entry["content_size"]
    assert _sha256(content) == entry["content_sha256"]
    if entry["content_size"]:
        assert content == INPUT
    else:
        assert content == b""


@pytest.mark.parametrize("name", sorted(FILES))
def test_golden_file_inspects(name: str) -> None:
    blob = (GOLDEN / name).read_bytes()
    report = crush.inspect(blob)
    expected = FILES[name]["frames"]
    assert len(report.frames) == len(expected)
    for got, want in zip(report.frames, expected, strict=True):
        assert got.plugin == want["plugin"]
        assert got.plugin_id == want["plugin_id"]
        assert got.version == crush.frame.VERSION
        assert got.block_size == want["block_size"]
        assert got.blocks == want["blocks"]
        assert got.raw_blocks == want["raw_blocks"]
        assert got.original_size == want["original_size"]
        assert got.compressed_size == want["compressed_size"]
        assert got.content_crc == want["content_crc"]
        assert got.info == crush.FileInfo(**want["info"])
    assert report.compressed_size == len(blob)
    assert report.original_size == FILES[name]["content_size"]


def test_every_plugin_has_a_golden_file() -> None:
    for plugin in crush.list_plugins():
        name = f"{plugin.name}.crush"
        assert name in FILES, f"plugin {plugin.name!r} has no golden file; {REGENERATE}"
        (frame,) = FILES[name]["frames"]
        assert (frame["plugin"], frame["plugin_id"]) == (plugin.name, plugin.plugin_id)


@pytest.mark.parametrize("plugin", sorted(_compiled_in()))
def test_plugin_golden_file_has_raw_and_compressed_blocks(plugin: str) -> None:
    (frame,) = FILES[f"{plugin}.crush"]["frames"]
    assert frame["blocks"] >= 3
    if crush.get_plugin(plugin).metadata.ratio < 1:
        assert 1 <= frame["raw_blocks"] < frame["blocks"]
    else:  # the store plugin keeps every block raw
        assert frame["raw_blocks"] == frame["blocks"]
    assert frame["original_size"] == len(INPUT)
    assert frame["content_crc"] == zlib.crc32(INPUT)
    assert frame["info"] == {"name": None, "mtime_ns": None, "mode": None}


def test_fileinfo_golden_file_stores_metadata() -> None:
    report = crush.inspect((GOLDEN / "fileinfo.crush").read_bytes())
    assert report.frames[0].info == crush.FileInfo(
        name="données.bin", mtime_ns=1_700_000_000_123_456_789, mode=0o640
    )


def test_concat_golden_file_has_two_frames() -> None:
    blob = (GOLDEN / "concat.crush").read_bytes()
    frames = crush.inspect(blob).frames
    assert [f.plugin for f in frames] == ["deflate", "lzma"]
    assert sum(f.original_size for f in frames) == len(INPUT)
    first = frames[0].compressed_size
    assert crush.decompress(blob[:first]) == INPUT[: frames[0].original_size]
    assert crush.decompress(blob[first:]) == INPUT[frames[0].original_size :]


def test_empty_golden_file_has_no_blocks() -> None:
    blob = (GOLDEN / "empty.crush").read_bytes()
    assert len(blob) == 26
    assert crush.inspect(blob).frames[0].blocks == 0
