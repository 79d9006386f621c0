"""Hub-id manifests at run time, against a fake offline HF cache built here (no network).

The cache has the layout `huggingface_hub` reads (`models--owner--name/snapshots/<commit>/…`); with
`HF_HUB_OFFLINE=1` the pinned snapshot is used as it is, which is exactly where a pickle could slip in.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from glues_bench.demo import demo_data_dir
from glues_bench.errors import SubmissionError
from glues_bench.model_ref import ModelRef
from glues_bench.submissions import Submission, load_manifest, verify_weights
from glues_bench.train import build_tiny_checkpoint

DEMO = demo_data_dir()
REPO_ID = "someone/tiny-spanish"
REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = DEMO.joinpath("pawsx/translated_train.tsv").read_text(encoding="utf-8").splitlines()
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt", texts, "bert", vocab_size=300)


def _fake_cache(root: Path, checkpoint: Path, *, pickle_only: bool) -> Path:
    """An HF hub cache holding REPO_ID@REVISION: the checkpoint's files, or with the weights as a pickle."""
    snapshot = root / "models--someone--tiny-spanish" / "snapshots" / REVISION
    shutil.copytree(
        checkpoint, snapshot, ignore=shutil.ignore_patterns("*.safetensors") if pickle_only else None
    )
    if pickle_only:
        import torch
        from safetensors.torch import load_file

        torch.save(load_file(checkpoint / "model.safetensors"), snapshot / "pytorch_model.bin")
    (root / "models--someone--tiny-spanish" / "refs").mkdir()
    (root / "models--someone--tiny-spanish" / "refs" / "main").write_text(REVISION)
    return snapshot


def _hub_manifest(directory: Path, weights: Path, *, allow_pickle: bool, sha256: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": "hub-model",
        "checkpoint": REPO_ID,
        "revision": REVISION,
        "allow_pickle": allow_pickle,
        "architecture": "bert",
        "params_total": 1000,
        "params_non_embedding": 100,
        "weights_file": weights.name,
        "weights_sha256": sha256 or hashlib.sha256(weights.read_bytes()).hexdigest(),
    }
    path = directory / "hub-model.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


@pytest.fixture()
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point huggingface_hub (in this process) at an empty cache folder, offline."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def _run_on_hub_snapshot(tiny: Path, tmp_path: Path, *, pickle_only: bool) -> tuple[int, str, list[str]]:
    """`glues-bench run` (a subprocess, offline, on a fake cache) of a hub-id manifest without allow_pickle;
    (exit code, stderr, statuses of the stored runs)."""
    cache = tmp_path / "hf-cache"
    snapshot = _fake_cache(cache, tiny, pickle_only=pickle_only)
    subs = tmp_path / "submissions"
    weights = snapshot / ("pytorch_model.bin" if pickle_only else "model.safetensors")
    _hub_manifest(subs, weights, allow_pickle=False)
    db = tmp_path / "runs.db"
    code = "import sys; from glues_bench.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "run", "--tasks", "pawsx", "--data-dir", str(DEMO)]
    argv += [
        "--submissions-dir",
        str(subs),
        "--db",
        f"sqlite:///{db}",
        "--artifacts-dir",
        str(tmp_path / "p"),
    ]
    argv += ["--limit", "8", "--device", "cpu", "--threads", "1", "--no-progress"]
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    statuses = (
        [row[0] for row in sqlite3.connect(db).execute("select status from runs")] if db.exists() else []
    )
    return result.returncode, result.stdout + result.stderr, statuses


def test_run_refuses_a_pickle_only_hub_snapshot_before_loading(tiny: Path, tmp_path: Path) -> None:
    returncode, output, statuses = _run_on_hub_snapshot(tiny, tmp_path, pickle_only=True)
    assert returncode == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output
    assert "pytorch_model.bin is a pickle" in errors[0] and "allow_pickle: true" in errors[0]
    assert statuses == []  # refused before any job: no run started, let alone finished on the pickle


def test_run_fine_tunes_a_safetensors_hub_snapshot_offline(tiny: Path, tmp_path: Path) -> None:
    returncode, output, statuses = _run_on_hub_snapshot(tiny, tmp_path, pickle_only=False)
    assert returncode == 0, output
    assert statuses == ["done"]  # loaded by hub id + revision from the cache


def test_hub_snapshot_is_hashed_and_pickles_need_the_manifests_consent(
    tiny: Path, tmp_path: Path, offline_cache: Path
) -> None:
    snapshot = _fake_cache(offline_cache, tiny, pickle_only=True)
    pickle = snapshot / "pytorch_model.bin"
    allowed = load_manifest(_hub_manifest(tmp_path / "a", pickle, allow_pickle=True))
    verify_weights(allowed)  # the manifest allows the pickle and its sha256 matches: accepted
    refused = load_manifest(_hub_manifest(tmp_path / "r", pickle, allow_pickle=False))
    with pytest.raises(SubmissionError, match="is a pickle and no safetensors file is present"):
        verify_weights(refused)
    other = load_manifest(_hub_manifest(tmp_path / "o", pickle, allow_pickle=True, sha256="f" * 64))
    with pytest.raises(SubmissionError, match=f"weights of {REPO_ID}@{REVISION} in the hub cache .* differ"):
        verify_weights(other)


def test_hub_safetensors_snapshot_verifies_and_a_changed_file_does_not(
    tiny: Path, tmp_path: Path, offline_cache: Path
) -> None:
    snapshot = _fake_cache(offline_cache, tiny, pickle_only=False)
    weights = snapshot / "model.safetensors"
    submission = load_manifest(_hub_manifest(tmp_path / "s", weights, allow_pickle=False))
    verify_weights(submission)
    with open(weights, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(SubmissionError, match="differ from the manifest"):
        verify_weights(submission)


def test_hub_snapshot_not_in_the_offline_cache_is_one_line(tmp_path: Path, offline_cache: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x")
    submission = load_manifest(_hub_manifest(tmp_path / "m", weights, allow_pickle=False))
    with pytest.raises(
        SubmissionError, match=rf"cannot fetch {REPO_ID}@{REVISION[:12]} from the hub"
    ) as info:
        verify_weights(submission)
    assert "\n" not in str(info.value)


def test_model_ref_from_a_manifest_carries_its_loading_rule(tmp_path: Path) -> None:
    common = {
        "architecture": "bert",
        "params_total": 10,
        "params_non_embedding": 1,
        "weights_file": "model.safetensors",
        "weights_sha256": "a" * 64,
    }
    hub = Submission.model_validate(
        {"name": "h", "checkpoint": REPO_ID, "revision": REVISION, "trust_remote_code": True, **common}
    )
    assert hub.model_ref() == ModelRef(REPO_ID, revision=REVISION, trust_remote_code=True)
    assert hub.model_ref().model_kwargs() == {
        "revision": REVISION,
        "trust_remote_code": True,
        "use_safetensors": True,  # hub ids too: no fallback to a pickle
    }
    local = Submission.model_validate(
        {"name": "l", "checkpoint": "ckpt", "tokenizer": "tok", "allow_pickle": True, **common}
    ).with_base_dir(tmp_path)
    ref = local.model_ref()
    assert (ref.checkpoint, ref.tokenizer_source()) == (str(tmp_path / "ckpt"), str(tmp_path / "tok"))
    assert ref.model_kwargs()["use_safetensors"] is None  # allowed: transformers may fall back to the .bin
    assert ref.tokenizer_kwargs() == {"revision": None, "trust_remote_code": False}
    separate = Submission.model_validate(
        {
            "name": "t",
            "checkpoint": REPO_ID,
            "revision": REVISION,
            "tokenizer": "other/tok",
            "tokenizer_revision": "b" * 40,
            **common,
        }
    ).model_ref()
    assert (separate.tokenizer_source(), separate.tokenizer_kwargs()["revision"]) == ("other/tok", "b" * 40)


def test_finetune_loads_a_pickle_only_when_its_model_ref_allows_it(tiny: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from glues_bench.data import load_split
    from glues_bench.tasks import HParams, get_task
    from glues_bench.train import finetune

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny, pickled, ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(load_file(tiny / "model.safetensors"), pickled / "pytorch_model.bin")
    task = get_task("pawsx").resolve()
    data = load_split(task, "train", DEMO, limit=4).dataset
    hparams = HParams(batch_size=4, learning_rate=1e-3, epochs=1)
    kwargs = {"progress": False, "max_seq_length": 32}
    with pytest.raises(OSError, match=r"model\.safetensors"):  # a bare path: safetensors only
        finetune(task, pickled, data, data, hparams, 0, **kwargs)
    with pytest.raises(OSError, match=r"model\.safetensors"):
        finetune(task, ModelRef(str(pickled)), data, data, hparams, 0, **kwargs)
    result = finetune(task, ModelRef(str(pickled), allow_pickle=True), data, data, hparams, 0, **kwargs)
    assert set(result.dev_predictions) == set(data["id"])
