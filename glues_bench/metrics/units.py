"""Per-unit sufficient statistics: what a bootstrap over test units needs to recompute the official metric.

A *unit* is what the test set is made of and what a bootstrap resamples: a pair or document
(classification), a sentence (NER, POS), a question (QA). Each unit contributes a row of counts whose
column sums give every metric of `score_predictions` exactly, so any resample of units (a vector of
per-unit multiplicities) yields the metric on that resample with one matrix product:

- classification: `correct, units` → accuracy = correct / units
- POS (`plain` tags): `correct, predicted, words` → accuracy = correct / words, P = correct / predicted,
  R = correct / words (a missing sentence predicts no word)
- NER (`iob2`): `true_positive, predicted, gold, correct_tokens, tokens` → entity P/R/F1 from the sums
  (seqeval's default chunking, as `tagging.entity_scores`), accuracy = correct_tokens / tokens
- QA: `f1, exact_match, units` → per question the max over its gold answers, with the variant's
  normaliser, as `qa.qa_scores`

Everything is in percent, as `glues_bench.metrics` reports it; 0 where a ratio is undefined, as there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from glues_bench.errors import SpecError
from glues_bench.metrics.qa import exact_match_score, f1_score
from glues_bench.metrics.score import (
    _checked_label,
    _checked_tags,
    _checked_text,
    _reject_nulls,
    _reject_unknown_ids,
)
from glues_bench.tasks.spec import QAScoring, ResolvedTask

if TYPE_CHECKING:
    from datasets import Dataset

UnitKind = Literal["classification", "tags", "entities", "qa"]
"""How a unit's counts turn into metrics: accuracy; per-word tags (POS); entities (NER); QA F1/EM."""

COLUMNS: dict[UnitKind, tuple[str, ...]] = {
    "classification": ("correct", "units"),
    "tags": ("correct", "predicted", "words"),
    "entities": ("true_positive", "predicted", "gold", "correct_tokens", "tokens"),
    "qa": ("f1", "exact_match", "units"),
}


@dataclass(frozen=True, eq=False)
class UnitStatistics:
    """One run's per-unit counts on one split: `values[i]` is unit i's row, columns named by `COLUMNS[kind]`.

    `score_metrics` are the spec's: the task score is their mean (QA: mean of F1 and EM)."""

    kind: UnitKind
    values: np.ndarray  # float64, shape (n_units, len(COLUMNS[kind]))
    score_metrics: tuple[str, ...]

    @property
    def n_units(self) -> int:
        return int(self.values.shape[0])

    def metrics(self) -> dict[str, float]:
        """Every metric on the full sample (equals `score_predictions(...).metrics`)."""
        return {
            name: float(value) for name, value in metrics_from_sums(self.kind, self.values.sum(0)).items()
        }

    def score(self) -> float:
        """The task score on the full sample (equals `score_predictions(...).score`)."""
        return float(self.resampled_scores(np.ones((1, self.n_units)))[0])

    def resampled_scores(self, multiplicities: np.ndarray) -> np.ndarray:
        """The task score per resample; `multiplicities` (B, n_units): how often each unit is drawn."""
        sums = multiplicities @ self.values  # (B, k): exact for integer counts, one BLAS call
        return score_from_sums(self.kind, self.score_metrics, sums)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """100 · n / d, and 0 where d is 0 (as the metrics report an undefined ratio)."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, 100.0 * numerator / safe, 0.0)


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    total = precision + recall
    return np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1.0), 0.0)


def metrics_from_sums(kind: UnitKind, sums: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics in percent from column sums; `sums` has shape (..., k), every result shape (...)."""
    sums = np.asarray(sums, dtype=np.float64)
    if kind == "classification":
        correct, units = sums[..., 0], sums[..., 1]
        return {"accuracy": _ratio(correct, units)}
    if kind == "tags":
        correct, predicted, words = sums[..., 0], sums[..., 1], sums[..., 2]
        precision, recall = _ratio(correct, predicted), _ratio(correct, words)
        # tag_scores computes F1 on fractions; on percentages the same formula gives 100 × that F1.
        return {"accuracy": recall, "precision": precision, "recall": recall, "f1": _f1(precision, recall)}
    if kind == "entities":
        true_positive, predicted, gold = sums[..., 0], sums[..., 1], sums[..., 2]
        precision, recall = _ratio(true_positive, predicted), _ratio(true_positive, gold)
        return {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "accuracy": _ratio(sums[..., 3], sums[..., 4]),
        }
    if kind == "qa":
        f1, exact_match, units = sums[..., 0], sums[..., 1], sums[..., 2]
        return {"f1": _ratio(f1, units), "exact_match": _ratio(exact_match, units)}
    raise ValueError(f"unknown unit kind {kind!r}; expected one of {sorted(COLUMNS)}")


def score_from_sums(kind: UnitKind, score_metrics: Sequence[str], sums: np.ndarray) -> np.ndarray:
    """The task score (mean of `score_metrics`) from column sums of shape (..., k)."""
    metrics = metrics_from_sums(kind, sums)
    unknown = [name for name in score_metrics if name not in metrics]
    if unknown:
        raise SpecError(f"score metric(s) {', '.join(unknown)} cannot be computed from {kind} units")
    return sum(metrics[name] for name in score_metrics) / len(score_metrics)


# --- per-unit rows from gold and aligned predictions (None = missing) ----------------------------------


def classification_units(gold: Sequence[str], predictions: Sequence[str | None]) -> np.ndarray:
    """Rows `correct, units`: a missing prediction is wrong."""
    correct = [p is not None and p == g for g, p in zip(gold, predictions, strict=True)]
    return np.column_stack([np.asarray(correct, dtype=np.float64), np.ones(len(gold))])


def tag_units(gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str] | None]) -> np.ndarray:
    """Rows `correct, predicted, words` per sentence: a missing sentence predicts no word."""
    rows = np.zeros((len(gold), 3))
    for i, (gold_tags, predicted_tags) in enumerate(zip(gold, predictions, strict=True)):
        rows[i, 2] = len(gold_tags)
        if predicted_tags is not None:
            rows[i, 0] = sum(g == p for g, p in zip(gold_tags, predicted_tags, strict=True))
            rows[i, 1] = len(predicted_tags)
    return rows


def iob_chunks(sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """Every chunk of every sentence as seqeval's default mode (`get_entities`) reads IOB tags, vectorised:
    an int64 array (n_chunks, 4) of `sentence, type, start, end` (word positions inside the sentence, end
    inclusive; type numbered in order of first appearance, so equal within one call).

    `B-X` always starts a chunk; `I-X` continues a chunk of type X and otherwise starts one; `O` ends one
    (seqeval's `start_of_chunk`/`end_of_chunk` restricted to B/I/O). Sentences never share a chunk."""
    types: dict[str, int] = {}
    code_of: dict[str, tuple[int, int]] = {}
    flat: list[tuple[int, int]] = []
    sentence_of: list[int] = []
    offsets: list[int] = []
    for index, tags in enumerate(sentences):
        offsets.append(len(flat))
        for tag in tags:
            code = code_of.get(tag)
            if code is None:
                head, _, entity_type = tag.partition("-")
                prefix = {"B": 1, "I": 2}.get(head, 0)
                code = code_of[tag] = (prefix, types.setdefault(entity_type, len(types)) if prefix else -1)
            flat.append(code)
        flat.append((0, -1))  # an O between sentences, as seqeval joins them
        sentence_of.extend([index] * (len(tags) + 1))
    if not flat:
        return np.zeros((0, 4), dtype=np.int64)
    codes = np.asarray(flat, dtype=np.int64)
    prefix, entity = codes[:, 0], codes[:, 1]
    previous_prefix = np.concatenate([[0], prefix[:-1]])
    previous_entity = np.concatenate([[-1], entity[:-1]])
    continues = (prefix == 2) & (previous_prefix != 0) & (previous_entity == entity)
    starts = np.flatnonzero((prefix != 0) & ~continues)
    ends = np.flatnonzero((prefix != 0) & ~np.concatenate([continues[1:], [False]]))
    sentence = np.asarray(sentence_of, dtype=np.int64)[starts]
    base = np.asarray(offsets, dtype=np.int64)[sentence]
    return np.column_stack([sentence, entity[starts], starts - base, ends - base])


def entity_units(gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str] | None]) -> np.ndarray:
    """Rows `true_positive, predicted, gold, correct_tokens, tokens` per sentence.

    Entities are seqeval's default-mode chunks (conlleval-compatible, see `iob_chunks`): seqeval joins
    sentences with an `O`, so no chunk crosses a sentence and micro sums per sentence are exact. A missing
    sentence predicts all `O` (no entity, every word wrong), as `entity_scores` and `token_accuracy` do."""
    n = len(gold)
    filled = [["O"] * len(g) if p is None else list(p) for g, p in zip(gold, predictions, strict=True)]
    # One call for gold and predictions (sentences n..2n-1), so entity types share their numbers.
    chunks = iob_chunks([*gold, *filled])
    is_gold = chunks[:, 0] < n
    chunks[~is_gold, 0] -= n
    width = max((len(g) for g in gold), default=0) + 1
    keys = (chunks[:, 0] * (int(chunks[:, 1].max(initial=0)) + 1) + chunks[:, 1]) * width + chunks[:, 2]
    keys = keys * width + chunks[:, 3]
    matched = np.isin(keys[~is_gold], keys[is_gold])
    rows = np.zeros((n, 5))
    rows[:, 0] = np.bincount(chunks[~is_gold, 0][matched], minlength=n)
    rows[:, 1] = np.bincount(chunks[~is_gold, 0], minlength=n)
    rows[:, 2] = np.bincount(chunks[is_gold, 0], minlength=n)
    rows[:, 3] = [
        0 if p is None else sum(a == b for a, b in zip(g, p, strict=True))
        for g, p in zip(gold, predictions, strict=True)
    ]
    rows[:, 4] = [len(g) for g in gold]
    return rows


def qa_units(
    gold_answers: Sequence[Sequence[str]], predictions: Sequence[str | None], scoring: QAScoring
) -> np.ndarray:
    """Rows `f1, exact_match, units` per question (F1 and EM in [0, 1], max over the gold answers);
    a missing prediction, or a question without gold answers, scores 0 as in `qa_scores`."""
    rows = np.zeros((len(gold_answers), 3))
    rows[:, 2] = 1.0
    for i, (answers, prediction) in enumerate(zip(gold_answers, predictions, strict=True)):
        if prediction is None or not answers:
            continue
        rows[i, 0] = max(f1_score(prediction, answer, scoring) for answer in answers)
        rows[i, 1] = max(exact_match_score(prediction, answer, scoring) for answer in answers)
    return rows


def unit_kind(task: ResolvedTask) -> UnitKind:
    """Which unit rows a task type (and tagging scheme) uses."""
    if task.task_type == "sequence_classification":
        return "classification"
    if task.task_type == "extractive_qa":
        return "qa"
    if task.spec.tagging_scheme == "iob2":
        return "entities"
    if task.spec.tagging_scheme == "plain":
        return "tags"
    raise SpecError(f"{task.name}: no unit statistics for tagging scheme {task.spec.tagging_scheme!r}")


def unit_statistics(task: ResolvedTask, gold: Dataset, predictions: Mapping[str, object]) -> UnitStatistics:
    """Per-unit statistics of `predictions` against `gold`, checked exactly as `score_predictions` checks
    them (unknown ids, nulls, labels or tags outside the label set raise `PredictionError`)."""
    kind = unit_kind(task)
    # One columnar conversion: indexing a Dataset column decodes it row by row (10× slower on 5,000 rows).
    needed = {"classification": "label", "qa": "answers"}.get(kind, "tags")
    columns = gold.select_columns(["id", needed]).to_dict()
    ids = [str(example_id) for example_id in columns["id"]]
    _reject_unknown_ids(task, ids, predictions)
    _reject_nulls(predictions)
    aligned = [predictions.get(example_id) for example_id in ids]
    if kind == "classification":
        labels = [
            None if v is None else _checked_label(task, i, v) for i, v in zip(ids, aligned, strict=True)
        ]
        values = classification_units(columns["label"], labels)
    elif kind == "qa":
        if task.qa_scoring is None:
            raise SpecError(f"{task.name}: an extractive-QA task needs qa_scoring")
        texts = [None if v is None else _checked_text(i, v) for i, v in zip(ids, aligned, strict=True)]
        values = qa_units([list(entry["text"]) for entry in columns["answers"]], texts, task.qa_scoring)
    else:
        gold_tags = [list(tags) for tags in columns["tags"]]
        predicted = [
            None if v is None else _checked_tags(task, i, v, len(tags))
            for i, v, tags in zip(ids, aligned, gold_tags, strict=True)
        ]
        values = (entity_units if kind == "entities" else tag_units)(gold_tags, predicted)
    return UnitStatistics(kind=kind, values=values, score_metrics=tuple(task.spec.score_metrics))


# --- storage: what the runner keeps so that a site build needs no gold data ----------------------------


def encode_units(values: np.ndarray) -> bytes:
    """Unit rows as bytes for the store: a `.npy` payload (float64, no pickle), zlib-compressed (counts of
    0/1 compress tenfold)."""
    import io
    import zlib

    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(values, dtype=np.float64), allow_pickle=False)
    return zlib.compress(buffer.getvalue(), 6)


def decode_units(payload: bytes) -> np.ndarray:
    """The inverse of `encode_units` (never unpickles)."""
    import io
    import zlib

    return np.load(io.BytesIO(zlib.decompress(payload)), allow_pickle=False)
