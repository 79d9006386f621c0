"""Cutting loaded splits: the first N examples, and a dev split cut into train and selection parts.

When a task has dev and test but no train split, `run` trains on the leading part of dev and selects on
the rest. The promise (README): no QA article is on both sides, and selection keeps enough examples to
mean something. The cut goes to the article boundary nearest the target on either side; when no boundary
leaves `MIN_SELECTION_FRACTION` of the examples for selection, the split is refused in one line.
"""

from __future__ import annotations

import math
from dataclasses import replace

from glues_bench.data.loader import LoadedSplit, dataset_fingerprint
from glues_bench.errors import DataError

DEV_TRAIN_FRACTION = 0.8
"""With no train split, this much of dev trains and the rest selects."""

MIN_SELECTION_FRACTION = 0.1
"""A cut that leaves less than this share of dev for selection is refused: selection would be noise."""


def first(loaded: LoadedSplit, n: int) -> LoadedSplit:
    """The first `n` examples of `loaded` (all of them when it has fewer), re-fingerprinted."""
    if n >= len(loaded.dataset):
        return loaded
    rows = loaded.dataset.select(range(n))
    return replace(
        loaded, dataset=rows, fingerprint=dataset_fingerprint(rows), source=f"{loaded.source} [first {n}]"
    )


def dev_cut(titles: list[str] | None, n_rows: int, train_fraction: float = DEV_TRAIN_FRACTION) -> int:
    """Where to cut `n_rows` dev examples: the allowed boundary nearest `train_fraction` of them.

    `titles` (QA only) are the article of each row; a boundary is a position whose article differs from
    the previous row's, so no article is on both sides. A boundary is allowed when at least one example
    trains and at least `MIN_SELECTION_FRACTION` (and one example) is left for selection. Ties go to the
    smaller cut, which leaves more for selection.
    """
    if n_rows < 2:
        raise DataError(f"{n_rows} dev example(s): too few to split into train and selection parts")
    min_selection = max(1, math.ceil(n_rows * MIN_SELECTION_FRACTION))
    target = n_rows * train_fraction
    if titles is None:
        boundaries = range(1, n_rows)
    else:
        boundaries = [i for i in range(1, n_rows) if titles[i] != titles[i - 1]]
    allowed = [cut for cut in boundaries if n_rows - cut >= min_selection]
    if not allowed:
        articles = 1 + len(boundaries) if titles is not None else n_rows
        raise DataError(
            f"{n_rows} dev examples in {articles} article(s): no article boundary leaves at least "
            f"{min_selection} ({MIN_SELECTION_FRACTION:.0%}) for selection; use a larger --limit or a "
            "train split"
        )
    return min(allowed, key=lambda cut: (abs(cut - target), cut))


def split_dev(
    dev: LoadedSplit, train_fraction: float = DEV_TRAIN_FRACTION
) -> tuple[LoadedSplit, LoadedSplit]:
    """Cut dev into a leading train part and a trailing selection part, never splitting a QA article.

    Selection then happens on examples the model did not train on. Ids keep their position in the dev
    file, so dev predictions cover only the trailing part of it.
    """
    rows = dev.dataset
    titles = rows["title"] if "title" in rows.column_names else None
    try:
        cut = dev_cut(titles, len(rows), train_fraction)
    except DataError as exc:
        raise DataError(f"cannot split the dev split ({dev.source}) into train and selection: {exc}") from exc
    parts = rows.select(range(cut)), rows.select(range(cut, len(rows)))
    return tuple(  # type: ignore[return-value]
        replace(dev, dataset=part, fingerprint=dataset_fingerprint(part), source=f"{dev.source} [{label}]")
        for part, label in zip(parts, (f":{cut}", f"{cut}:"), strict=True)
    )
