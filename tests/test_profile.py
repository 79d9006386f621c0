"""`glues-bench profile`: measuring a registered model, storing profiles per device, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import torch

from glues_bench.cli import main
from glues_bench.data import load_split
from glues_bench.demo import demo_data_dir
from glues_bench.errors import UnknownName
from glues_bench.profile import (
    ModelProfile,
    Spread,
    TaskProfile,
    features_by_example,
    percentile,
    sample_indices,
)
from glues_bench.store import ProfileRecord, open_store
from glues_bench.submissions import RegisterRequest, register_checkpoint
from glues_bench.tasks import get_task
from glues_bench.train import build_tiny_checkpoint

DEMO = demo_data_dir()


@pytest.fixture(autouse=True)
def _restore_threads():
    """`profile --threads N` sets torch's thread count for the process: give the next test its own back."""
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("profile-model")
    texts = DEMO.joinpath("pawsx/translated_train.tsv").read_text(encoding="utf-8").splitlines()
    checkpoint = build_tiny_checkpoint(root / "tiny", texts, "albert", vocab_size=600, hidden_size=32)
    submission, _ = register_checkpoint(
        RegisterRequest(source=str(checkpoint), name="tiny-prof", family="ALBERT", origin="in-house"),
        root / "submissions",
    )
    return root / "submissions", submission.weights_sha256


def _task_profile(task: str = "pawsx", rate: float = 100.0) -> TaskProfile:
    spread = Spread(rate, rate - 1, rate + 1)
    return TaskProfile(
        task=task, task_type="sequence_classification", n_examples=8, n_features=8, mean_tokens=20.0,
        max_length=512, eval_batch_size=64, batch1_examples=4, batch1_examples_per_s=spread,
        batch1_tokens_per_s=spread, latency_p50_ms=spread, latency_p95_ms=spread,
        batch_examples_per_s=spread, batch_tokens_per_s=spread, inference_peak_memory_bytes=1000,
    )  # fmt: skip


def _model_profile(device: str, rate: float, sha: str = "a" * 64) -> ModelProfile:
    return ModelProfile(
        checkpoint_sha256=sha, device=device, device_kind=device.split(":")[0], threads=2, memory_kind="rss",
        weights_bytes=123, repeats=3, library_versions={"torch": "x"}, tasks=(_task_profile(rate=rate),),
    )  # fmt: skip


# -- the store ---------------------------------------------------------------------------------------


def test_profiles_are_keyed_by_weights_and_device_and_never_mixed(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        store.upsert_submission("m", origin="external", checkpoint_sha256="a" * 64)
        first = store.put_profile(_model_profile("cpu:x86_64 ×2 threads", 100.0), submission="m")
        assert isinstance(first, ProfileRecord) and first.submission == "m"
        assert first.task("pawsx").batch_examples_per_s == Spread(100.0, 99.0, 101.0)
        assert first.peak_memory_bytes == 1000 and first.weights_bytes == 123
        # Another device: a second profile, the first untouched.
        store.put_profile(_model_profile("cuda:NVIDIA H200", 5000.0), submission="m")
        by_device = {p.device: p for p in store.list_profiles(submission="m")}
        assert set(by_device) == {"cpu:x86_64 ×2 threads", "cuda:NVIDIA H200"}
        assert by_device["cpu:x86_64 ×2 threads"].task("pawsx").batch_examples_per_s.median == 100.0
        assert by_device["cuda:NVIDIA H200"].task("pawsx").batch_examples_per_s.median == 5000.0
        # The same device again replaces that device's profile only.
        later = datetime(2026, 12, 1, tzinfo=timezone.utc)
        store.put_profile(_model_profile("cpu:x86_64 ×2 threads", 110.0), submission="m", measured_at=later)
        profiles = store.list_profiles(checkpoint_sha256="a" * 64)
        assert len(profiles) == 2
        cpu = next(p for p in profiles if p.device_kind == "cpu")
        assert cpu.task("pawsx").batch_examples_per_s.median == 110.0 and cpu.measured_at == later
        # Other weights under the same name are another key.
        store.put_profile(_model_profile("cpu:x86_64 ×2 threads", 1.0, sha="b" * 64), submission="m")
        assert len(store.list_profiles()) == 3 and len(store.list_profiles(checkpoint_sha256="b" * 64)) == 1
        with pytest.raises(UnknownName):
            store.put_profile(_model_profile("cpu", 1.0), submission="not-registered")
        assert len(store.list_profiles()) == 3  # the refused write left nothing behind


# -- measuring helpers -------------------------------------------------------------------------------


def test_percentile_matches_numpy_and_sample_is_seeded_and_spread():
    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 50):
        values = rng.exponential(size=n).tolist()
        for q in (50, 95):
            assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    first = sample_indices(1000, 64)
    assert first == sample_indices(1000, 64) == sorted(set(first)) and len(first) == 64
    assert max(first) > 500  # a random sample over the split, not its first rows
    assert sample_indices(10, 64) == list(range(10))
    assert features_by_example([0, 1, 1, 2]) == {0: [0], 1: [1, 2], 2: [3]}


# -- the command -------------------------------------------------------------------------------------


def test_profile_command_measures_stores_and_a_second_device_does_not_overwrite(
    registered, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submissions, sha = registered
    db = f"sqlite:///{tmp_path / 'p.db'}"
    common = ["profile", "tiny-prof", "--submissions-dir", str(submissions), "--data-dir", str(DEMO)]
    common += ["--db", db, "--tasks", "pawsx,xquad", "--sample", "12", "--batch1-sample", "4"]
    common += ["--repeats", "2", "--train-steps", "1"]
    assert main([*common, "--threads", "1"]) == 0
    assert "stored as profile" in capsys.readouterr().out
    with open_store(db) as store:
        [stored] = store.list_profiles(submission="tiny-prof")
    assert stored.checkpoint_sha256 == sha and stored.device_kind == "cpu" and stored.threads == 1
    # the CPU by name and the thread count `--threads 1` set (not whatever torch had before)
    assert stored.device.startswith("cpu:") and stored.device.endswith(" ×1 threads")
    assert stored.library_versions["torch"] == torch.__version__
    assert stored.weights_bytes == (registered[0].parent / "tiny" / "model.safetensors").stat().st_size
    pawsx, xquad = stored.task("pawsx"), stored.task("xquad")
    # What was measured on is the test split's own inputs, encoded as evaluation encodes them.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(registered[0].parent / "tiny")
    test = load_split(get_task("pawsx").resolve(), "test", DEMO).dataset
    rows = test.select(sample_indices(len(test), 12))
    lengths = [
        len(tokenizer(row["text"], row["text_pair"], truncation="longest_first", max_length=512)["input_ids"])
        for row in rows
    ]
    assert pawsx.n_examples == pawsx.n_features == 12 and pawsx.mean_tokens == pytest.approx(np.mean(lengths))
    # tokens/s and examples/s come from the same timings: their ratio is tokens per example.
    ratio = pawsx.batch_tokens_per_s.median / pawsx.batch_examples_per_s.median
    assert ratio == pytest.approx(sum(lengths) / 12)
    assert xquad.n_features >= xquad.n_examples == 12 and xquad.batch1_examples == 4
    for task in (pawsx, xquad):
        assert task.latency_p50_ms.median <= task.latency_p95_ms.median
        assert task.batch1_examples_per_s.low <= task.batch1_examples_per_s.median
        assert task.batch1_examples_per_s.median <= task.batch1_examples_per_s.high
        assert task.inference_peak_memory_bytes > 50 * 2**20  # a Python process with torch loaded
        assert task.train_examples_per_s is not None and task.train_examples_per_s.median > 0
        assert task.train_batch_size == 16 and task.train_steps == 1
    # A second thread count is another device description: stored beside the first, not over it.
    assert main([*common, "--threads", "2", "--train-steps", "0"]) == 0
    with open_store(db) as store:
        profiles = store.list_profiles(submission="tiny-prof")
    assert [p.threads for p in profiles] == [1, 2]
    assert profiles[0] == stored
    assert profiles[1].task("pawsx").train_examples_per_s is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["nope"], "unknown model 'nope'"),
        (["tiny-prof", "--tasks", "ner"], "task ner: no test data"),
        (["tiny-prof"], "no test data for any task in"),  # every task skipped: nothing to measure
        (["tiny-prof", "--device", "tpu"], "--device 'tpu'"),
    ],
)
def test_profile_bad_input_is_one_line_exit_2_and_writes_nothing(
    registered, tmp_path: Path, capfd: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    submissions, _ = registered
    empty = tmp_path / "empty-data"
    empty.mkdir()
    data = empty if extra == ["tiny-prof"] else DEMO
    args = ["profile", *extra, "--submissions-dir", str(submissions), "--data-dir", str(data)]
    args += ["--db", f"sqlite:///{tmp_path / 'p.db'}", "--sample", "4", "--repeats", "1"]
    assert main(args) == 2
    err = capfd.readouterr().err
    # Warnings about unpinned hub copies may precede it; the error itself is one line, no traceback.
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err
    if (tmp_path / "p.db").exists():
        with open_store(f"sqlite:///{tmp_path / 'p.db'}") as store:
            assert store.list_profiles() == []


def test_profile_record_round_trips_the_task_json():
    task = replace(_task_profile(), train_examples_per_s=Spread(3.0, 2.0, 4.0), train_batch_size=16)
    assert TaskProfile.from_json(task.to_json()) == task


# -- start-up cost -----------------------------------------------------------------------------------


def test_cli_imports_without_torch_or_transformers():
    code = (
        "import sys, glues_bench.cli; "
        "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'sklearn', 'seqeval', 'numpy') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
