"""Baselines on the real files, with expected values computed here from the raw files (csv / text)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from glues_bench.board.baselines import compute_baseline, majority_label, most_frequent_tags
from glues_bench.tasks import get_task


def _tsv_column(path: Path, column: int, header: bool) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row[column] for row in rows[1 if header else 0 :] if row]


def test_xnli_majority_is_a_third(shared_data):
    baseline = compute_baseline(get_task("xnli").resolve(), shared_data)
    assert baseline.kind == "majority_class"
    assert round(baseline.score, 2) == 33.33
    assert baseline.fitted_on is not None and baseline.fitted_on.startswith(
        "dev"
    )  # no train here; never test
    assert "test" not in baseline.fitted_on
    assert baseline.units.score() == pytest.approx(baseline.score, abs=1e-9)


def test_pawsx_majority_from_the_labels(shared_data):
    dev_labels = _tsv_column(shared_data / "pawsx" / "dev_2k.tsv", 3, header=True)
    test_labels = _tsv_column(shared_data / "pawsx" / "test_2k.tsv", 3, header=True)
    majority = Counter(dev_labels).most_common(1)[0][0]
    expected = 100 * sum(label == majority for label in test_labels) / len(test_labels)

    baseline = compute_baseline(get_task("pawsx").resolve(), shared_data)
    assert set(baseline.predictions.values()) == {majority}
    assert baseline.score == pytest.approx(expected, abs=1e-9)
    assert "<data-dir>" in baseline.note and str(shared_data) not in baseline.note


def test_ner_all_o_has_zero_f1_and_the_o_share_as_accuracy(shared_data):
    tags = [
        line.split()[-1]
        for line in (shared_data / "conll2002" / "esp.testb").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("-DOCSTART-")
    ]
    baseline = compute_baseline(get_task("ner").resolve(), shared_data)
    assert baseline.kind == "all_o"
    assert baseline.score == 0.0
    assert baseline.result.metrics["f1"] == 0.0
    assert baseline.result.metrics["accuracy"] == pytest.approx(100 * tags.count("O") / len(tags), abs=1e-9)


def test_qa_empty_answer_scores_zero_f1(shared_data):
    baseline = compute_baseline(get_task("xquad").resolve(), shared_data)
    assert baseline.kind == "empty_answer"
    assert set(baseline.predictions.values()) == {""}
    assert baseline.result.metrics["f1"] == 0.0
    assert len(baseline.predictions) == 1190


def test_pos_most_frequent_tag_is_fitted_off_test(shared_data):
    baseline = compute_baseline(get_task("pos").resolve("ud14"), shared_data)
    assert baseline.kind == "most_frequent_tag"
    assert baseline.fitted_on is not None and "es-ud-dev.conllu" in baseline.fitted_on
    assert 50.0 < baseline.score < 100.0
    assert baseline.units.score() == pytest.approx(baseline.score, abs=1e-9)


def test_majority_and_tag_lexicon_break_ties_by_label_order():
    assert majority_label(["b", "a", "b", "a"], ["a", "b"]) == "a"
    assert majority_label(["b", "a", "b"], ["a", "b"]) == "b"
    lexicon, overall = most_frequent_tags(
        [["el", "gato", "come"], ["el", "come"], ["come"]],
        [["DET", "NOUN", "VERB"], ["PRON", "NOUN"], ["VERB"]],
        ["DET", "NOUN", "PRON", "VERB"],
    )
    assert lexicon == {"el": "DET", "gato": "NOUN", "come": "VERB"}
    assert overall == "NOUN"  # NOUN 2 = VERB 2: NOUN comes first in the label order


def test_a_baseline_from_a_data_dir_never_tries_the_hub(shared_data, monkeypatch):
    """`run --data-dir` (no `--hub`) stores baselines too: a split missing locally must not reach the hub,
    not even to warn that its hub copy is unpinned."""
    import warnings

    from glues_bench.data import loader

    def no_hub(*args, **kwargs):
        raise AssertionError("the hub was tried")

    monkeypatch.setattr(loader, "_read_hub", no_hub)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        baseline = compute_baseline(get_task("xnli").resolve(), shared_data)
    assert baseline.fitted_on.startswith("dev:")  # no train file locally: fitted on dev, hub not asked
    assert not [w for w in caught if "hub:" in str(w.message)]
