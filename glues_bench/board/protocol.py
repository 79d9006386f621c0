"""The protocol of a result: `full` when it is what the benchmark asks for, `limited` otherwise, and why.

A run is limited when it was cut (`--limit`: every split cut to its first n examples), its training data
was capped (`--train-limit`), or it trained on part of the dev split (no train split was available). A
cell (one model × task) is limited when its selected config's runs are, or when it rests on one seed
(one number says nothing about the spread over seeds). A row is limited when any of its cells is.
What a run did is read from what the runner recorded in its `details` (`limit`, `train_limit`,
`train_note`), so runs stored before this module existed get a protocol too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glues_bench.store.records import RunRecord

__all__ = [
    "DEV_FOR_TRAINING",
    "ONE_SEED",
    "merge_reasons",
    "run_limitations",
]

DEV_FOR_TRAINING = "dev split used for training"
ONE_SEED = "one seed"


def run_limitations(run: RunRecord) -> tuple[str, ...]:
    """Why one run is not a full run, in words (empty: it is full)."""
    details = run.details or {}
    reasons = []
    if details.get("limit") is not None:
        reasons.append(f"limit: first {details['limit']} examples of each split")
    if details.get("train_limit") is not None:
        reasons.append(f"train cap: {details['train_limit']} training examples")
    if details.get("train_note"):
        reasons.append(DEV_FOR_TRAINING)
    return tuple(reasons)


def merge_reasons(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """The union of several reason lists, first-seen order (so a row's reasons read in task order)."""
    merged: dict[str, None] = {}
    for group in groups:
        merged.update(dict.fromkeys(group))
    return tuple(merged)
