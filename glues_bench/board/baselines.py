"""Baselines computed from the data, scored by the task's own metrics on its test split.

- sequence classification: the majority class of the train split (ties: the spec's label order first)
- NER (IOB2): every word `O`
- POS (plain tags): each word's most frequent tag in train (ties: label order), else the overall most
  frequent tag
- extractive QA: the empty answer

What a baseline is fitted on is never the test split: train when it can be loaded, else the dev split,
and `fitted_on` / `note` say which, so the board can show it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from glues_bench.errors import SpecError
from glues_bench.metrics import ScoreResult, score_predictions
from glues_bench.metrics.units import UnitStatistics, unit_kind, unit_statistics
from glues_bench.tasks.spec import ResolvedTask

if TYPE_CHECKING:
    from glues_bench.data import LoadedSplit

BaselineKind = Literal["majority_class", "all_o", "most_frequent_tag", "empty_answer"]


@dataclass(frozen=True, eq=False)
class Baseline:
    """One task's baseline on its test split: predictions, official score and per-unit statistics."""

    task: str
    variant: str
    kind: BaselineKind
    fitted_on: str | None  # "train" or "dev" (with its source), None when nothing is fitted
    note: str
    predictions: dict[str, object]
    result: ScoreResult
    units: UnitStatistics
    test_source: str
    test_fingerprint: str = ""

    @property
    def score(self) -> float:
        return self.result.score


def majority_label(labels: Sequence[str], label_order: Sequence[str]) -> str:
    """The most frequent label; ties go to the label that comes first in the spec."""
    counts = Counter(labels)
    if not counts:
        raise ValueError("no labels to take a majority from")
    return max(label_order, key=lambda label: (counts.get(label, 0), -label_order.index(label)))


def most_frequent_tags(
    sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], label_order: Sequence[str]
) -> tuple[dict[str, str], str]:
    """Per word its most frequent tag, and the overall most frequent tag (ties: label order)."""
    per_word: dict[str, Counter[str]] = defaultdict(Counter)
    for words, word_tags in zip(sentences, tags, strict=True):
        for word, tag in zip(words, word_tags, strict=True):
            per_word[word][tag] += 1
    rank = {label: i for i, label in enumerate(label_order)}
    lexicon = {
        word: max(counts, key=lambda tag: (counts[tag], -rank.get(tag, len(rank))))
        for word, counts in per_word.items()
    }
    overall = majority_label([t for word_tags in tags for t in word_tags], label_order)
    return lexicon, overall


def _shown(source: str, data_dir: Path | None) -> str:
    """A split's source with the data directory written as `<data-dir>`: no machine path on a page."""
    return source.replace(str(data_dir), "<data-dir>") if data_dir is not None else source


def _fit_split(task: ResolvedTask, data_dir: Path | None, hub: bool):
    """Train when available, else dev (never test): (loaded split, "train"/"dev", note)."""
    from glues_bench.data import DataUnavailable, load_split

    try:
        train = load_split(task, "train", data_dir, hub_fallback=hub)
        return train, "train", f"fitted on the train split ({_shown(train.source, data_dir)})"
    except DataUnavailable:
        dev = load_split(task, "dev", data_dir, hub_fallback=hub)
        return (
            dev,
            "dev",
            f"no train split available: fitted on the dev split ({_shown(dev.source, data_dir)})",
        )


def compute_baseline(
    task: ResolvedTask, data_dir: Path | None, test: LoadedSplit | None = None, *, hub: bool | None = None
) -> Baseline:
    """The task's baseline predictions on its test split, scored with `score_predictions`. `test`: the
    test split as a run loaded it (e.g. cut by `--limit`), so its baseline is on the same units. `hub`:
    whether splits missing locally come from the hub; by default only without `data_dir`, as in `run`."""
    from glues_bench.data import load_split

    hub = data_dir is None if hub is None else hub
    test = test if test is not None else load_split(task, "test", data_dir, hub_fallback=hub)
    gold = test.dataset
    ids = [str(i) for i in gold["id"]]
    kind = unit_kind(task)
    fitted_on: str | None = None
    predictions: dict[str, object]
    if kind == "classification":
        fit, fitted_on, note = _fit_split(task, data_dir, hub)
        label = majority_label(list(fit.dataset["label"]), task.labels)
        predictions = dict.fromkeys(ids, label)
        baseline_kind: BaselineKind = "majority_class"
        note = f"majority class {label!r}; {note}"
    elif kind == "entities":
        predictions = {i: ["O"] * len(words) for i, words in zip(ids, gold["tokens"], strict=True)}
        baseline_kind, note = "all_o", "every word tagged O (no entity)"
    elif kind == "tags":
        fit, fitted_on, note = _fit_split(task, data_dir, hub)
        lexicon, overall = most_frequent_tags(fit.dataset["tokens"], fit.dataset["tags"], task.labels)
        predictions = {
            i: [lexicon.get(word, overall) for word in words]
            for i, words in zip(ids, gold["tokens"], strict=True)
        }
        baseline_kind = "most_frequent_tag"
        note = f"most frequent tag per word, unseen words {overall!r}; {note}"
    elif kind == "qa":
        predictions = dict.fromkeys(ids, "")
        baseline_kind, note = "empty_answer", "the empty answer for every question"
    else:  # pragma: no cover - unit_kind covers every task type
        raise SpecError(f"{task.name}: no baseline for {kind}")
    if fitted_on is not None:
        fitted_on = f"{fitted_on}: {_shown(fit.source, data_dir)}"
    return Baseline(
        task=task.name,
        variant=task.variant,
        kind=baseline_kind,
        fitted_on=fitted_on,
        note=note,
        predictions=predictions,
        result=score_predictions(task, gold, predictions),
        units=unit_statistics(task, gold, predictions),
        test_source=_shown(test.source, data_dir),
        test_fingerprint=test.fingerprint,
    )
