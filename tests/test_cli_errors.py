"""Bad inputs across the CLI (issues 11 and 13): exit 2, one line on stderr, the results DB unchanged.

Each case runs `glues-bench` in-process from an empty working directory, next to an existing results DB,
and checks: exit status 2, exactly one non-empty stderr line starting with `error:` that says what is wrong,
the DB file byte-for-byte the same, and no file created in the working directory (e.g. a SQLite file
named `not a url`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from glues_bench.cli import main
from glues_bench.demo import demo_data_dir
from glues_bench.submissions import RegisterRequest, register_checkpoint
from glues_bench.train import build_tiny_checkpoint

DEMO = demo_data_dir()
REPORTED = Path(__file__).resolve().parents[1] / "leaderboard" / "reported_results.yaml"
PAWSX_GOLD = DEMO / "pawsx" / "test_2k.tsv"


@dataclass(frozen=True)
class World:
    root: Path
    db: Path  # an up-to-date results DB with the paper's reported rows
    newer: Path  # the same DB as migrated by a newer harness (unknown alembic revision)

    def paths(self) -> dict[str, str]:
        return {"root": str(self.root), "db": str(self.db), "newer": str(self.newer), "demo": str(DEMO)}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("bad-inputs")
    db = root / "board.db"
    assert main(["import-reported", str(REPORTED), "--db", f"sqlite:///{db}"]) == 0
    newer = root / "newer.db"
    shutil.copy(db, newer)
    with closing(sqlite3.connect(newer)) as connection, connection:  # closed now, not whenever GC runs
        connection.execute("update alembic_version set version_num = 'f00dfeedbeef'")
    texts = DEMO.joinpath("pawsx/translated_train.tsv").read_text(encoding="utf-8").splitlines()
    checkpoint = build_tiny_checkpoint(root / "tiny", texts, "albert", vocab_size=600, hidden_size=32)
    register_checkpoint(
        RegisterRequest(source=str(checkpoint), name="tiny-test", family="ALBERT", origin="in-house"),
        root / "subs",
    )
    remote = root / "remote"  # a checkpoint whose own configuration code is broken
    shutil.copytree(checkpoint, remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_broken.BrokenConfig"}
    (remote / "config.json").write_text(json.dumps(config))
    (remote / "configuration_broken.py").write_text("import a_module_that_does_not_exist\n")
    grids = {
        "negative_lr": {"batch_sizes": [16], "learning_rates": [-1e-3], "epochs": [1]},
        "batch_0": {"batch_sizes": [0], "learning_rates": [1e-3], "epochs": [1]},
        "scalar": {"batch_sizes": 16, "learning_rates": [1e-3], "epochs": [1]},
        "extra_key": {"batch_sizes": [16], "learning_rates": [1e-3], "epochs": [1], "warmup": 3},
        "as_list": [16, 1e-3, 1],
    }
    for name, grid in grids.items():
        (root / f"{name}.yaml").write_text(yaml.safe_dump(grid))
    (root / "empty.yaml").write_text("")
    (root / "broken.yaml").write_text("batch_sizes: [16\n")
    (root / "a_file").write_text("not a folder")
    predictions = {
        "pred_ok": {"0": "1"},
        "pred_list": ["1", "0"],
        "pred_unknown_id": {"99999": "1"},
        "pred_bad_label": {"0": "2"},
        "pred_null": {"0": None},
        "pred_float": {"0": 1.0},
    }
    for name, payload in predictions.items():
        (root / f"{name}.json").write_text(json.dumps(payload))
    (root / "pred_not_json.json").write_text("{'0': 1")
    return World(root, db, newer)


RUN = "run --submissions-dir {root}/subs --tasks pos --data-dir {demo} --db sqlite:///{db} --no-progress"
SCORE = "score pawsx " + str(PAWSX_GOLD)

# (case id, argv with {placeholders}, a fragment the one error line must contain)
IMPORT = f"import-reported {REPORTED} --db"
BOARD = "leaderboard --db sqlite:///{db}"
CASES: list[tuple[str, str, str]] = [
    # DB URLs (11.5, 13.8) and tracebacks from the store (11.6)
    ("db-not-a-url", "leaderboard --db|not a url", "not a database URL; for a SQLite file write sqlite:///"),
    ("db-empty", "leaderboard --db|", "--db '': empty database URL"),
    ("db-bare-path", "leaderboard --db {db}", "not a database URL"),
    ("db-missing-file", "leaderboard --db sqlite:///{root}/missing.db", "no results database at"),
    ("db-missing-folder", "leaderboard --db sqlite:///{root}/nodir/x.db", "no results database at"),
    ("db-is-a-folder", "leaderboard --db sqlite:///{root}", "is a folder, not a SQLite file"),
    ("db-port-not-numeric", "leaderboard --db postgresql://u@localhost:abc/db", "not a valid SQLAlchemy URL"),
    ("db-unknown-dialect", "leaderboard --db nosuchdb://u@h/db", "nosuchdb"),
    ("db-newer-schema", "leaderboard --db sqlite:///{newer}", "written by a newer harness"),
    ("db-newer-import", f"import-reported {REPORTED} --db sqlite:///{{newer}}", "written by a newer harness"),
    ("site-missing-db", "build-site --db sqlite:///{root}/missing.db --out {root}/s1", "no results database"),
    ("site-not-a-url", "build-site --db|not a url|--out|{root}/s2", "not a database URL"),
    ("import-not-a-url", f"import-reported {REPORTED} --db|not a url", "not a database URL"),
    ("import-missing-folder", IMPORT + " sqlite:///{root}/nodir/x.db", "does not exist"),
    ("import-parent-is-file", IMPORT + " sqlite:///{root}/a_file/x.db", "does not exist"),
    ("import-empty-db", f"import-reported {REPORTED} --db|", "empty database URL"),
    ("import-missing-file", "import-reported {root}/none.yaml --db sqlite:///{db}", "none.yaml"),
    ("run-db-not-a-url", RUN.replace("sqlite:///{db}", "not_a_url"), "not a database URL"),
    # --reference (11.7)
    ("board-reference-unknown", BOARD + " --reference Nope", "unknown --reference model"),
    ("site-reference-unknown", "build-site --db sqlite:///{db} --reference Nope --out {root}/s3", "'Nope'"),
    # grids (11.6, 13.8: the field is named)
    ("grid-negative-lr", RUN + " --grid {root}/negative_lr.yaml", "learning_rates.0: Input should be"),
    ("grid-batch-0", RUN + " --grid {root}/batch_0.yaml", "batch_sizes.0: Input should be greater than 0"),
    ("grid-scalar", RUN + " --grid {root}/scalar.yaml", "batch_sizes: Input should be a valid tuple"),
    ("grid-extra-key", RUN + " --grid {root}/extra_key.yaml", "warmup: Extra inputs are not permitted"),
    ("grid-list", RUN + " --grid {root}/as_list.yaml", "valid dictionary"),
    ("grid-empty-file", RUN + " --grid {root}/empty.yaml", "valid dictionary"),
    ("grid-broken-yaml", RUN + " --grid {root}/broken.yaml", "not valid YAML"),
    ("grid-unknown", RUN + " --grid nope", "--grid 'nope': expected one of"),
    # run options (11.7 and the rest of the campaign)
    ("variant-task-not-run", RUN + " --variant ner=default", "task ner is not being run"),
    ("variant-unknown", RUN + " --variant pos=nope", "nope"),
    ("variant-no-equals", RUN + " --variant pos", "expected TASK=VARIANT"),
    ("tasks-unknown", RUN.replace("--tasks pos", "--tasks nope"), "unknown task 'nope'"),
    ("overwrite-unknown", RUN + " --overwrite sometimes", "expected never, only-missing or always"),
    ("data-dir-missing", RUN.replace("{demo}", "{root}/no-data"), "not a directory"),
    ("models-unknown", RUN + " --models nope", "unknown model 'nope'"),
    ("device-unknown", RUN + " --device tpu", "--device 'tpu'"),
    ("seeds-zero", RUN + " --seeds 0", "--seeds"),
    ("limit-zero", RUN + " --limit 0", "--limit"),
    ("option-unknown", RUN + " --fast", "No such option: --fast"),
    ("submissions-dir-empty", RUN.replace("{root}/subs", "{root}/s-none"), "no submissions in"),
    # score (11.7: integer labels; 11.3: --limit/--rows)
    ("score-missing-gold", "score pawsx {root}/none.tsv {root}/pred_ok.json", "gold file not found"),
    ("score-missing-pred", SCORE + " {root}/none.json", "predictions file not found"),
    ("score-not-json", SCORE + " {root}/pred_not_json.json", "not valid JSON"),
    ("score-list", SCORE + " {root}/pred_list.json", "expected a JSON object"),
    ("score-unknown-id", SCORE + " {root}/pred_unknown_id.json", "'99999' is not in the pawsx gold data"),
    ("score-bad-label", SCORE + " {root}/pred_bad_label.json", "'2' is not in pawsx's label set (0, 1)"),
    ("score-float-label", SCORE + " {root}/pred_float.json", "expected a label string, got float 1.0"),
    ("score-null", SCORE + " {root}/pred_null.json", "is null"),
    ("score-rows-reversed", SCORE + " {root}/pred_ok.json --rows 5:2", "--rows '5:2': expected START:END"),
    ("score-rows-garbage", SCORE + " {root}/pred_ok.json --rows abc", "--rows 'abc'"),
    ("score-rows-past-limit", SCORE + " {root}/pred_ok.json --limit 10 --rows 0:11", "END <= 10"),
    ("score-unknown-task", "score nope {root}/x {root}/y", "unknown task 'nope'"),
    # register (13.8) and tasks
    ("register-broken-remote-code", "register {root}/remote --name b --trust-remote-code --submissions-dir "
     "{root}/rsubs", "the checkpoint's own code raised ImportError"),
    ("register-missing-dir", "register {root}/nowhere --name b --submissions-dir {root}/rsubs", "nowhere"),
    ("verify-missing-dir", "submissions --verify --submissions-dir {root}/s-none", "not a directory"),
    ("baselines-missing-data-dir",
     "baselines --tasks xnli --data-dir {root}/nowhere --db sqlite:///{db}", "not a directory"),
    ("tasks-unknown-name", "tasks nope", "unknown task 'nope'"),
]  # fmt: skip


def _argv(template: str, paths: dict[str, str]) -> list[str]:
    # `|` separates arguments where one of them contains spaces or is empty; otherwise split on spaces.
    parts = template.split("|") if "|" in template else template.split(" ")
    if "|" in template:
        parts = [*parts[0].split(" "), *parts[1:]]
    return [part.format(**paths) for part in parts]


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    for part in (path, path.with_name(path.name + "-wal")):
        if part.exists():
            digest.update(part.read_bytes())
    return digest.hexdigest()


def test_there_are_at_least_40_cases() -> None:
    assert len(CASES) >= 40 and len({case_id for case_id, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("case_id", "template", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line_and_leaves_the_db_unchanged(
    case_id: str,
    template: str,
    expected: str,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # an empty working directory: nothing may appear in it
    monkeypatch.delenv("GLUES_BENCH_DB", raising=False)
    before = {path: _fingerprint(path) for path in (world.db, world.newer)}
    files_before = sorted(world.root.rglob("*"))
    code = main(_argv(template, world.paths()))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0]
    assert {path: _fingerprint(path) for path in before} == before
    assert list(tmp_path.iterdir()) == []
    assert sorted(world.root.rglob("*")) == files_before  # no folder, DB, site or manifest half-made
