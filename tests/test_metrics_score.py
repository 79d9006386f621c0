"""`score_predictions`: dispatch by task type, missing predictions, the task score, and bad predictions."""

from __future__ import annotations

from typing import Any

import pytest
from datasets import Dataset

from glues_bench.data.schema import FEATURES
from glues_bench.errors import PredictionError
from glues_bench.metrics import ScoreResult, score_predictions
from glues_bench.tasks import get_task


def _dataset(task_type: str, rows: list[dict[str, Any]]) -> Dataset:
    return Dataset.from_list(rows, features=FEATURES[task_type])


def _tokens(*sentences: list[str]) -> Dataset:
    rows = [
        {"id": str(i), "tokens": [f"w{j}" for j in range(len(tags))], "tags": tags}
        for i, tags in enumerate(sentences)
    ]
    return _dataset("token_classification", rows)


def _pairs(*labels: str) -> Dataset:
    rows = [
        {"id": str(i), "text": f"premisa {i}", "text_pair": f"hipótesis {i}", "label": label}
        for i, label in enumerate(labels)
    ]
    return _dataset("sequence_classification", rows)


def _qa(*questions: tuple[str, list[str]]) -> Dataset:
    rows = [
        {
            "id": qid,
            "title": "t",
            "context": " ".join(answers) or "contexto",
            "question": "¿qué?",
            "answers": {"text": answers, "answer_start": [0] * len(answers)},
        }
        for qid, answers in questions
    ]
    return _dataset("extractive_qa", rows)


NER = get_task("ner").resolve()
POS = get_task("pos").resolve()
XNLI = get_task("xnli").resolve()
MLQA = get_task("mlqa").resolve()


# --- per task type ------------------------------------------------------------------------------------


def test_ner_metrics_and_score() -> None:
    gold = _tokens(["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"], ["B-MISC", "O", "O"])
    predictions = {"0": ["B-PER", "I-PER", "B-MISC", "B-LOC"], "1": ["B-ORG", "O", "B-PER"]}  # "2" missing
    result = score_predictions(NER, gold, predictions)
    # gold entities 4 (incl. the missed MISC), predicted 5, correct 2: P = 40, R = 50, F1 = 400/9.
    assert result == ScoreResult(
        n_examples=3,
        n_missing=1,
        metrics=pytest.approx({"f1": 400 / 9, "precision": 40.0, "recall": 50.0, "accuracy": 40.0}),
        score=pytest.approx(400 / 9),
    )
    assert list(result.metrics) == ["f1", "precision", "recall", "accuracy"]  # the spec's order
    # accuracy: 3/4 + 1/3 + 0/3 (missing: every word wrong, even its "O"s) = 4 of 10 words.


def test_pos_reports_accuracy_and_f1_only() -> None:
    gold = _tokens(["NOUN", "VERB", "DET"], ["PROPN"])
    result = score_predictions(POS, gold, {"0": ["NOUN", "ADJ", "DET"], "1": ["PROPN"]})
    assert result.metrics == {"accuracy": 75.0, "f1": 75.0}
    assert result.score == 75.0
    assert result.n_missing == 0


def test_classification_accuracy_with_missing() -> None:
    gold = _pairs("entailment", "neutral", "contradiction", "neutral")
    result = score_predictions(XNLI, gold, {"0": "entailment", "1": "contradiction", "3": "neutral"})
    assert result.metrics == {"accuracy": 50.0}
    assert (result.n_examples, result.n_missing, result.score) == (4, 1, 50.0)


def test_qa_score_is_mean_of_f1_and_em_and_variant_switches_normalisation() -> None:
    gold = _qa(("q1", ["Casa Blanca"]), ("q2", ["el Quijote", "Don Quijote"]), ("q3", ["1605"]))
    predictions = {"q1": "la Casa Blanca de EE.UU.", "q2": "«Quijote»"}
    spanish = score_predictions(MLQA, gold, predictions)
    # es: q1 F1 2/3 EM 0; q2 "quijote" == "quijote": 1, 1; q3 missing.
    assert spanish.metrics == pytest.approx({"f1": 100 * (2 / 3 + 1) / 3, "exact_match": 100 / 3})
    assert spanish.score == pytest.approx((spanish.metrics["f1"] + spanish.metrics["exact_match"]) / 2)
    assert spanish.n_missing == 1
    english = score_predictions(get_task("mlqa").resolve("squad-en"), gold, predictions)
    # squad-en: q1 F1 = 0.8/1.4, EM 0; q2 "«quijote»" shares no token with "el quijote"/"don quijote": 0, 0.
    assert english.metrics == pytest.approx({"f1": 100 * (0.8 / 1.4) / 3, "exact_match": 0.0})


def test_gold_as_predictions_is_perfect() -> None:
    gold = _tokens(["O", "I-PER", "I-PER"], ["B-LOC"])
    result = score_predictions(NER, gold, {str(i): list(tags) for i, tags in enumerate(gold["tags"])})
    assert result.metrics == {"f1": 100.0, "precision": 100.0, "recall": 100.0, "accuracy": 100.0}


def test_subtoken_mode_needs_counts_and_a_token_task() -> None:
    gold = _tokens(["NOUN", "NOUN", "VERB"])
    result = score_predictions(
        POS, gold, {"0": ["NOUN", "ADJ", "VERB"]}, token_mode="subtoken", subtoken_counts=[[1, 2, 1]]
    )
    assert result.metrics == pytest.approx({"accuracy": 50.0, "f1": 40.0})
    with pytest.raises(ValueError, match="subtoken_counts"):
        score_predictions(POS, gold, {}, token_mode="subtoken")
    with pytest.raises(ValueError, match="token classification"):
        score_predictions(XNLI, _pairs("neutral"), {}, token_mode="subtoken", subtoken_counts=[[1]])


# --- bad predictions: one line naming the id ---------------------------------------------------------------


@pytest.mark.parametrize(
    "task,gold,predictions,message",
    [
        (
            XNLI,
            _pairs("neutral", "neutral"),
            {"2": "neutral"},
            r"prediction id '2' is not in the xnli gold data "
            r"\(2 examples; ids are example positions '0'..'1'\)",
        ),
        (
            MLQA,
            _qa(("q1", ["x"])),
            {"q1": "x", "q9": "y", "q8": "z"},
            r"prediction id 'q9' \(and 1 more\) is not in the mlqa gold data",
        ),
        (NER, _tokens(["O", "B-PER"]), {"0": ["O"]}, r"prediction '0': 1 tags for 2 words"),
        (
            NER,
            _tokens(["O", "B-PER"]),
            {"0": ["O", "B-FOO"]},
            r"prediction '0': tag 'B-FOO' at word 1 is not in ner's label set",
        ),
        (NER, _tokens(["O"]), {"0": "O"}, r"prediction '0': expected a list of tags, got str"),
        (
            XNLI,
            _pairs("neutral"),
            {"0": "neutro"},
            r"prediction '0': label 'neutro' is not in xnli's label set "
            r"\(entailment, neutral, contradiction\)",
        ),
        (XNLI, _pairs("neutral"), {"0": 1}, r"prediction '0': expected a label string, got int"),
        (MLQA, _qa(("q1", ["x"])), {"q1": ["x"]}, r"prediction 'q1': expected an answer string, got list"),
        (MLQA, _qa(("q1", ["x"])), {"q1": None}, r"prediction 'q1' is null"),
        (
            POS,
            _tokens(["NOUN"]),
            {"0": ["CCONJ"]},
            r"tag 'CCONJ' at word 0 is not in pos's label set",
        ),  # UD v2 tag, v1.4 set
    ],
)
def test_bad_predictions_raise_one_line(
    task: Any, gold: Dataset, predictions: dict[str, Any], message: str
) -> None:
    with pytest.raises(PredictionError, match=message) as excinfo:
        score_predictions(task, gold, predictions)
    assert "\n" not in str(excinfo.value)


def test_predictions_must_be_a_mapping() -> None:
    with pytest.raises(PredictionError, match="must map example ids"):
        score_predictions(XNLI, _pairs("neutral"), ["neutral"])  # type: ignore[arg-type]
