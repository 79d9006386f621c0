"""`glues-bench run` end to end on a tiny model: stored runs, dev selection, re-run no-op, re-scoring,
and recovery after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from glues_bench.cli import main
from glues_bench.data import load_split, read_gold_file
from glues_bench.data.split import split_dev
from glues_bench.demo import demo_data_dir
from glues_bench.runner import RunOptions, run_benchmark
from glues_bench.store import open_store
from glues_bench.submissions import RegisterRequest, register_checkpoint
from glues_bench.tasks import get_task
from glues_bench.train import build_tiny_checkpoint

DEMO = demo_data_dir()
TASKS = ("pos", "pawsx", "xquad")  # one per task type
GOLD_FILES = {
    ("pos", "dev"): "ud/UD_Spanish-GSD_r1.4/es-ud-dev.conllu",
    ("pos", "test"): "ud/UD_Spanish-GSD_r1.4/es-ud-test.conllu",
    ("pawsx", "dev"): "pawsx/dev_2k.tsv",
    ("pawsx", "test"): "pawsx/test_2k.tsv",
    ("xquad", "dev"): "tar/dev-v1.1-es.json",
    ("xquad", "test"): "xquad/xquad.es.json",
}


@pytest.fixture(scope="module")
def submission(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("model")
    texts = DEMO.joinpath("pawsx/translated_train.tsv").read_text(encoding="utf-8").splitlines()
    checkpoint = build_tiny_checkpoint(root / "tiny", texts, "albert", vocab_size=600, hidden_size=32)
    sub, _ = register_checkpoint(
        RegisterRequest(source=str(checkpoint), name="tiny-test", family="ALBERT", origin="in-house"),
        root / "submissions",
    )
    return sub


def _grid(path: Path, learning_rates: list[float], epochs: list[int] | None = None) -> str:
    path.write_text(
        yaml.safe_dump({"batch_sizes": [16], "learning_rates": learning_rates, "epochs": epochs or [1]})
    )
    return str(path)


def test_run_selects_on_dev_stores_everything_and_rescoring_matches(submission, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    options = RunOptions(
        grid=_grid(tmp_path / "grid.yaml", [1e-3, 1e-5]),
        data_dir=DEMO,
        device="cpu",
        artifacts_dir=tmp_path / "predictions",
        progress=False,
        threads=1,
    )
    specs = [get_task(t) for t in TASKS]
    summaries = run_benchmark(store, [submission], specs, options, echo=lambda _: None)
    assert [(s.task, s.ran, s.skipped, s.failed) for s in summaries] == [(t, 2, 0, 0) for t in TASKS]

    snapshot = store.snapshot()
    runs = [r for r in snapshot.runs if r.status == "done"]
    assert len(runs) == 6
    for summary in summaries:
        task = get_task(summary.task).resolve()
        task_runs = [r for r in runs if r.task == summary.task]
        dev_scores = {r.hparams["learning_rate"]: r.metrics["dev"]["score"] for r in task_runs}
        # the selected config is the best on dev, whatever it scores on test
        assert summary.best is not None and summary.best.dev_score == pytest.approx(max(dev_scores.values()))
        # … and that score is the selected config's own (ties on dev may pick either config)
        assert dev_scores[summary.best.hparams["learning_rate"]] == pytest.approx(summary.best.dev_score)
        for run in task_runs:
            assert set(run.metrics) == {"dev", "test"}
            for split in ("dev", "test"):
                gold = read_gold_file(task, DEMO / GOLD_FILES[(summary.task, split)])
                path = Path(next(p.path for p in run.predictions if p.split == split))
                assert not path.is_absolute()  # an absolute --artifacts-dir is stored relative
                predictions = json.loads(path.read_text(encoding="utf-8"))
                # every gold example (sentence / pair / question) has exactly one prediction …
                assert sorted(predictions) == sorted(gold["id"])
                if task.task_type == "token_classification":  # … and every gold word exactly one tag
                    assert [len(predictions[i]) for i in gold["id"]] == [len(t) for t in gold["tags"]]
                # re-scoring the written predictions with `glues-bench score` gives the stored numbers
                rescored = _score_cli(summary.task, DEMO / GOLD_FILES[(summary.task, split)], path)
                assert rescored["n_missing"] == 0
                for name, value in rescored["metrics"].items():
                    assert run.metrics[split][name] == pytest.approx(value, abs=1e-9)

    again = run_benchmark(store, [submission], specs, options, echo=lambda _: None)
    assert [(s.ran, s.skipped) for s in again] == [(0, 2)] * 3
    assert len(store.snapshot().runs) == 6


def _score_cli(task: str, gold: Path, predictions: Path) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["score", task, str(gold), str(predictions), "--json"]) == 0
    return json.loads(out.getvalue())


def test_missing_data_skips_the_task_with_a_message(submission, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    messages: list[str] = []
    options = RunOptions(grid="quick", data_dir=tmp_path, artifacts_dir=tmp_path / "p", progress=False)
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    [summary] = run_benchmark(store, [submission], [get_task("mldoc")], options, echo=messages.append)
    assert summary.ran == 0 and summary.note.startswith("skipped:") and "mldoc" in messages[0]
    assert messages[0].endswith(
        f"; see `glues-bench data status --data-dir {tmp_path}` and `glues-bench data fetch`"
    )


def test_without_train_split_dev_is_split_and_the_note_says_so(submission, tmp_path, shared_data) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    messages: list[str] = []
    options = RunOptions(
        grid="quick", data_dir=shared_data, limit=20, artifacts_dir=tmp_path / "p", progress=False, threads=1
    )
    [summary] = run_benchmark(store, [submission], [get_task("xnli")], options, echo=messages.append)
    assert summary.ran == 1 and "trained on 16 and selected on 4 examples of the dev split" in summary.note
    [run] = store.snapshot().runs
    assert run.details["train_note"] == summary.note
    dev = load_split(get_task("xnli").resolve(), "dev", shared_data, limit=20)
    train_part, dev_part = split_dev(dev)
    assert train_part.dataset["id"] == [str(i) for i in range(16)]
    assert run.data_fingerprint == {
        "train": train_part.fingerprint,
        "dev": dev_part.fingerprint,
        "test": run.data_fingerprint["test"],
    }
    predictions = json.loads(Path(next(p.path for p in run.predictions if p.split == "dev")).read_text())
    assert sorted(predictions, key=int) == ["16", "17", "18", "19"]  # selected on held-out dev rows only


def test_dev_split_never_cuts_a_qa_article(shared_data: Path) -> None:
    dev = load_split(get_task("mlqa").resolve(), "dev", shared_data)
    train_part, dev_part = split_dev(dev)
    assert not set(train_part.dataset["title"]) & set(dev_part.dataset["title"])
    assert len(train_part.dataset) + len(dev_part.dataset) == 500 and len(train_part.dataset) >= 400


@pytest.mark.slow  # two fresh interpreters that import torch, four runs: ~15 s on 2 cores
def test_sigkill_mid_grid_then_rerun_finishes_without_loss_or_duplicates(submission, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    grid = _grid(tmp_path / "grid.yaml", [1e-3, 5e-4, 2e-4, 1e-4], epochs=[2])
    code = "import sys; from glues_bench.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [
        sys.executable,
        "-c",
        code,
        "run",
        "--tasks",
        "pawsx",
        "--grid",
        grid,
        "--db",
        f"sqlite:///{db}",
        "--data-dir",
        str(DEMO),
        "--submissions-dir",
        str(submission.base_dir),
        "--artifacts-dir",
        str(tmp_path / "p"),
        "--device",
        "cpu",
        "--threads",
        "1",
        "--no-progress",
        "--lease-seconds",
        "2",  # the killed process's claim expires 2 s after its last heartbeat
    ]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill once a run is done and the next is in flight
        if db.exists() and _statuses(db).count("done") >= 1 and "running" in _statuses(db):
            break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the first run never finished")
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _statuses(db)
    assert "running" in before and before.count("done") >= 1
    time.sleep(2.5)

    assert subprocess.run(argv, capture_output=True, timeout=300).returncode == 0
    rows = sqlite3.connect(db).execute("select hparams_hash, seed, status, attempt from runs").fetchall()
    assert len(rows) == 4 and {r[2] for r in rows} == {"done"}
    assert len({(r[0], r[1]) for r in rows}) == 4  # one row per config, nothing duplicated
    assert sorted(r[3] for r in rows) == [1, 1, 1, 2]  # only the killed run was redone


def _statuses(db: Path) -> list[str]:
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return [row[0] for row in connection.execute("select status from runs")]
    except sqlite3.OperationalError:  # table not created yet
        return []


def test_run_skips_models_whose_checkpoint_is_absent_but_refuses_a_named_one(
    submission, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs = tmp_path / "submissions"
    subs.mkdir()
    manifest = yaml.safe_load((submission.base_dir / "tiny-test.yaml").read_text())
    manifest.update(name="gone", checkpoint=str(tmp_path / "deleted-checkpoint"))
    (subs / "gone.yaml").write_text(yaml.safe_dump(manifest))
    common = ["run", "--tasks", "pos", "--data-dir", str(DEMO), "--submissions-dir", str(subs)]
    common += ["--db", f"sqlite:///{tmp_path / 'r.db'}", "--no-progress"]
    assert main(common) == 2
    captured = capsys.readouterr()
    assert "skipping gone: " in captured.out and "has its checkpoint on this machine" in captured.err
    assert main([*common, "--models", "gone"]) == 2
    assert "checkpoint directory not found" in capsys.readouterr().err


def _broken_finetune(*args, **kwargs):
    raise RuntimeError("CUDA out of memory\nsecond line")


def test_a_failing_run_is_recorded_then_redone_and_jobs_pickle(submission, tmp_path: Path) -> None:
    import pickle

    from glues_bench.runner import JobInput, execute_job, load_task_data

    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    options = RunOptions(
        grid="quick", data_dir=DEMO, artifacts_dir=tmp_path / "p", progress=False, threads=1, limit=20
    )
    [failed] = run_benchmark(
        store, [submission], [get_task("pawsx")], options, finetune_fn=_broken_finetune, echo=lambda _: None
    )
    assert (failed.ran, failed.failed) == (0, 1)
    [run] = store.snapshot().runs
    # the whole traceback is kept: the raising frame, then the error with every line of its message
    assert run.status == "failed" and run.error.startswith("Traceback (most recent call last):")
    assert "in _broken_finetune" in run.error and 'File "tests/test_runner.py"' in run.error
    assert str(Path.cwd()) not in run.error and str(Path.home()) + "/" not in run.error  # no machine paths
    assert run.error.rstrip().endswith("RuntimeError: CUDA out of memory\nsecond line")

    [redone] = run_benchmark(store, [submission], [get_task("pawsx")], options, echo=lambda _: None)
    assert (redone.ran, redone.failed) == (1, 0)
    [run] = store.snapshot().runs
    assert (run.status, run.attempt) == ("done", 2)

    # what an executor ships to a worker carries no DB handle and survives pickling (Ray needs this)
    task = get_task("pawsx").resolve()
    data = load_task_data(task, DEMO, 20)
    from glues_bench.executor import Job
    from glues_bench.tasks.spec import HParams

    work = JobInput(
        1,
        submission,
        task,
        Job("s", "pawsx", "default", HParams(batch_size=8, learning_rate=1e-3, epochs=1), 42),
        data,
        options,
        "cpu",
    )
    outcome = pickle.loads(pickle.dumps(execute_job))(pickle.loads(pickle.dumps(work)))
    assert outcome.error is None and set(outcome.metrics) == {"dev", "test"}


def test_the_data_baseline_is_fitted_once_per_task_not_once_per_model(
    submission, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fitting a baseline reads the whole train split: two models on one task fit it once (and store it)."""
    import glues_bench.board.baselines as baselines

    fitted = []
    real = baselines.compute_baseline

    def counting(task, *args, **kwargs):
        fitted.append(task.name)
        return real(task, *args, **kwargs)

    monkeypatch.setattr(baselines, "compute_baseline", counting)
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    options = RunOptions(
        grid="quick", data_dir=DEMO, artifacts_dir=tmp_path / "p", progress=False, threads=1, limit=20
    )
    other = submission.model_copy(update={"name": "tiny-test-2"})
    summaries = run_benchmark(
        store, [submission, other], [get_task("pawsx")], options, finetune_fn=_broken_finetune,
        echo=lambda _: None,
    )  # fmt: skip
    assert [s.submission for s in summaries] == ["tiny-test", "tiny-test-2"]
    assert fitted == ["pawsx"]
    assert [b.task for b in store.snapshot().baselines] == ["pawsx"]
