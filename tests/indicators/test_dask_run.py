"""Scale-out: the JHU run with dask-backed cubes on a dask.distributed LocalCluster writes the in-memory run's files."""

import distributed
import pytest

from delphi_signals.errors import InputError
from delphi_signals.indicators.jhu.constants import GEO_RES, signal_names
from delphi_signals.indicators.jhu.run import run_module

ISSUE = "2020-11-30"
DAYS = ("20201128", "20201129", "20201130")


def params_for(realdata, root, **indicator):
    return {"common": {"export_dir": str(root / "export"), "input_dir": str(root / "input"), "issue_date": ISSUE},
            "indicator": {"base_url": str(realdata / "jhu_csse" / "time_series_covid19_{metric}_US.csv"),
                          "export_start_date": "2020-11-28", **indicator}}


@pytest.fixture(scope="module")
def client():
    # worker processes, one thread each: numba's kernels never run from two threads of one process (its
    # fork-safe workqueue layer, which the tests use, is not thread-safe; threaded workers hung the full suite)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="2GiB",
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def both_runs(realdata, tmp_path_factory, client):
    in_memory = tmp_path_factory.mktemp("numpy")
    on_dask = tmp_path_factory.mktemp("dask")
    numpy_paths = run_module(params_for(realdata, in_memory))
    dask_paths = run_module(params_for(realdata, on_dask, chunks=700))
    return in_memory / "export", numpy_paths, on_dask / "export", dask_paths, client


def test_the_dask_run_writes_byte_identical_files(both_runs):
    _, numpy_paths, dask_dir, dask_paths, _ = both_runs
    expected = {f"{day}_{geo}_{signal}.csv" for day in DAYS for geo in GEO_RES for signal in signal_names()}
    assert {p.name for p in numpy_paths} == expected  # 3 days x 6 levels x 12 signals
    assert [p.name for p in dask_paths] == [p.name for p in numpy_paths]
    different = [p.name for p in numpy_paths if (dask_dir / p.name).read_bytes() != p.read_bytes()]
    assert different == []
    assert sum(p.stat().st_size for p in dask_paths) > 100_000  # thousands of county rows, not empty files


def test_the_cluster_did_the_work(both_runs):
    *_, client = both_runs
    # each worker of the two records the tasks it ran; the dask run's graphs went through the cluster
    logs = client.run(lambda dask_worker: len(dask_worker.state.log))
    assert len(logs) == 2
    assert sum(logs.values()) > 0


def test_chunks_must_be_a_positive_count(realdata, tmp_path):
    with pytest.raises(InputError, match="indicator.chunks"):
        run_module(params_for(realdata, tmp_path, chunks="many"))
