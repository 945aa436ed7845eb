"""crush.integrations.zarr: a Zarr v3 array written with the crush codec reads back equal."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import crush
from crush.integrations.zarr import CrushCodec
from crush.integrations.zarr import register


def _write(path: Path, data: np.ndarray, codec: CrushCodec) -> None:
    array = zarr.create_array(str(path), shape=data.shape, chunks=(50, 40), dtype=data.dtype,
                              compressors=[codec], overwrite=True)
    array[...] = data


DATA = np.random.default_rng(3).normal(size=(200, 120)).round(3)


def test_array_round_trips_in_process_and_chunks_are_crush_frames(tmp_path: Path) -> None:
    path = tmp_path / "a.zarr"
    _write(path, DATA, CrushCodec(plugin="zstd", level=5, block_size=4096))
    back = zarr.open_array(str(path), mode="r")
    np.testing.assert_array_equal(back[...], DATA)
    assert back.compressors == (CrushCodec(plugin="zstd", level=5, block_size=4096),)
    chunk = (path / "c" / "1" / "2").read_bytes()
    assert crush.inspect(chunk).plugin == "zstd"
    assert len(crush.decompress(chunk)) == 50 * 40 * 8


def test_array_reads_back_in_a_fresh_interpreter(tmp_path: Path) -> None:
    # The fresh process imports neither crush nor the codec: Zarr finds it by entry point.
    path = tmp_path / "b.zarr"
    _write(path, DATA, CrushCodec(plugin="lz4"))
    code = ("import sys, zarr, numpy as np\n"
            f"a = zarr.open_array({str(path)!r}, mode='r')[...]\n"
            "np.save(sys.stdout.buffer, a)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120,
                         check=True)
    np.testing.assert_array_equal(np.load(io.BytesIO(out.stdout)), DATA)


def test_metadata_names_the_codec_and_its_options(tmp_path: Path) -> None:
    codec = CrushCodec(plugin="deflate", level="best")
    assert codec.to_dict() == {"name": "crush", "configuration": {
        "plugin": "deflate", "level": "best", "block_size": None, "threads": 1}}
    assert CrushCodec.from_dict(codec.to_dict()) == codec
    assert CrushCodec.from_dict({"name": "crush"}) == CrushCodec()


def test_register_makes_the_name_resolve() -> None:
    from zarr.registry import get_codec_class

    register()
    assert get_codec_class("crush") is CrushCodec


def test_bad_options_fail_at_construction() -> None:
    with pytest.raises(crush.PluginNotFoundError):
        CrushCodec(plugin="nope")
    with pytest.raises(crush.ConfigError):
        CrushCodec(plugin="zstd", level=1000)


@settings(max_examples=15, deadline=None)
@given(data=hnp.arrays(dtype=st.sampled_from(["u1", "i4", "f8", "<u2"]),
                       shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=90)),
       plugin=st.sampled_from(["zstd", "lz4", "deflate", "store", None]))
def test_any_array_round_trips(tmp_path_factory: pytest.TempPathFactory, data: np.ndarray,
                               plugin: str | None) -> None:
    path = tmp_path_factory.mktemp("z") / "h.zarr"
    array = zarr.create_array(str(path), shape=data.shape, chunks=tuple(max(1, s // 2)
                              for s in data.shape), dtype=data.dtype,
                              compressors=[CrushCodec(plugin=plugin, block_size=256)])
    array[...] = data
    np.testing.assert_array_equal(zarr.open_array(str(path), mode="r")[...], data)
