"""codegen's ``[[format]]`` entries: shape checks, class checks, rendering, --check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codegen import CodegenError
from codegen.config import load_config
from codegen.errors import Problem
from codegen.formats import check_formats
from codegen.formats import resolve_formats

REPO = Path(__file__).resolve().parent.parent
BASE = (REPO / "plugins.toml").read_text(encoding="utf-8")
PLUGINS_ONLY = BASE[: BASE.index("[[format]]")]


def problems(entries: object) -> list[str]:
    """Return the messages check_formats reports for *entries*."""
    found: list[Problem] = []
    check_formats("plugins.toml", entries, found)
    return [f"{p.entry}: {p.message}" for p in found]


def test_no_format_entries_is_valid() -> None:
    assert problems(None) == []


@pytest.mark.parametrize(("entries", "expected"), [
    ([{"name": "gzip", "class": "crush.formats.gzip:GzipFormat", "level": 3}],
     "unknown key 'level'"),
    ([{"name": "Gzip", "class": "crush.formats.gzip:GzipFormat"}], "lower-case"),
    ([{"name": "crush", "class": "crush.formats.gzip:GzipFormat"}], "other than 'crush'"),
    ([{"name": "gzip", "class": "crush.formats.gzip"}], 'must be "module:Class"'),
    ([{"name": "gzip", "class": "a:B"}, {"name": "gzip", "class": "a:B"}], "listed twice"),
    ({"name": "gzip"}, "array of tables"),
])
def test_bad_entries_are_named(entries: object, expected: str) -> None:
    found = problems(entries)
    assert found and expected in found[-1], found


@pytest.mark.parametrize(("target", "expected"), [
    ("crush.formats.nope:GzipFormat", "does not import"),
    ("crush.formats.gzip:ZlibMember", "ZlibMember.name"),
    ("crush.formats.bgzf:BgzfFormat", "BgzfFormat.name is 'bgzf'"),
])
def test_bad_classes_are_refused(target: str, expected: str) -> None:
    from codegen.formats import FormatEntry

    module, _, cls = target.partition(":")
    with pytest.raises(CodegenError) as info:
        resolve_formats("plugins.toml", (FormatEntry(1, "gzip", module, cls),))
    assert expected in str(info.value)


def test_config_reads_formats_in_order(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(BASE, encoding="utf-8")
    names = [f.name for f in load_config(path).formats]
    assert names == ["gzip", "bgzf", "zstd", "xz", "bz2", "lz4"]


def test_rendered_registry_lists_only_the_chosen_formats(tmp_path: Path) -> None:
    config = tmp_path / "plugins.toml"
    config.write_text(PLUGINS_ONLY + '[[format]]\nname = "zstd"\n'
                      'class = "crush.formats.zstd:ZstdFormat"\n', encoding="utf-8")
    out = tmp_path / "registry.py"
    env = {k: v for k, v in os.environ.items() if k != "CRUSH_PLUGINS_TOML"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-m", "codegen", "--config", str(config),
                           "--output", str(out)], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert "        ZstdFormat(),\n" in text
    assert "GzipFormat" not in text
    config.write_text(PLUGINS_ONLY, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "codegen", "--config", str(config),
                           "--output", str(out)], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "def formats() -> tuple[()]:" in out.read_text(encoding="utf-8")
