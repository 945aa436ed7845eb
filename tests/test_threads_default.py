"""The default thread count follows the CPUs this process may use, and CRUSH_THREADS."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import crush
from crush import _cpus
from crush.execution import default_threads

REPO = Path(__file__).resolve().parent.parent
PRINT_DEFAULT = "from crush.execution import default_threads; print(default_threads())"


def _default_in(argv_prefix: list[str], env: dict[str, str] | None = None) -> str:
    full_env = {k: v for k, v in os.environ.items() if k != "CRUSH_THREADS"}
    full_env.update(env or {})
    proc = subprocess.run([*argv_prefix, sys.executable, "-c", PRINT_DEFAULT], cwd=REPO,
                          env=full_env, capture_output=True, text=True, timeout=60, check=False)
    return (proc.stdout + proc.stderr).strip()


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs CPU affinity (Linux)")
def test_a_process_pinned_to_one_cpu_defaults_to_one_thread() -> None:
    taskset = shutil.which("taskset")
    if taskset is None:
        pytest.skip("taskset (util-linux) is not installed")
    assert _default_in([taskset, "-c", "0"]) == "1"


def test_the_default_is_the_usable_cpus_capped() -> None:
    expected = min(len(os.sched_getaffinity(0)), _cpus.cgroup_cpu_limit() or 10**6,
                   _cpus.MAX_DEFAULT_THREADS)
    assert _default_in([]) == str(expected)


def test_crush_threads_sets_the_default_for_library_calls() -> None:
    assert _default_in([], {"CRUSH_THREADS": "3"}) == "3"
    assert _default_in([], {"CRUSH_THREADS": " 1 "}) == "1"
    assert _default_in([], {"CRUSH_THREADS": ""}) == _default_in([])


@pytest.mark.parametrize("bad", ["0", "-2", "many", "1.5"])
def test_an_invalid_crush_threads_is_a_config_error(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRUSH_THREADS", bad)
    with pytest.raises(crush.ConfigError, match="CRUSH_THREADS"):
        crush.compress(b"data", plugin="deflate")
    assert crush.compress(b"data", plugin="deflate", threads=2)  # an explicit count wins


def test_crush_threads_is_used_by_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRUSH_THREADS", "1")
    assert default_threads() == 1
    data = bytes(range(256)) * 2000
    assert crush.decompress(crush.compress(data, plugin="zstd")) == data


@pytest.mark.parametrize(("files", "expected"), [
    ({"cpu.max": "150000 100000"}, 2),
    ({"cpu.max": "50000 100000"}, 1),
    ({"cpu.max": "max 100000"}, None),
    ({"cpu/cpu.cfs_quota_us": "300000", "cpu/cpu.cfs_period_us": "100000"}, 3),
    ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
    ({}, None),
])
def test_cgroup_quota_files_are_read(
    files: dict[str, str], expected: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    monkeypatch.setattr(_cpus, "CGROUP_ROOT", str(tmp_path))
    _cpus.cgroup_cpu_limit.cache_clear()
    try:
        assert _cpus.cgroup_cpu_limit() == expected
    finally:
        _cpus.cgroup_cpu_limit.cache_clear()
