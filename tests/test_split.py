"""Cutting a dev split into train and selection parts (issue 11.1) and `--train-limit` (11.2)."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

import pytest
from datasets import Dataset

from glues_bench.data import LoadedSplit, load_split
from glues_bench.data.split import dev_cut, first, split_dev
from glues_bench.demo import demo_data_dir
from glues_bench.errors import DataError
from glues_bench.runner import load_task_data
from glues_bench.tasks import get_task

DEMO = demo_data_dir()


def _qa_split(articles: list[tuple[str, int]]) -> LoadedSplit:
    titles = [title for title, n in articles for _ in range(n)]
    rows = Dataset.from_dict({"id": [f"q{i}" for i in range(len(titles))], "title": titles})
    return LoadedSplit(dataset=rows, fingerprint="-", source="dev.json")


def _cut(articles: list[tuple[str, int]]) -> int:
    train_part, dev_part = split_dev(_qa_split(articles))
    assert not set(train_part.dataset["title"]) & set(dev_part.dataset["title"])
    return len(train_part.dataset)


@pytest.mark.parametrize(
    ("articles", "expected_cut"),
    [
        # 80% of 300 is 240, inside A: the nearest boundary is *before* it (200), not the end of the data.
        ([("A", 200), ("B", 100)], 200),
        ([("A", 250), ("B", 50)], 250),  # nearest boundary after the target
        ([("A", 100), ("B", 180), ("C", 20)], 100),  # 280 is nearer but leaves 20 < 10% of 300 for selection
        ([("A", 230), ("B", 20), ("C", 50)], 230),  # 230 and 250 are both 10 away: more for selection
    ],
)
def test_the_cut_goes_to_the_nearest_article_boundary_on_either_side(articles, expected_cut: int) -> None:
    assert _cut(articles) == expected_cut


def test_no_boundary_leaving_ten_percent_is_refused_in_one_line() -> None:
    # The case: --limit 300 on XQuAD, whose first TAR dev article has 420 questions.
    with pytest.raises(DataError) as caught:
        split_dev(_qa_split([("Super Bowl _ 50", 300)]))
    message = str(caught.value)
    assert "\n" not in message and "no article boundary leaves at least 30 (10%)" in message
    with pytest.raises(DataError, match="leaves at least 30"):
        split_dev(_qa_split([("A", 290), ("B", 10)]))  # the only boundary leaves 10 < 30


def test_without_qa_articles_the_cut_is_eighty_percent() -> None:
    assert dev_cut(None, 10) == 8
    assert dev_cut(None, 2) == 1
    assert dev_cut(None, 1001) == 801
    with pytest.raises(DataError):
        dev_cut(None, 1)


def test_real_tar_dev_with_limit_300_is_refused_and_whole_is_cut_between_articles(shared_data: Path) -> None:
    task = get_task("xquad").resolve()
    dev = load_split(task, "dev", shared_data)
    first_article = len(list(next(groupby(dev.dataset["title"]))[1]))
    assert first_article == 420  # what makes --limit 300 impossible to split honestly
    with pytest.raises(DataError, match="no article boundary"):
        split_dev(load_split(task, "dev", shared_data, limit=300))
    train_part, _ = split_dev(load_split(task, "dev", shared_data, limit=1000))
    n_train = len(train_part.dataset)
    titles = dev.dataset["title"][:1000]
    boundaries = [i for i in range(1, 1000) if titles[i] != titles[i - 1]]
    assert n_train in boundaries and 1000 - n_train >= 100
    assert all(abs(b - 800) >= abs(n_train - 800) for b in boundaries if 1000 - b >= 100)


def test_train_limit_wins_over_limit_for_train_only() -> None:
    task = get_task("pos").resolve()
    data = load_task_data(task, DEMO, limit=5, train_limit=12)
    assert (len(data.train.dataset), len(data.dev.dataset), len(data.test.dataset)) == (12, 5, 5)
    data = load_task_data(task, DEMO, limit=12, train_limit=5)
    assert (len(data.train.dataset), len(data.dev.dataset), len(data.test.dataset)) == (5, 12, 12)
    data = load_task_data(task, DEMO, limit=7)
    assert len(data.train.dataset) == 7


def test_first_keeps_a_split_that_is_already_small_enough() -> None:
    loaded = _qa_split([("A", 3)])
    assert first(loaded, 10) is loaded
    assert first(loaded, 2).dataset["id"] == ["q0", "q1"]
