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
DIRS = {1: GOLDEN, 2: GOLDEN / "v2"}
"""Golden files per frame version: v1 (written by crush before v2) stays readable."""
MANIFESTS: dict[int, dict[str, Any]] = {
    v: json.loads((d / "manifest.json").read_text(encoding="utf-8")) for v, d in DIRS.items()
}
MANIFEST = MANIFESTS[1]
INPUT = (GOLDEN / MANIFEST["input"]["file"]).read_bytes()
ALL = {f"v{v}/{name}": (v, name) for v, m in MANIFESTS.items() for name in m["files"]}
REGENERATE = "regenerate with `.venv/bin/python tools/make_golden.py [--version 1]`"


def _file(key: str) -> tuple[bytes, dict[str, Any], int]:
    version, name = ALL[key]
    return (DIRS[version] / name).read_bytes(), MANIFESTS[version]["files"][name], version


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _compiled_in() -> set[str]:
    return {p.name for p in crush.list_plugins()}


@pytest.mark.parametrize("version", sorted(DIRS))
def test_input_matches_manifest(version: int) -> None:
    manifest = MANIFESTS[version]
    assert (DIRS[version] / manifest["input"]["file"]).read_bytes() == INPUT
    assert len(INPUT) == manifest["input"]["size"]
    assert _sha256(INPUT) == manifest["input"]["sha256"]
    assert manifest["format_version"] == version
    assert version in crush.frame.VERSIONS


@pytest.mark.parametrize("version", sorted(DIRS))
def test_manifest_lists_every_golden_file(version: int) -> None:
    on_disk = {p.name for p in DIRS[version].glob("*.crush")}
    assert on_disk == set(MANIFESTS[version]["files"]), (
        f"{DIRS[version]} and its manifest.json disagree; {REGENERATE}")


@pytest.mark.parametrize("name", sorted(ALL))
def test_golden_file_is_unchanged(name: str) -> None:
    blob, entry, _ = _file(name)
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
@pytest.mark.parametrize("name", sorted(ALL))
def test_golden_file_decodes(name: str, threads: int | None, decoder: str) -> None:
    decode = DECODERS[decoder]
    blob, entry, _ = _file(name)
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


@pytest.mark.parametrize("name", sorted(ALL))
def test_golden_file_inspects(name: str) -> None:
    blob, entry, version = _file(name)
    report = crush.inspect(blob)
    expected = entry["frames"]
    assert len(report.frames) == len(expected)
    for got, want in zip(report.frames, expected, strict=True):
        assert got.plugin == want["plugin"]
        assert got.plugin_id == want["plugin_id"]
        assert got.version == version
        assert got.block_size == want["block_size"]
        assert got.blocks == want["blocks"]
        assert got.raw_blocks == want["raw_blocks"]
        assert got.original_size == want["original_size"]
        assert got.compressed_size == want["compressed_size"]
        assert got.content_crc == want["content_crc"]
        assert got.info == crush.FileInfo(**want["info"])
    assert report.compressed_size == len(blob)
    assert report.original_size == entry["content_size"]
    assert crush.read_index(blob).size == entry["content_size"]


@pytest.mark.parametrize("version", sorted(DIRS))
def test_every_plugin_has_a_golden_file(version: int) -> None:
    files = MANIFESTS[version]["files"]
    for plugin in crush.list_plugins():
        name = f"{plugin.name}.crush"
        assert name in files, f"plugin {plugin.name!r} has no v{version} golden file; {REGENERATE}"
        (frame,) = files[name]["frames"]
        assert (frame["plugin"], frame["plugin_id"]) == (plugin.name, plugin.plugin_id)


@pytest.mark.parametrize("version", sorted(DIRS))
@pytest.mark.parametrize("plugin", sorted(_compiled_in()))
def test_plugin_golden_file_has_raw_and_compressed_blocks(plugin: str, version: int) -> None:
    (frame,) = MANIFESTS[version]["files"][f"{plugin}.crush"]["frames"]
    assert frame["blocks"] >= 3
    if crush.get_plugin(plugin).metadata.ratio < 1:
        assert 1 <= frame["raw_blocks"] < frame["blocks"]
    else:  # the store plugin keeps every block raw
        assert frame["raw_blocks"] == frame["blocks"]
    assert frame["original_size"] == len(INPUT)
    assert frame["content_crc"] == zlib.crc32(INPUT)
    assert frame["info"] == {"name": None, "mtime_ns": None, "mode": None}


@pytest.mark.parametrize("version", sorted(DIRS))
def test_fileinfo_golden_file_stores_metadata(version: int) -> None:
    report = crush.inspect((DIRS[version] / "fileinfo.crush").read_bytes())
    assert report.frames[0].info == crush.FileInfo(
        name="données.bin", mtime_ns=1_700_000_000_123_456_789, mode=0o640
    )


@pytest.mark.parametrize("version", sorted(DIRS))
def test_concat_golden_file_has_two_frames(version: int) -> None:
    blob = (DIRS[version] / "concat.crush").read_bytes()
    frames = crush.inspect(blob).frames
    assert [f.plugin for f in frames] == ["deflate", "lzma"]
    assert sum(f.original_size for f in frames) == len(INPUT)
    first = frames[0].compressed_size
    assert crush.decompress(blob[:first]) == INPUT[: frames[0].original_size]
    assert crush.decompress(blob[first:]) == INPUT[frames[0].original_size :]


@pytest.mark.parametrize(("version", "size"), [(1, 26), (2, 58)])
def test_empty_golden_file_has_no_blocks(version: int, size: int) -> None:
    blob = (DIRS[version] / "empty.crush").read_bytes()
    assert len(blob) == size
    assert crush.inspect(blob).frames[0].blocks == 0
