"""Scaling out on one database (issue 12 items 2-3, issue 13 items 1, 2 and 8's temp files): cooperating
`run` processes with leases, a kill inside a PID namespace, stuck-run CLI, predictions paths unique per
run key, micro-batching with gradient accumulation, and the multi-process local executor."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
import torch
from sqlalchemy import update

from glues_bench.cli import main
from glues_bench.executor import LocalExecutor
from glues_bench.runner import RunOptions, load_task_data, run_benchmark
from glues_bench.store import open_store
from glues_bench.store.models import Run
from glues_bench.store.store import _now, file_sha256
from glues_bench.tasks import get_task
from glues_bench.tasks.spec import HParams
from glues_bench.train import build_tiny_checkpoint, finetune
from tests.test_runner import DEMO, _grid, submission  # noqa: F401  (fixture)

finetune_module = importlib.import_module("glues_bench.train.finetune")  # the package exports the function
CLI = "import sys; from glues_bench.cli import main; sys.exit(main(sys.argv[1:]))"


def _run_argv(submission, tmp_path: Path, grid: str, *extra: str) -> list[str]:  # noqa: F811
    return [
        sys.executable, "-c", CLI, "run", "--tasks", "pawsx", "--grid", grid,
        "--db", f"sqlite:///{tmp_path / 'runs.db'}", "--data-dir", str(DEMO),
        "--submissions-dir", str(submission.base_dir), "--artifacts-dir", str(tmp_path / "p"),
        "--device", "cpu", "--threads", "1", "--no-progress", "--limit", "16", *extra,
    ]  # fmt: skip


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute("select hparams_hash, seed, status, attempt, pid from runs").fetchall()


def _statuses(db: Path) -> list[str]:
    try:
        return [r[2] for r in _rows(db)] if db.exists() else []
    except sqlite3.OperationalError:  # the file exists, its tables not yet
        return []


@pytest.mark.slow  # over 20 s: processes that each import torch
def test_four_run_processes_on_one_sqlite_db_split_the_grid(submission, tmp_path: Path) -> None:  # noqa: F811
    rates = [1e-3, 9e-4, 8e-4, 7e-4, 6e-4, 5e-4, 4e-4, 3e-4]  # an 8-job grid
    argv = _run_argv(submission, tmp_path, _grid(tmp_path / "grid.yaml", rates))
    processes = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)]
    outputs = [p.communicate(timeout=600)[0].decode() for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, outputs
    rows = _rows(tmp_path / "runs.db")
    assert len(rows) == 8 and len({(r[0], r[1]) for r in rows}) == 8  # every job, no duplicate
    assert {r[2] for r in rows} == {"done"}  # none failed
    assert {r[3] for r in rows} == {1}  # each ran exactly once: nobody redid another's job


@pytest.mark.slow  # over 20 s: processes that each import torch
def test_a_run_killed_as_pid_1_of_a_container_is_reclaimed_after_its_lease(
    submission,  # noqa: F811
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("setsid") is None:
        pytest.skip("needs root and util-linux unshare/setsid for a PID namespace")
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"PID namespaces unavailable here: {probe.stderr.decode().strip()}")
    grid = _grid(tmp_path / "grid.yaml", [1e-3, 5e-4, 2e-4], epochs=[3])
    argv = _run_argv(submission, tmp_path, grid, "--lease-seconds", "2")
    # As a container entrypoint runs: in its own PID namespace, where the harness is pid 1 or 2.
    contained = subprocess.Popen(
        ["setsid", "unshare", "--pid", "--fork", "--mount-proc", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = tmp_path / "runs.db"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        statuses = _statuses(db)
        if "done" in statuses and "running" in statuses:
            break
        time.sleep(0.2)
    else:
        contained.kill()
        pytest.fail("the contained run never got going")
    os.killpg(contained.pid, signal.SIGKILL)  # setsid made it a group leader: the whole container dies
    contained.wait()
    stuck = [r for r in _rows(db) if r[2] == "running"]
    assert stuck and stuck[0][4] <= 2  # the pid it recorded means nothing outside its namespace
    time.sleep(2.5)  # its lease (2 s after the last heartbeat) has expired

    assert subprocess.run(argv, capture_output=True, timeout=300).returncode == 0
    rows = _rows(db)
    assert len(rows) == 3 and {r[2] for r in rows} == {"done"}
    assert sorted(r[3] for r in rows)[-1] == 2  # the killed run was redone, once


def _store_options(tmp_path: Path, **overrides) -> RunOptions:
    if "grid" not in overrides:  # written only when not given: the caller's grid file stays as it wrote it
        overrides["grid"] = _grid(tmp_path / "grid2.yaml", [1e-3, 5e-4])
    fields = {
        "data_dir": DEMO,
        "device": "cpu",
        "artifacts_dir": tmp_path / "p",
        "progress": False,
        "threads": 1,
        "limit": 16,
    }
    return RunOptions(**{**fields, **overrides})


def test_a_live_claim_from_another_host_is_left_alone_and_an_expired_one_redone(
    submission,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    options = _store_options(tmp_path)
    [first] = run_benchmark(store, [submission], [get_task("pawsx")], options, echo=lambda _: None)
    assert first.ran == 2
    held, other = (r.id for r in store.snapshot().runs)
    with store.session() as session:  # another machine's process is working on `held` right now
        session.execute(
            update(Run)
            .where(Run.id == held)
            .values(status="running", host="gpu-node-7", pid=1, owner="gpu-node-7:1:abc",
                    lease_expires_at=_now() + timedelta(minutes=5))
        )  # fmt: skip
    always = _store_options(tmp_path, overwrite="always")
    messages: list[str] = []
    [second] = run_benchmark(store, [submission], [get_task("pawsx")], always, echo=messages.append)
    assert (second.ran, second.busy, second.failed) == (1, 1, 0)
    assert store.get_run(held).owner == "gpu-node-7:1:abc" and store.get_run(other).attempt == 2
    assert any("held by other live processes" in m for m in messages)
    with store.session() as session:  # that machine died: nothing renews its lease any more
        session.execute(
            update(Run).where(Run.id == held).values(lease_expires_at=_now() - timedelta(seconds=1))
        )
    [third] = run_benchmark(store, [submission], [get_task("pawsx")], options, echo=lambda _: None)
    assert (third.ran, third.busy) == (1, 0)
    redone = store.get_run(held)
    assert (redone.status, redone.attempt) == ("done", 2)
    assert redone.details["reclaimed_from"] == "gpu-node-7:1:abc"


def test_runs_list_and_release_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_store import key

    db = f"sqlite:///{tmp_path / 'r.db'}"
    with open_store(db) as store:
        store.upsert_submission("tiny", origin="in-house", checkpoint_sha256="a" * 64)
        live = store.start_run(key(seed=1), spec_version=1)
        dead = store.start_run(key(seed=2), spec_version=1, owner="box:1:x")
        with store.session() as session:
            session.execute(update(Run).where(Run.id == dead).values(lease_expires_at=_now() - timedelta(1)))
    assert main(["runs", "list", "--db", db]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in listing] == [str(live), str(dead)]
    assert (
        listing[0].endswith("lease live") and listing[1].endswith("lease EXPIRED") and "box:1:x" in listing[1]
    )
    assert main(["runs", "release", "--expired", "--db", db]) == 0
    assert f"released 1 run(s): {dead}" in capsys.readouterr().out
    assert main(["runs", "release", str(live), "--db", db]) == 2  # a live lease needs --force
    assert "live lease" in capsys.readouterr().err
    assert main(["runs", "release", str(live), "--force", "--db", db]) == 0
    assert main(["runs", "list", "--db", db]) == 0 and "no running runs" in capsys.readouterr().out
    with open_store(db) as store:
        assert {store.get_run(i).status for i in (live, dead)} == {"failed"}


def test_two_limits_into_one_artefacts_dir_keep_both_runs_hashes_valid(
    submission,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    grid = _grid(tmp_path / "grid.yaml", [1e-3])
    for limit in (32, 16):
        options = _store_options(tmp_path, grid=grid, limit=limit)
        run_benchmark(store, [submission], [get_task("pawsx")], options, echo=lambda _: None)
    runs = store.snapshot().runs
    assert len(runs) == 2
    paths = [p.path for run in runs for p in run.predictions]
    assert len(set(paths)) == 4  # dev and test of two runs: no file shared
    for run in runs:
        for artefact in run.predictions:
            assert file_sha256(Path(artefact.path)) == artefact.sha256
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    assert main(["runs", "verify", "--db", db]) == 0
    assert "checked 4 predictions file(s): 4 ok, 0 bad" in capsys.readouterr().out
    Path(paths[0]).write_text("{}", encoding="utf-8")  # an edit after the fact is caught
    assert main(["runs", "verify", "--db", db]) == 1
    assert "does not match its stored sha256" in capsys.readouterr().err


def test_partial_predictions_files_from_a_killed_run_are_removed_on_the_next_run(
    submission,  # noqa: F811
    tmp_path: Path,
) -> None:
    leftover = tmp_path / "p" / "tiny-test" / "pawsx-default" / "x-seed42" / "dev.predictions.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_text('{"0": ', encoding="utf-8")  # killed between write and rename
    old = time.time() - 3600
    os.utime(leftover, (old, old))
    fresh = leftover.with_name("test.predictions.tmp")  # a cooperating process writing right now
    fresh.write_text("{", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    messages: list[str] = []
    options = _store_options(tmp_path, grid=_grid(tmp_path / "grid.yaml", [1e-3]))
    run_benchmark(store, [submission], [get_task("pawsx")], options, echo=messages.append)
    assert not leftover.exists() and fresh.exists()
    assert any("removed 1 partial predictions file" in m for m in messages)


def _interrupting_finetune(*_args, **_kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_marks_the_run_in_flight_interrupted(submission, tmp_path: Path) -> None:  # noqa: F811
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    options = _store_options(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(
            store, [submission], [get_task("pawsx")], options, finetune_fn=_interrupting_finetune,
            echo=lambda _: None,
        )  # fmt: skip
    [run] = store.snapshot().runs  # the second job was never claimed
    assert (run.status, run.error) == ("failed", "interrupted")


# -- micro-batching -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def no_dropout_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ALBERT without dropout: then micro-batches must reproduce the whole batch's numbers (with
    dropout they draw other masks, so only the expectation matches)."""
    texts = DEMO.joinpath("pawsx/translated_train.tsv").read_text(encoding="utf-8").splitlines()
    path = build_tiny_checkpoint(tmp_path_factory.mktemp("nodrop") / "tiny", texts, "albert", vocab_size=600)
    config = json.loads((path / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0)
    (path / "config.json").write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("task_name", ["pos", "pawsx"])  # token-weighted and example-weighted losses
def test_micro_batches_of_8_accumulate_to_the_losses_of_batch_32(no_dropout_checkpoint, task_name) -> None:
    torch.set_num_threads(1)
    task = get_task(task_name).resolve()
    data = load_task_data(task, DEMO, 64)
    hparams = HParams(batch_size=32, learning_rate=1e-3, epochs=2)
    run = partial(finetune, task, no_dropout_checkpoint, data.train.dataset, data.dev.dataset, hparams, 42)
    whole = run(progress=False)
    same = run(progress=False, max_device_batch=32)
    micro = run(progress=False, max_device_batch=8)
    assert len(whole.train_loss) == 4
    assert same.train_loss == whole.train_loss  # B == batch: the plain loop, bit for bit
    assert same.batching == {
        "batch_size": 32,
        "micro_batch_size": 32,
        "accumulation_steps": 1,
        "oom_retries": 0,
    }
    assert micro.train_loss == pytest.approx(whole.train_loss, rel=1e-5, abs=1e-6)
    assert micro.batching["accumulation_steps"] == 4 and micro.batching["micro_batch_size"] == 8


def test_cuda_out_of_memory_retries_once_with_half_the_micro_batch(
    monkeypatch, no_dropout_checkpoint
) -> None:
    plans = []
    real_train = finetune_module._train

    def train_that_runs_out_of_memory(*args):
        plans.append(args[-1])
        if len(plans) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_train(*args)

    monkeypatch.setattr(finetune_module, "_train", train_that_runs_out_of_memory)
    task = get_task("pawsx").resolve()
    data = load_task_data(task, DEMO, 16)
    result = finetune(
        task, no_dropout_checkpoint, data.train.dataset, data.dev.dataset,
        HParams(batch_size=16, learning_rate=1e-3, epochs=1), 42, progress=False, max_device_batch=8,
    )  # fmt: skip
    assert [p.micro_batch_size for p in plans] == [8, 4]
    assert result.batching == {
        "batch_size": 16,
        "micro_batch_size": 4,
        "accumulation_steps": 4,
        "oom_retries": 1,
    }


# -- several jobs at once on one machine --------------------------------------------------------------


@pytest.mark.slow  # over 20 s: processes that each import torch
def test_local_jobs_2_stores_the_same_metrics_as_one_at_a_time(submission, tmp_path: Path) -> None:  # noqa: F811
    results = []
    for jobs in (1, 2):
        store = open_store(f"sqlite:///{tmp_path / f'jobs{jobs}.db'}")
        options = _store_options(tmp_path, artifacts_dir=tmp_path / f"p{jobs}")
        [summary] = run_benchmark(
            store, [submission], [get_task("pawsx")], options, executor=LocalExecutor(jobs=jobs, threads=1),
            echo=lambda _: None,
        )  # fmt: skip
        assert (summary.ran, summary.failed) == (2, 0)
        results.append({(r.hparams_hash, r.seed): r.metrics for r in store.snapshot().runs})
    assert results[0] == results[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ray-address", "auto"], "need --executor ray"),
        (["--gpus-per-job", "1"], "need --executor ray"),
        (["--executor", "ray", "--jobs", "2"], "--jobs is for --executor local"),
        (["--executor", "dask"], "expected local or ray"),
    ],
)
def test_executor_options_that_do_not_fit_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["run", "--tasks", "pawsx", "--db", f"sqlite:///{tmp_path / 'r.db'}", "--no-progress", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.db").exists()  # refused before the database is opened


class _CountedData:
    """Task data that counts how often the driver pickles it (to send it to a worker)."""

    pickled = 0

    def __init__(self, payload: list[int]) -> None:
        self.payload = payload

    def __reduce__(self):
        type(self).pickled += 1
        return (_CountedData, (self.payload,))


@dataclass(frozen=True)
class _DataWork:
    i: int
    data: object


def _sum_job(work: _DataWork) -> tuple[int, int]:
    return work.i, sum(work.data.payload)


def test_local_workers_receive_a_tasks_data_once_not_with_every_job() -> None:
    first, second = _CountedData(list(range(1000))), _CountedData([1, 2, 3])
    works = [_DataWork(i, first) for i in range(6)] + [_DataWork(i, second) for i in range(6, 10)]
    _CountedData.pickled = 0
    results = sorted(LocalExecutor(jobs=2, threads=1).map(_sum_job, iter(works)))
    assert results == [(i, 499500) for i in range(6)] + [(i, 6) for i in range(6, 10)]
    assert _CountedData.pickled <= 4  # each of the 2 workers gets each task's data once (10 jobs)
