"""The paper's reported results: the data file matches the paper, and the leaderboard recomputes Table 6."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from glues_bench.cli import main
from glues_bench.errors import StoreError
from glues_bench.store.reported import load_reported_file, parse_param_count

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORTED_FILE = REPO_ROOT / "leaderboard" / "reported_results.yaml"
PAPER = REPO_ROOT.parent / "shared" / "paper" / "albeto_distilbeto_lrec2022.txt"

MODELS = [
    "BETO uncased",
    "BETO cased",
    "DistilBETO",
    "ALBETO tiny",
    "ALBETO base",
    "ALBETO large",
    "ALBETO xlarge",
    "ALBETO xxlarge",
]
# Table 6 of the paper, as printed.
TABLE6_AVERAGE = [77.48, 81.02, 73.22, 70.86, 79.35, 78.12, 80.20, 81.34]
TABLE6_SIZE = [1, 1, 1.64, 22, 9.16, 6.11, 1.86, 0.49]
TABLE6_PERFORMANCE = [0.95, 1, 0.90, 0.87, 0.97, 0.96, 0.98, 1]
# The paper's column headers (Tables 3-5) → task names.
PAPER_COLUMNS = {
    "POS": "pos",
    "NER": "ner",
    "MLDoc": "mldoc",
    "PAWS-X": "pawsx",
    "XNLI": "xnli",
    "MLQA": "mlqa",
    "SQAC": "sqac",
    "TAR, XQuAD": "xquad",
}


def truncate2(value: float) -> float:
    """The paper truncates to two decimals (79.35 / 81.02 = 0.979… is printed 0.97)."""
    return math.floor(value * 100 + 1e-9) / 100


@pytest.fixture
def leaderboard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    db = f"sqlite:///{tmp_path / 'reported.db'}"
    assert main(["import-reported", str(REPORTED_FILE), "--db", db]) == 0
    assert "88 values added" in capsys.readouterr().out
    assert main(["import-reported", str(REPORTED_FILE), "--db", db]) == 0
    assert "0 values added, 0 updated, 0 removed, 88 unchanged" in capsys.readouterr().out
    assert main(["leaderboard", "--json", "--db", db]) == 0
    return json.loads(capsys.readouterr().out)


def test_leaderboard_reproduces_table_6(leaderboard: dict):
    rows = {row["name"]: row for row in leaderboard["rows"]}
    assert sorted(rows) == sorted(MODELS)
    assert leaderboard["reference"]["name"] == "BETO cased"
    for name, average, size, performance in zip(
        MODELS, TABLE6_AVERAGE, TABLE6_SIZE, TABLE6_PERFORMANCE, strict=True
    ):
        row = rows[name]
        assert row["complete"] and row["origin"] == "reported"
        assert row["average"] == pytest.approx(average, abs=0.01), name
        assert row["size_ratio"] == pytest.approx(size, abs=0.01), name
        assert row["performance_ratio"] == pytest.approx(performance, abs=0.01), name
        # Stronger: truncating as the paper does gives exactly its numbers.
        assert truncate2(row["average"]) == pytest.approx(average), name
        assert truncate2(row["size_ratio"]) == pytest.approx(size), name
        assert truncate2(row["performance_ratio"]) == pytest.approx(performance), name


def test_leaderboard_ranks_by_average(leaderboard: dict):
    ranked = [(row["rank"], row["name"]) for row in leaderboard["rows"]]
    assert ranked[:3] == [(1, "ALBETO xxlarge"), (2, "BETO cased"), (3, "ALBETO xlarge")]
    assert ranked[-1] == (8, "ALBETO tiny")


def test_text_leaderboard_prints_rounded_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = f"sqlite:///{tmp_path / 'reported.db'}"
    main(["import-reported", str(REPORTED_FILE), "--db", db])
    capsys.readouterr()
    assert main(["leaderboard", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "ALBETO tiny" in out and "22.00" in out and "70.87" in out  # 70.865 rounds; the paper truncates
    assert "70.17 / 45.99" in out


def _paper_column(lines: list[str], header: str, last: bool = False) -> list[str]:
    """The 8 values under a column header; the nearest "Model" column above it must list MODELS."""
    positions = [i for i, line in enumerate(lines) if line == header]
    start = positions[-1] if last else positions[0]
    model_header = max(i for i in range(start) if lines[i] == "Model")
    assert [line for line in lines[model_header + 1 :] if line][: len(MODELS)] == MODELS, header
    return [line for line in lines[start + 1 :] if line][: len(MODELS)]


@pytest.mark.skipif(not PAPER.exists(), reason=f"paper text not found at {PAPER}")
def test_data_file_matches_the_paper_text():
    lines = [line.strip() for line in PAPER.read_text(encoding="utf-8").splitlines()]
    parsed = {m.name: m for m in load_reported_file(REPORTED_FILE).models}
    assert list(parsed) == MODELS
    params = _paper_column(lines, "Parameters", last=True)  # Table 6 (Table 1 also has a Parameters column)
    assert [parsed[m].params for m in MODELS] == params
    for header, task in PAPER_COLUMNS.items():
        for model, printed in zip(MODELS, _paper_column(lines, header), strict=True):
            values = parsed[model].results[task]
            if "/" in printed:
                f1, em = (float(x) for x in printed.split("/"))
                assert values == {"f1": f1, "exact_match": em}, (model, task)
            else:
                assert list(values.values()) == [float(printed)], (model, task)


def test_param_counts_as_printed():
    assert parse_param_count("110M") == 110_000_000
    assert parse_param_count("1.5B") == 1_500_000_000
    assert parse_param_count(12) == 12
    with pytest.raises(ValueError, match="110M"):
        parse_param_count("about 5 million")


def test_unknown_task_in_a_reported_file_names_the_file(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text("source: {citation: x}\nmodels:\n  - {name: m, results: {possum: {f1: 1}}}\n")
    with pytest.raises(StoreError, match=r"r\.yaml.*unknown task 'possum'"):
        load_reported_file(path)
    path.write_text("source: {citation: x}\nmodels: [{name: m, results: {pos: {f1: 1}}, extra: 1}]\n")
    with pytest.raises(StoreError, match=r"field 'models.0.extra'"):
        load_reported_file(path)


def test_cli_reports_a_missing_file_as_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = main(["import-reported", str(tmp_path / "none.yaml"), "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: reported results")
