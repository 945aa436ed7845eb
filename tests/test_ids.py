"""Plugin ids: the documented ranges and table, and the error for an id this build lacks."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import crush
from crush import frame
from crush.contract import BUILTIN_IDS
from crush.contract import THIRD_PARTY_IDS
from crush.registry import KNOWN_IDS
from crush.registry import REGISTERED_IDS

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "PLUGINS.md").read_text(encoding="utf-8")


def _empty_frame(plugin_id: int) -> bytes:
    return frame.encode_header(plugin_id, 1 << 20, None) + frame.encode_end(0, 0)


def test_a_registered_third_party_id_names_the_plugin_and_how_to_build_it_in() -> None:
    with pytest.raises(crush.PluginNotFoundError) as caught:
        crush.decompress(_empty_frame(0x80))
    message = str(caught.value)
    assert "made by plugin id 0x80 ('snappy', a third-party plugin)" in message
    assert "pip install crush-snappy" in message
    assert 'class = "crush_snappy.plugin:SnappyPlugin"' in message
    assert "plugins.toml and rebuild" in message
    assert caught.value.plugin_id == 0x80 and caught.value.plugin == "snappy"


def test_an_unknown_id_says_to_add_its_plugin_and_rebuild() -> None:
    with pytest.raises(crush.PluginNotFoundError) as caught:
        crush.decompress(_empty_frame(0x81))
    assert "made by plugin id 0x81" in str(caught.value)
    assert "add the third-party plugin that owns this id to plugins.toml and rebuild" in str(
        caught.value)


def test_the_ranges_split_the_byte() -> None:
    assert range(0x00, 0x80) == BUILTIN_IDS and range(0x80, 0x100) == THIRD_PARTY_IDS
    assert all(pid in THIRD_PARTY_IDS for pid in REGISTERED_IDS)


def test_docs_table_lists_every_assigned_id() -> None:
    rows = dict(re.findall(r"^\| `0x([0-9A-F]{2})` \| (\S+) \|", DOC, re.MULTILINE))
    assigned = {**{pid: name for pid, (name, _) in KNOWN_IDS.items()},
                **{pid: name for pid, (name, _, _) in REGISTERED_IDS.items()}}
    assert {int(pid, 16): name for pid, name in rows.items()} == assigned


def test_the_example_plugin_takes_its_registered_id() -> None:
    pytest.importorskip("cramjam")
    sys.path.insert(0, str(REPO / "examples" / "crush-snappy"))
    try:
        from crush_snappy import SnappyPlugin  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    name, _, target = REGISTERED_IDS[SnappyPlugin.plugin_id]
    assert name == SnappyPlugin.name
    assert target == "crush_snappy.plugin:SnappyPlugin"
