"""What a newcomer hit (issue 11) and the run exit codes of issue 13.7, one test (or a few) per item."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from glues_bench.board.selection import TaskResult
from glues_bench.cli import main
from glues_bench.cli.run_cmd import exit_status
from glues_bench.cli.summary import print_run_summary
from glues_bench.demo import demo_data_dir
from glues_bench.runner import RunOptions, TaskSummary, run_benchmark
from glues_bench.store import open_store
from glues_bench.submissions import RegisterRequest, register_checkpoint
from glues_bench.tasks import get_task
from glues_bench.train import build_tiny_checkpoint

DEMO = demo_data_dir()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("newcomer")
    texts = DEMO.joinpath("pawsx/translated_train.tsv").read_text(encoding="utf-8").splitlines()
    checkpoint = build_tiny_checkpoint(root / "tiny", texts, "albert", vocab_size=600, hidden_size=32)
    register_checkpoint(
        RegisterRequest(source=str(checkpoint), name="tiny-test", family="ALBERT", origin="in-house"),
        root / "subs",
    )
    return root


def _run(root: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--submissions-dir",
        str(root / "subs"),
        "--device",
        "cpu",
        "--threads",
        "1",
        "--artifacts-dir",
        "preds",
        *extra,
    ]


def _pos_without_train(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    ud = data / "ud" / "UD_Spanish-GSD_r1.4"
    ud.mkdir(parents=True)
    for split in ("dev", "test"):
        shutil.copy(DEMO / "ud/UD_Spanish-GSD_r1.4" / f"es-ud-{split}.conllu", ud)
    return data


# -- 11.3: every stored number is reproduced from its predictions file; 11.11: no absolute paths stored ----


def test_stored_numbers_of_limited_and_split_dev_runs_are_rescored_exactly(
    model_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    data = _pos_without_train(tmp_path)  # dev is cut into train and selection parts
    db = f"sqlite:///{tmp_path / 'r.db'}"
    argv = _run(model_root, "--tasks", "pos,pawsx", "--limit", "20", "--db", db, "--no-progress")
    shutil.copytree(DEMO / "pawsx", data / "pawsx")
    assert main([*argv, "--data-dir", str(data)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    with open_store(db) as store:
        runs = {run.task: run for run in store.snapshot().runs}
    pos = runs["pos"]
    assert pos.details["scored_subset"] == {
        "dev": {"limit": 20, "rows": "16:"},
        "test": {"limit": 20, "rows": None},
    }
    gold = {
        ("pos", "dev"): data / "ud/UD_Spanish-GSD_r1.4/es-ud-dev.conllu",
        ("pos", "test"): data / "ud/UD_Spanish-GSD_r1.4/es-ud-test.conllu",
        ("pawsx", "dev"): data / "pawsx/dev_2k.tsv",
        ("pawsx", "test"): data / "pawsx/test_2k.tsv",
    }
    for (task, split), gold_file in gold.items():
        run = runs[task]
        [artefact] = [p for p in run.predictions if p.split == split]
        subset = run.details["scored_subset"][split]
        flags = ["--limit", str(subset["limit"])] + (["--rows", subset["rows"]] if subset["rows"] else [])
        assert main(["score", task, str(gold_file), artefact.path, "--json", *flags]) == 0
        rescored = json.loads(capsys.readouterr().out)
        assert rescored["n_missing"] == 0
        assert rescored["score"] == pytest.approx(run.metrics[split]["score"], abs=1e-9)
        assert main(["score", task, str(gold_file), artefact.path, "--json"]) == 0  # the whole gold file
        assert json.loads(capsys.readouterr().out)["n_missing"] > 0  # why the plain re-score disagreed
    # 11.11: what is stored (and published) holds no absolute path of this machine.
    stored = json.dumps([run.details for run in runs.values()])
    assert str(tmp_path) not in stored and str(DEMO) not in stored
    assert pos.details["data_sources"]["dev"].startswith("ud/UD_Spanish-GSD_r1.4/es-ud-dev.conllu")
    with open_store(db) as store:
        [submission] = store.snapshot().submissions
    assert submission.checkpoint_path is not None and not Path(submission.checkpoint_path).is_absolute()
    assert (tmp_path / submission.checkpoint_path).resolve() == (model_root / "tiny").resolve()


# -- 11.4 / 13.7: exit codes a script can trust ------------------------------------------------------------


def test_run_exits_1_when_nothing_could_start_and_says_why_per_task(
    model_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    (data / "pawsx").mkdir(parents=True)
    shutil.copy(DEMO / "pawsx/test_2k.tsv", data / "pawsx")
    (data / "pawsx/dev_2k.tsv").write_text("id\tsentence1\n1\tonly one column\n")  # does not parse
    argv = _run(model_root, "--tasks", "pos,pawsx", "--data-dir", str(data), "--db", "sqlite:///r.db")
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[-1] == "error: 2 of 2 model × task pairs did not complete (reasons above)"
    assert any(line.startswith("tiny-test × pos[ud14]: could not start: ") for line in lines)
    assert any(line.startswith("tiny-test × pawsx[default]: could not start: ") and "dev_2k.tsv" in line
               for line in lines)  # fmt: skip
    # 11.12: with --data-dir the hub is not tried, and no raw warning says it was.
    assert "UserWarning" not in err and "hub:" not in err and "OfflineModeIsEnabled" not in err


def _broken_finetune(*args, **kwargs):
    raise RuntimeError("refused remote code\nsecond line")


def test_run_exits_1_when_every_job_failed_and_0_once_all_are_done(
    model_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glues_bench.submissions import load_submissions

    [submission] = load_submissions(model_root / "subs").values()
    options = RunOptions(data_dir=DEMO, artifacts_dir=tmp_path / "p", progress=False, threads=1, limit=12)
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        failed = run_benchmark(
            store,
            [submission],
            [get_task("pawsx")],
            options,
            finetune_fn=_broken_finetune,
            echo=lambda _: None,
        )
        assert exit_status(failed) == 1
        err = capsys.readouterr().err
        assert "tiny-test × pawsx[default]: run 1 failed: RuntimeError: refused remote code" in err
        done = run_benchmark(store, [submission], [get_task("pawsx")], options, echo=lambda _: None)
        assert (done[0].ran, done[0].failed) == (1, 0) and exit_status(done) == 0
        again = run_benchmark(store, [submission], [get_task("pawsx")], options, echo=lambda _: None)
        assert again[0].skipped == 1 and exit_status(again) == 0  # already done is complete, not a failure
    assert exit_status([]) == 1


# -- 11.13: progress bars, the ETA, the summary, help texts ----------------------------------------------


class _RecordingBar:
    """Stands in for tqdm: records the total the ETA is computed from and the progress made."""

    bars: ClassVar[list[_RecordingBar]] = []

    def __init__(self, *args, total: int | None = None, **kwargs) -> None:
        self.total, self.n = total, 0
        _RecordingBar.bars.append(self)

    def __enter__(self) -> _RecordingBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_description(self, *args, **kwargs) -> None:
        return None

    def refresh(self) -> None:
        return None


def test_the_overall_eta_counts_only_work_still_to_do(
    model_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tqdm.auto

    from glues_bench.submissions import load_submissions

    [submission] = load_submissions(model_root / "subs").values()
    options = RunOptions(data_dir=DEMO, artifacts_dir=tmp_path / "p", progress=False, threads=1, limit=12)
    tasks = [get_task("pawsx"), get_task("ner")]  # ner has no data in the demo folder: skipped
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        run_benchmark(store, [submission], tasks, options, echo=lambda _: None)
        monkeypatch.setattr(tqdm.auto, "tqdm", _RecordingBar)
        _RecordingBar.bars.clear()
        run_benchmark(store, [submission], tasks, options, echo=lambda _: None)
    [bar] = _RecordingBar.bars
    assert (bar.total, bar.n) == (0, 0)  # nothing left to do: the done run and the data-less task drop out


def test_progress_bars_are_off_when_stderr_is_not_a_terminal(
    model_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = _run(
        model_root, "--tasks", "pawsx", "--data-dir", str(DEMO), "--limit", "12", "--db", "sqlite:///r.db"
    )
    assert main(argv) == 0  # no --no-progress: captured stderr is not a TTY
    captured = capsys.readouterr()
    assert "it/s" not in captured.err and "%|" not in captured.err and "s/it" not in captured.err


def test_the_bar_ends_on_the_epoch_mean_loss(model_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from glues_bench.data import load_split
    from glues_bench.tasks import HParams
    from glues_bench.train import finetune

    task = get_task("pawsx").resolve()
    train = load_split(task, "train", DEMO, limit=40).dataset
    dev = load_split(task, "dev", DEMO, limit=4).dataset
    hparams = HParams(batch_size=8, learning_rate=1e-3, epochs=1)
    result = finetune(task, str(model_root / "tiny"), train, dev, hparams, 42, device="cpu", progress=True)
    bar_text = capsys.readouterr().err.replace("\r", "\n")
    shown = [
        line.rsplit("loss=", 1)[1].strip().rstrip("]") for line in bar_text.splitlines() if "loss=" in line
    ]
    assert shown and shown[-1] == f"{result.epoch_loss[-1]:.4f}"
    assert result.train_loss[0] != pytest.approx(result.epoch_loss[-1])  # the first batch's would differ


def test_the_summary_fits_80_columns_with_a_time_per_task(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    summary = TaskSummary("albeto-tiny-inhouse", "xquad", "es", n_jobs=1, ran=1)
    summary.best = TaskResult(
        task="xquad",
        source="measured",
        score=3.94,
        sd=1.2,
        n_seeds=3,
        metrics={},
        metrics_sd={},
        score_metrics=("f1", "exact_match"),
        dev_score=12.345,
        hparams={"batch_size": 32, "learning_rate": 5e-4, "epochs": 2},
    )
    summary.seconds = 125.0
    print_run_summary([summary])
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "bs32-lr0.0005-ep2" in out and "3.94 ± 1.20" in out and "2m05s" in out
    assert "xquad[es]" in out.replace("│", "").replace(" ", "") or "xquad[" in out  # the variant is shown
    assert "QA: mean of F1 and EM" in " ".join(out.split())


def test_help_is_written_as_paragraphs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    sentence = "the leaderboard reports the test score of the config with the best mean dev score."
    assert any(sentence in line for line in out.splitlines())  # one line at 250 columns: no hard break
    assert main(["data", "mirror", "--help"]) == 0  # the help keeps literal <placeholders>
    assert "<task>/<file name>" in capsys.readouterr().out


# -- 11.7: integer labels ----------------------------------------------------------------------------------


def test_pawsx_integer_labels_are_accepted_as_the_label_they_spell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = DEMO / "pawsx/test_2k.tsv"
    labels = [line.split("\t")[-1].strip() for line in gold.read_text(encoding="utf-8").splitlines()[1:]]
    as_strings = {str(i): "1" if i % 3 else "0" for i in range(len(labels))}
    expected = 100 * sum(as_strings[str(i)] == label for i, label in enumerate(labels)) / len(labels)
    (tmp_path / "ints.json").write_text(json.dumps({k: int(v) for k, v in as_strings.items()}))
    assert main(["score", "pawsx", str(gold), str(tmp_path / "ints.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(expected)


# -- 11.9, 11.10, 11.12, 11.14: scripts --------------------------------------------------------------------


def test_train_inhouse_help_explains_and_starts_nothing(tmp_path: Path) -> None:
    script = REPO / "scripts" / "train_inhouse.sh"
    done = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "About 70 minutes" in done.stdout and "Usage:" in done.stdout
    assert "== albeto start" not in done.stdout
    bad = subprocess.run(["bash", str(script), "--resume"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "unknown argument --resume" in bad.stderr


def test_the_committed_board_is_written_only_when_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GLUES_BENCH_DB", raising=False)
    reported = REPO / "leaderboard" / "reported_results.yaml"
    assert main(["import-reported", str(reported)]) == 0  # the README's step, with no --db
    assert (tmp_path / "results" / "glues_bench.db").is_file() and not (tmp_path / "leaderboard").exists()
    assert main(["build-site"]) == 0
    assert (tmp_path / "results" / "site" / "index.html").is_file() and not (
        tmp_path / "leaderboard"
    ).exists()
    recipe = (REPO / "scripts" / "train_inhouse.sh").read_text().replace("\\\n", " ")  # join continued lines
    writes = [line for line in recipe.splitlines() if line.strip().startswith("glues-bench ")]
    assert writes and all('"${BOARD[@]}"' in line for line in writes)  # the recipe names the committed DB
    assert (
        "BOARD=(--db sqlite:///leaderboard/glues_bench.db)" in recipe and "--out leaderboard/site" in recipe
    )


@pytest.mark.parametrize(
    "script",
    [
        "pretrain_albeto.py",
        "distill_distilbeto.py",
        "train_tokenizer.py",
        "bench_pretrain.py",
        "bench_finetune.py",
        "bench_ci.py",
    ],
)
def test_script_help_parses_before_the_heavy_imports(script: str) -> None:
    code = (
        "import runpy, sys\n"
        f"sys.argv = [{script!r}, '--help']\n"
        "try:\n"
        f"    runpy.run_path({str(REPO / 'scripts' / script)!r}, run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "HEAVY []" in done.stdout


def test_local_inputs_never_touch_the_network(tmp_path: Path) -> None:
    """The contamination check behind every pretraining script, with HF offline mode unset and the network
    blocked: a data folder's files only, no connection attempted (it used to retry the hub for a minute)."""
    code = (
        "import socket, sys\n"
        "attempts = []\n"
        "def refuse(*args, **kwargs):\n"
        "    attempts.append(args[:1])\n"
        "    raise OSError('network blocked by the test')\n"
        "socket.getaddrinfo = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.socket.connect = refuse\n"
        "from pathlib import Path\n"
        "from glues_bench.pretrain.contamination import glues_eval_documents\n"
        f"documents, unavailable = glues_eval_documents(Path({str(DEMO)!r}))\n"
        "print('ATTEMPTS', len(attempts), 'DOCUMENTS', len(documents), 'UNAVAILABLE', len(unavailable))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty cache: nothing to find offline either
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert words[words.index("ATTEMPTS") + 1] == "0"
    assert int(words[words.index("DOCUMENTS") + 1]) > 0 and int(words[words.index("UNAVAILABLE") + 1]) > 0


def test_scripts_go_offline_unless_an_input_needs_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glues_bench.pretrain.runs import stay_offline_for_local_inputs

    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    stay_offline_for_local_inputs("dccuchile/bert-base-spanish-wwm-cased", None)  # a hub id: stay online
    assert "HF_HUB_OFFLINE" not in os.environ
    stay_offline_for_local_inputs("hf:wikimedia/wikipedia:train:text")
    assert "HF_HUB_OFFLINE" not in os.environ
    stay_offline_for_local_inputs(str(tmp_path), "conll:conll2002/esp.train", None)  # local only
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["HF_DATASETS_OFFLINE"] == "1"
