"""crush.integrations.numcodecs against numcodecs' own codec checks (numcodecs.tests.common)."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import numcodecs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from numcodecs.tests import common

import crush
from crush.integrations.numcodecs import Crush
from crush.integrations.numcodecs import register
from tools import make_numcodecs_fixtures as fixtures

ARRAYS = fixtures.arrays()
CODECS = fixtures.codecs()


@pytest.mark.parametrize("codec", CODECS, ids=repr)
@pytest.mark.parametrize("index", range(len(ARRAYS)))
def test_check_encode_decode(codec: Crush, index: int) -> None:
    common.check_encode_decode(ARRAYS[index], codec)


@pytest.mark.parametrize("codec", CODECS, ids=repr)
def test_check_config(codec: Crush) -> None:
    common.check_config(codec)


def test_check_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    # check_repr evals in its own module, which star-imports numcodecs' codecs:
    # make the name visible there, as a numcodecs built-in would be.
    monkeypatch.setattr(common, "Crush", Crush, raising=False)
    common.check_repr("Crush(block_size=None, level=None, plugin=None, threads=1)")
    common.check_repr("Crush(block_size=65536, level='best', plugin='zstd', threads=4)")


def test_check_backwards_compatibility(monkeypatch: pytest.MonkeyPatch) -> None:
    # numcodecs writes any fixture that is missing; refuse to run then, so the
    # check always compares against committed files (tools/make_numcodecs_fixtures.py).
    root = fixtures.FIXTURE_ROOT / "fixture" / "crush"
    missing = [f"array.{i:02d}.npy" for i in range(len(ARRAYS))
               if not (root / f"array.{i:02d}.npy").exists()]
    missing += [f"codec.{j:02d}/{name}" for j in range(len(CODECS))
                for name in ["config.json", *(f"encoded.{i:02d}.dat" for i in range(len(ARRAYS)))]
                if not (root / f"codec.{j:02d}" / name).exists()]
    assert not missing, f"run tools/make_numcodecs_fixtures.py: missing {missing}"
    before = sorted(p.name for p in root.rglob("*"))
    monkeypatch.chdir(fixtures.FIXTURE_ROOT)
    common.check_backwards_compatibility("crush", ARRAYS, CODECS)
    assert sorted(p.name for p in root.rglob("*")) == before


def test_fixtures_name_their_plugins() -> None:
    # The committed frames really are crush frames made by the configured plugin.
    root = fixtures.FIXTURE_ROOT / "fixture" / "crush"
    for j, codec in enumerate(CODECS):
        if codec.plugin is None or codec.plugin == "store":
            continue
        assert crush.inspect((root / f"codec.{j:02d}" / "encoded.00.dat").read_bytes()).plugin \
            == codec.plugin


def test_get_codec_finds_crush_by_entry_point_in_a_fresh_interpreter() -> None:
    code = ("import numcodecs, sys\n"
            "c = numcodecs.get_codec({'id': 'crush', 'plugin': 'lz4'})\n"
            "print(type(c).__module__, c.decode(c.encode(b'abc' * 99)) == b'abc' * 99)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.split() == ["crush.integrations.numcodecs", "True"]


def test_register_makes_get_codec_work() -> None:
    register()
    codec = numcodecs.get_codec({"id": "crush", "plugin": "zstd", "level": 1})
    assert codec == Crush(plugin="zstd", level=1)


@pytest.mark.parametrize("bad", [
    {"plugin": "nope"}, {"plugin": "zstd", "level": 99}, {"level": 3}, {"block_size": 0},
    {"threads": 0},
])
def test_bad_options_are_refused_at_construction(bad: dict[str, object]) -> None:
    with pytest.raises(crush.CrushError):
        Crush(**bad)  # type: ignore[arg-type]


def test_decode_into_out_checks_its_size() -> None:
    codec = Crush(plugin="zstd")
    blob = codec.encode(np.arange(1000, dtype="i8"))
    with pytest.raises(crush.OutputLimitError):
        codec.decode(blob, out=np.empty(999, dtype="i8"))
    with pytest.raises(crush.ConfigError):
        codec.decode(blob, out=np.empty(1001, dtype="i8"))
    out = np.empty(1000, dtype="i8")
    assert codec.decode(blob, out=out) is out
    assert (out == np.arange(1000)).all()


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), cut=st.integers(0, 5000), flip=st.integers(0, 5000))
def test_damaged_input_raises_only_crush_errors(data: bytes, cut: int, flip: int) -> None:
    blob = bytearray(Crush(plugin="deflate", block_size=512).encode(data))
    damaged = blob[: cut % (len(blob) + 1)]
    if damaged:
        damaged[flip % len(damaged)] ^= 0x55
    with contextlib.suppress(crush.CrushError):
        Crush().decode(bytes(damaged))

