"""`score_predictions`: check a predictions mapping against gold data and compute the task's metrics.

Prediction format (the one `glues-bench score` reads and the trainer writes):
- extractive QA: `{question_id: answer_text}`
- sequence classification: `{"0": "entailment", ...}`, keys = 0-based example positions as strings
- token classification: `{"0": ["B-PER", "O", ...], ...}`, one tag per gold word

A gold example without a prediction counts as wrong and is reported in `n_missing`. Anything that cannot
be a prediction for this gold data (unknown id, wrong type, wrong number of tags, label outside the task's
label set) raises `PredictionError` naming the id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from glues_bench.errors import DataError, PredictionError, SpecError
from glues_bench.metrics.classification import accuracy
from glues_bench.metrics.qa import qa_scores
from glues_bench.metrics.tagging import albeto_subtoken_scores, entity_scores, tag_scores, token_accuracy
from glues_bench.tasks.spec import ResolvedTask, TaskType

if TYPE_CHECKING:
    from datasets import Dataset

TokenMode = Literal["word", "subtoken"]
"""`word`: one decision per gold word (the benchmark's scoring). `subtoken`: the ALBETO code's scoring."""


@dataclass(frozen=True)
class ScoreResult:
    """Metrics in percent (0-100); `score` is the mean of the spec's `score_metrics`."""

    score: float
    metrics: dict[str, float]
    n_examples: int
    n_missing: int


def score_predictions(
    task: ResolvedTask,
    gold: Dataset,
    predictions: Mapping[str, object],
    token_mode: TokenMode = "word",
    subtoken_counts: Sequence[Sequence[int]] | None = None,
) -> ScoreResult:
    """Score `predictions` against `gold` (a dataset in the task type's schema, see `data/schema.py`).

    `token_mode="subtoken"` (token classification only) reproduces the ALBETO code's numbers and needs
    `subtoken_counts`: for every gold sentence, the number of tokenizer pieces of each word.
    """
    if not isinstance(predictions, Mapping):
        raise PredictionError(
            f"predictions must map example ids to predictions, got {type(predictions).__name__}"
        )
    if len(gold) == 0:
        raise DataError(f"{task.name}: the gold data has no examples")
    if hasattr(gold, "select_columns"):
        # Columnar once: indexing a Dataset column decodes it row by row (tens of times slower). The scorers
        # read only columns by name, which the dict serves alike.
        wanted = [c for c in ("id", "label", "tags", "answers") if c in gold.column_names]
        gold = gold.select_columns(wanted).to_dict()  # type: ignore[assignment]
    ids = [str(example_id) for example_id in gold["id"]]
    _reject_unknown_ids(task, ids, predictions)
    _reject_nulls(predictions)
    aligned = [predictions.get(example_id) for example_id in ids]
    n_missing = sum(example_id not in predictions for example_id in ids)
    if token_mode == "subtoken":
        computed = _score_subtokens(task, gold, ids, aligned, subtoken_counts)
    elif token_mode == "word":
        computed = _SCORERS[task.task_type](task, gold, ids, aligned)
    else:
        raise ValueError(f"token_mode must be 'word' or 'subtoken', not {token_mode!r}")
    metrics = {name: computed[name] for name in task.spec.metrics if name in computed}
    if len(metrics) != len(task.spec.metrics):
        missing = sorted(set(task.spec.metrics) - set(computed))
        raise SpecError(
            f"{task.name}: no scorer computes metric(s) {', '.join(missing)} for {task.task_type}"
        )
    score = sum(metrics[name] for name in task.spec.score_metrics) / len(task.spec.score_metrics)
    return ScoreResult(n_examples=len(ids), n_missing=n_missing, metrics=metrics, score=score)


def load_predictions(path: Path) -> dict[str, object]:
    """Read a predictions JSON file: one object mapping example ids to predictions."""
    if not path.is_file():
        raise PredictionError(f"predictions file not found: {path}")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PredictionError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise PredictionError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not isinstance(payload, dict):
        raise PredictionError(
            f"{path}: expected a JSON object mapping example ids to predictions, "
            f"got a {type(payload).__name__}"
        )
    return payload


# --- checks -------------------------------------------------------------------------------------------


def _reject_unknown_ids(task: ResolvedTask, ids: list[str], predictions: Mapping[str, object]) -> None:
    known = set(ids)
    unknown = [key for key in predictions if key not in known]
    if not unknown:
        return
    others = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
    expected = (
        "question ids" if task.task_type == "extractive_qa" else f"example positions '0'..'{len(ids) - 1}'"
    )
    raise PredictionError(
        f"prediction id {unknown[0]!r}{others} is not in the {task.name} gold data "
        f"({len(ids)} examples; ids are {expected})"
    )


def _reject_nulls(predictions: Mapping[str, object]) -> None:
    # `None` means "missing" below; an explicit null is more likely a bug in the writer than a choice.
    example_id = next((key for key, value in predictions.items() if value is None), None)
    if example_id is not None:
        raise PredictionError(f"prediction {example_id!r} is null; leave the id out to count it as missing")


def _checked_text(example_id: str, value: object) -> str:
    if not isinstance(value, str):
        raise PredictionError(
            f"prediction {example_id!r}: expected an answer string, got {type(value).__name__}"
        )
    return value


def _checked_label(task: ResolvedTask, example_id: str, value: object) -> str:
    # Labels are strings; an integer that spells one (PAWS-X's 1 for "1", as its TSV files write it) is
    # accepted as that label rather than refused with a label list that looks like it contains it.
    if isinstance(value, int) and not isinstance(value, bool) and str(value) in task.labels:
        return str(value)
    if not isinstance(value, str):
        raise PredictionError(
            f"prediction {example_id!r}: expected a label string, got {type(value).__name__} {value!r} "
            f"(labels: {', '.join(repr(label) for label in task.labels)})"
        )
    if value not in task.labels:
        raise PredictionError(
            f"prediction {example_id!r}: label {value!r} is not in {task.name}'s label set "
            f"({', '.join(task.labels)})"
        )
    return value


def _checked_tags(task: ResolvedTask, example_id: str, value: object, n_words: int) -> list[str]:
    if not isinstance(value, list):
        raise PredictionError(
            f"prediction {example_id!r}: expected a list of tags, got {type(value).__name__}"
        )
    if len(value) != n_words:
        raise PredictionError(f"prediction {example_id!r}: {len(value)} tags for {n_words} words")
    labels = set(task.labels)
    for position, tag in enumerate(value):
        if not isinstance(tag, str) or tag not in labels:
            raise PredictionError(
                f"prediction {example_id!r}: tag {tag!r} at word {position} is not in "
                f"{task.name}'s label set "
                f"({', '.join(task.labels)})"
            )
    return value


# --- scorers, one per task type (never per task name) ------------------------------------------------------


def _score_qa(task: ResolvedTask, gold: Dataset, ids: list[str], aligned: list[object]) -> dict[str, float]:
    if task.qa_scoring is None:
        raise SpecError(f"{task.name}: an extractive-QA task needs qa_scoring")
    answers = [list(entry["text"]) for entry in gold["answers"]]
    texts = [
        None if value is None else _checked_text(i, value) for i, value in zip(ids, aligned, strict=True)
    ]
    return qa_scores(answers, texts, task.qa_scoring)


def _score_classification(
    task: ResolvedTask, gold: Dataset, ids: list[str], aligned: list[object]
) -> dict[str, float]:
    labels = [
        None if value is None else _checked_label(task, i, value)
        for i, value in zip(ids, aligned, strict=True)
    ]
    return {"accuracy": accuracy(list(gold["label"]), labels)}


def _gold_and_checked_tags(
    task: ResolvedTask, gold: Dataset, ids: list[str], aligned: list[object]
) -> tuple[list[list[str]], list[list[str] | None]]:
    gold_tags = [list(tags) for tags in gold["tags"]]
    predicted = [
        None if value is None else _checked_tags(task, i, value, len(tags))
        for i, value, tags in zip(ids, aligned, gold_tags, strict=True)
    ]
    return gold_tags, predicted


# How a tagging scheme turns tags into precision/recall/F1: entities (IOB2) or single words (plain).
_TAG_PRF: dict[str, Callable[[list[list[str]], list[list[str] | None]], dict[str, float]]] = {
    "iob2": entity_scores,
    "plain": tag_scores,
}


def _score_tokens(
    task: ResolvedTask, gold: Dataset, ids: list[str], aligned: list[object]
) -> dict[str, float]:
    gold_tags, predicted = _gold_and_checked_tags(task, gold, ids, aligned)
    scheme = task.spec.tagging_scheme
    if scheme not in _TAG_PRF:
        raise SpecError(f"{task.name}: no scorer for tagging scheme {scheme!r}")
    return {**_TAG_PRF[scheme](gold_tags, predicted), "accuracy": token_accuracy(gold_tags, predicted)}


def _score_subtokens(
    task: ResolvedTask,
    gold: Dataset,
    ids: list[str],
    aligned: list[object],
    subtoken_counts: Sequence[Sequence[int]] | None,
) -> dict[str, float]:
    if task.task_type != "token_classification":
        raise ValueError(f"token_mode='subtoken' applies to token classification, not {task.task_type}")
    if subtoken_counts is None or len(subtoken_counts) != len(ids):
        raise ValueError(
            "token_mode='subtoken' needs subtoken_counts: one list of piece counts per gold sentence"
        )
    gold_tags, predicted = _gold_and_checked_tags(task, gold, ids, aligned)
    return albeto_subtoken_scores(gold_tags, predicted, subtoken_counts)


_SCORERS: dict[TaskType, Callable[[ResolvedTask, Dataset, list[str], list[object]], dict[str, float]]] = {
    "extractive_qa": _score_qa,
    "sequence_classification": _score_classification,
    "token_classification": _score_tokens,
}
