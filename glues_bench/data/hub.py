"""Hugging Face hub copies of GLUES splits, converted to the schema of `schema.py`.

Conversion dispatches on the task type and on the hub dataset's own features, never on a task's name:
integer labels become label names through their `ClassLabel`, and the tag column of a token task is
the `ClassLabel` sequence whose names match the task's label set (CoNLL-2002 has both `pos_tags` and
`ner_tags`; only the latter names IOB2 tags).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

from datasets import ClassLabel, Dataset, List

from glues_bench.data.formats import Columns
from glues_bench.errors import DataError
from glues_bench.tasks.spec import HubSource, ResolvedTask, TaskType

log = logging.getLogger(__name__)

# Hub datasets name their text columns differently; the first pair present is used.
PAIR_TEXT_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"), ("question", "sentence"))
SINGLE_TEXT_COLUMNS = ("text", "sentence")
QA_COLUMNS = ("id", "context", "question", "answers")
# universal_dependencies tags multiword tokens ("del") and empty nodes with UPOS "_": neither is a word.
NOT_A_WORD = "_"

_warned_unpinned: set[str] = set()


def describe(hub: HubSource) -> str:
    """`hub:path/config@revision` (or `@unpinned`), the human-readable source of a split."""
    name = f"{hub.path}/{hub.config}" if hub.config else hub.path
    return f"hub:{name}@{hub.revision or 'unpinned'}"


def warn_unpinned(hub: HubSource) -> None:
    """Warn once per dataset that a hub source has no pinned revision."""
    if hub.revision is None and describe(hub) not in _warned_unpinned:
        _warned_unpinned.add(describe(hub))
        warnings.warn(
            f"{describe(hub)}: no revision pinned in the task spec; the hub copy may change under you "
            "(the split's content fingerprint is recorded with every run)",
            stacklevel=4,
        )


def fetch(hub: HubSource) -> Dataset:
    """The split as a `datasets.Dataset`, read as its `kind` says; warns once when it is unpinned.

    Network and not-found failures propagate as `OSError` (ConnectionError, DatasetNotFoundError, ...):
    the loader turns them into `DataUnavailable`.
    """
    warn_unpinned(hub)
    log.info("loading %s split %s (%s)", describe(hub), hub.split, hub.kind)
    from glues_bench.data.sources import load_hub_dataset

    return load_hub_dataset(hub)


def to_columns(dataset: Dataset, task: ResolvedTask, origin: str) -> Columns:
    """The hub rows as columns of our schema (without positional ids); `origin` names it in errors."""
    columns = HUB_CONVERTERS[task.task_type](dataset, task, origin)
    if not next(iter(columns.values())):
        raise DataError(f"{origin}: no examples")
    return columns


def _require(dataset: Dataset, names: tuple[str, ...], origin: str) -> None:
    missing = [n for n in names if n not in dataset.column_names]
    if missing:
        raise DataError(
            f"{origin}: missing column(s) {', '.join(missing)}; has {', '.join(dataset.column_names)}"
        )


def _check_label(label: str, labels: tuple[str, ...], origin: str, index: int) -> str:
    if label not in labels:
        raise DataError(
            f"{origin}: example {index}: label {label!r} is not in the task's label set {list(labels)}"
        )
    return label


def _tag_column(dataset: Dataset, labels: tuple[str, ...], origin: str) -> tuple[str, list[str]]:
    """The `ClassLabel` sequence column sharing the most names with the task's labels, and its names."""
    candidates = [
        (len(set(feature.feature.names) & set(labels)), name, feature.feature.names)
        for name, feature in dataset.features.items()
        if isinstance(feature, List) and isinstance(feature.feature, ClassLabel)
    ]
    best = max(candidates, default=(0, "", []))
    if best[0] == 0:
        raise DataError(f"{origin}: no ClassLabel sequence column whose names match the task's labels")
    return best[1], best[2]


def _token_columns(dataset: Dataset, task: ResolvedTask, origin: str) -> Columns:
    _require(dataset, ("tokens",), origin)
    tag_column, names = _tag_column(dataset, task.labels, origin)
    drop = NOT_A_WORD not in task.labels
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    data = dataset.select_columns(["tokens", tag_column]).to_dict()
    for i, (words, ids) in enumerate(zip(data["tokens"], data[tag_column], strict=True)):
        kept = [
            (w, names[t]) for w, t in zip(words, ids, strict=True) if not (drop and names[t] == NOT_A_WORD)
        ]
        tokens.append([w for w, _ in kept])
        tags.append([_check_label(tag, task.labels, origin, i) for _, tag in kept])
    return {"tokens": tokens, "tags": tags}


def _text_columns(dataset: Dataset, pair: bool, origin: str) -> tuple[str, str | None]:
    if pair:
        found = next((p for p in PAIR_TEXT_COLUMNS if set(p) <= set(dataset.column_names)), None)
        if found is None:
            raise DataError(f"{origin}: no text pair columns among {PAIR_TEXT_COLUMNS}")
        return found
    single = next((c for c in SINGLE_TEXT_COLUMNS if c in dataset.column_names), None)
    if single is None:
        raise DataError(f"{origin}: no text column among {SINGLE_TEXT_COLUMNS}")
    return single, None


def _label_names(dataset: Dataset, origin: str) -> list[str]:
    feature = dataset.features["label"]
    values: list[Any] = list(dataset["label"])
    if isinstance(feature, ClassLabel):
        for i, value in enumerate(values):
            if value < 0:  # -1 marks an unlabelled example (e.g. a hidden test set)
                raise DataError(f"{origin}: example {i}: no label (-1)")
        return [feature.names[v] for v in values]
    return [str(v) for v in values]


def _sequence_columns(dataset: Dataset, task: ResolvedTask, origin: str) -> Columns:
    _require(dataset, ("label",), origin)
    first, second = _text_columns(dataset, task.spec.pair, origin)
    labels = [_check_label(x, task.labels, origin, i) for i, x in enumerate(_label_names(dataset, origin))]
    text_pair = list(dataset[second]) if second else [None] * len(dataset)
    return {"text": list(dataset[first]), "text_pair": text_pair, "label": labels}


def _qa_columns(dataset: Dataset, task: ResolvedTask, origin: str) -> Columns:
    _require(dataset, QA_COLUMNS, origin)
    data = dataset.select_columns([c for c in (*QA_COLUMNS, "title") if c in dataset.column_names]).to_dict()
    answers = [{"text": a["text"], "answer_start": a["answer_start"]} for a in data["answers"]]
    return {
        "id": [str(i) for i in data["id"]],
        "title": data.get("title", [""] * len(dataset)),
        "context": data["context"],
        "question": data["question"],
        "answers": answers,
    }


# How hub rows of each task type become our schema's columns (defined last: it names the functions above).
HUB_CONVERTERS: dict[TaskType, Callable[[Dataset, ResolvedTask, str], Columns]] = {
    "token_classification": _token_columns,
    "sequence_classification": _sequence_columns,
    "extractive_qa": _qa_columns,
}
