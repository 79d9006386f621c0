"""The Ray executor on a real local Ray cluster (127.0.0.1, 2 CPUs): same stored metrics as the local
executor bit for bit, a worker killed mid-job is retried with its attempt recorded, an application error
is a failed run while the grid goes on, and Ctrl-C cancels the jobs in flight. Skipped without Ray."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from glues_bench.executor import LocalExecutor, RayExecutor
from glues_bench.runner import RunOptions, run_benchmark
from glues_bench.store import open_store
from glues_bench.store.store import file_sha256
from glues_bench.tasks import get_task
from glues_bench.train import finetune
from tests.test_runner import DEMO, _grid, submission  # noqa: F401  (fixture)

ray = pytest.importorskip("ray", reason="Ray not installed (pip install -e '.[ray]')")
pytestmark = pytest.mark.slow  # a local cluster, worker kills and sleeps: about 40 s; CI runs `-m slow` too


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}},
    )
    yield
    ray.shutdown()


def _options(tmp_path: Path, name: str, seeds: int = 2) -> RunOptions:
    return RunOptions(
        grid=_grid(tmp_path / "grid.yaml", [1e-3, 5e-4]),
        seeds=seeds,
        data_dir=DEMO,
        device="cpu",
        artifacts_dir=tmp_path / f"p-{name}",
        progress=False,
        threads=1,
        limit=16,
    )


def test_ray_grid_stores_the_local_executors_metrics_bit_for_bit(
    ray_cluster,
    submission,  # noqa: F811
    tmp_path: Path,
) -> None:
    stored = {}
    for name, executor in (("local", LocalExecutor()), ("ray", RayExecutor(cpus_per_job=1))):
        store = open_store(f"sqlite:///{tmp_path / f'{name}.db'}")
        summaries = run_benchmark(
            store, [submission], [get_task(t) for t in ("pawsx", "pos")], _options(tmp_path, name, seeds=1),
            executor=executor, echo=lambda _: None,
        )  # fmt: skip
        assert [(s.ran, s.failed, s.skipped) for s in summaries] == [(2, 0, 0)] * 2
        runs = store.snapshot().runs
        assert len(runs) == 4 and len({(r.task, r.hparams_hash, r.seed) for r in runs}) == 4  # 0 lost, 0 dup
        for run in runs:  # written by the driver from what the worker returned, hash matching the file
            assert {p.split for p in run.predictions} == {"dev", "test"}
            assert all(file_sha256(Path(p.path)) == p.sha256 for p in run.predictions)
        stored[name] = {(r.task, r.hparams_hash, r.seed): r.metrics for r in runs}
        if name == "ray":
            assert {r.details["executor"]["attempt"] for r in runs} == {1}
    assert stored["ray"] == stored["local"]  # == on floats: bit for bit


def _finetune_killed_once(marker_dir: Path, *args, **kwargs):
    """Train for real, then (first attempt of the first config only) SIGKILL this Ray worker mid-job."""
    result = finetune(*args, **kwargs)
    hparams, seed = args[4], args[5]
    marker = marker_dir / f"{hparams.learning_rate}-{seed}"
    if hparams.learning_rate == 1e-3 and seed == 42 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return result


def test_a_ray_worker_killed_mid_job_is_retried_and_every_run_done_once(
    ray_cluster,
    submission,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    [summary] = run_benchmark(
        store, [submission], [get_task("pawsx")], _options(tmp_path, "kill"), executor=RayExecutor(),
        finetune_fn=partial(_finetune_killed_once, tmp_path), echo=lambda _: None,
    )  # fmt: skip
    assert (summary.ran, summary.failed) == (4, 0)
    runs = store.snapshot().runs
    assert len(runs) == 4 and {r.status for r in runs} == {"done"}
    assert all(r.attempt == 1 for r in runs)  # one claim each: the retry happened inside Ray
    attempts = sorted((r.hparams["learning_rate"], r.seed, r.details["executor"]["attempt"]) for r in runs)
    assert attempts == [(5e-4, 42, 1), (5e-4, 43, 1), (1e-3, 42, 2), (1e-3, 43, 1)]
    killed_pid = int((tmp_path / "0.001-42").read_text())
    retried = next(r for r in runs if r.details["executor"]["attempt"] == 2)
    assert retried.details["executor"]["pid"] != killed_pid


def _finetune_failing_for_one_config(*args, **kwargs):
    if args[4].learning_rate == 5e-4:
        raise ValueError("bad config for this model")
    return finetune(*args, **kwargs)


def test_an_application_error_is_a_failed_run_and_the_grid_goes_on(
    ray_cluster,
    submission,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    [summary] = run_benchmark(
        store, [submission], [get_task("pawsx")], _options(tmp_path, "err"), executor=RayExecutor(),
        finetune_fn=_finetune_failing_for_one_config, echo=lambda _: None,
    )  # fmt: skip
    assert (summary.ran, summary.failed) == (2, 2)
    failed = [r for r in store.snapshot().runs if r.status == "failed"]
    assert {r.error.rstrip().splitlines()[-1] for r in failed} == {"ValueError: bad config for this model"}
    assert {r.hparams["learning_rate"] for r in failed} == {5e-4}


@dataclass(frozen=True)
class _Work:
    run_id: int
    data: object
    marker: Path


def _slow_job(work: _Work) -> None:
    time.sleep(6)
    work.marker.write_text("finished")  # only if nobody cancelled the job


def test_ctrl_c_in_the_driver_cancels_the_ray_jobs_in_flight(ray_cluster, tmp_path: Path) -> None:
    works = [_Work(i, "task data", tmp_path / f"done-{i}") for i in range(3)]
    stream = RayExecutor(max_in_flight=2).map(_slow_job, iter(works))
    threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        next(stream)  # the driver waits in ray.wait when Ctrl-C arrives; the executor cancels in flight
    assert time.monotonic() - started < 5
    time.sleep(8)  # longer than a job: a job that was not cancelled would have written its marker
    assert not any(w.marker.exists() for w in works)
