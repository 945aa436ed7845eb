"""crush on a real Dask distributed cluster: 2 worker processes, 1 thread each.

Workers learn about crush only through CrushWorkerPlugin (client.register_plugin),
which the module fixture checks by asking the workers before and after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dask.bag as db
import dask.dataframe as dd
import pandas as pd
import pytest
from distributed import Client
from distributed import LocalCluster
from distributed import get_task_stream

import crush
from crush.integrations.dask import Compressed
from crush.integrations.dask import CrushWorkerPlugin
from crush.integrations.dask import compress_file
from crush.integrations.dask import register
from tools.csvdata import write_csv


def _worker_state() -> tuple[bool, str | None]:
    # Runs on a worker: is compression="crush" known there, and its threads?
    from fsspec.compression import compr

    return "crush" in compr, os.environ.get("CRUSH_THREADS")


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A 2-process cluster whose workers were taught crush by the plugin (checked)."""
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        before = client.run(_worker_state)
        assert len(before) == 2
        assert all(not known for known, _ in before.values()), \
            f"workers knew crush before the plugin: {before}"
        register(client, threads=1)
        yield client


def test_plugin_registered_crush_and_threads_on_every_worker(client: Client) -> None:
    after = client.run(_worker_state)
    assert len(after) == 2
    assert set(after.values()) == {(True, "1")}


def test_plugin_refuses_bad_threads() -> None:
    with pytest.raises(ValueError, match="threads"):
        CrushWorkerPlugin(threads=0)


@pytest.mark.slow
def test_read_csv_splits_a_256_mib_crush_file_across_workers(client: Client,
                                                            tmp_path: Path) -> None:
    plain = tmp_path / "big.csv"
    write_csv(plain, 256 << 20, seed=11)
    packed = tmp_path / "big.csv.crush"
    with plain.open("rb") as fin, packed.open("wb") as fout:
        crush.compress_stream(fin, fout, plugin="zstd", level=1)
    frame = dd.read_csv(f"crush::{packed}", blocksize="64MiB")
    assert frame.npartitions >= 4
    with get_task_stream(client) as stream:
        got = client.compute(frame).result()
    workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2, f"all partitions ran on {workers}"
    expected = pd.read_csv(plain)
    assert len(expected) > 5_000_000
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)


def test_to_csv_with_crush_compression_runs_on_workers(client: Client, tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": range(20_000), "b": [i / 7 for i in range(20_000)]})
    dd.from_pandas(frame, npartitions=4).to_csv(str(tmp_path / "out-*.csv.crush"),
                                                compression="crush", index=False)
    files = sorted(tmp_path.glob("out-*.csv.crush"))
    assert len(files) == 4
    back = pd.concat(pd.read_csv(f"crush::file://{p}") for p in files)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), frame)


def _make_dir(root: Path, count: int) -> list[str]:
    root.mkdir()
    paths = []
    for i in range(count):
        path = root / f"f{i}.log"
        path.write_bytes(b"".join(b"%d line of file %d %s\n" % (n, i, os.urandom(4).hex().encode())
                                  for n in range(20_000)))
        paths.append(str(path))
    return paths


def _check(results: list[Compressed]) -> None:
    for result in results:
        source, target = Path(result.source), Path(result.target)
        assert target.name == source.name + ".crush"
        assert crush.decompress(target.read_bytes()) == source.read_bytes()
        assert result.bytes_in == source.stat().st_size
        assert result.bytes_out == target.stat().st_size < result.bytes_in
        assert not target.with_name(target.name + ".part").exists()


def test_client_map_compresses_a_directory_in_parallel(client: Client, tmp_path: Path) -> None:
    paths = _make_dir(tmp_path / "logs", 8)
    with get_task_stream(client) as stream:
        results = client.gather(client.map(compress_file, paths, plugin="zstd"))
    assert len({task["worker"] for task in stream.data}) == 2
    _check(results)


def test_bag_compresses_a_directory(client: Client, tmp_path: Path) -> None:
    paths = _make_dir(tmp_path / "more", 4)
    results = db.from_sequence(paths, npartitions=4).map(compress_file, plugin="lz4").compute()
    _check(results)
    assert {crush.inspect(Path(r.target).read_bytes()).plugin for r in results} == {"lz4"}


def test_compress_file_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"abc")
    with pytest.raises(crush.PluginNotFoundError):
        compress_file(source, plugin="nope")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
