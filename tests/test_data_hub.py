"""The hub path of `load_split`, with `datasets.load_dataset` replaced by small in-memory copies that
carry the hub datasets' real features (ClassLabel columns, extra columns, UD's "_" tag)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import datasets
import pytest
from datasets import ClassLabel, Dataset, Features, List, Value

from glues_bench.data import DataUnavailable, load_split
from glues_bench.data import hub as hub_module
from glues_bench.errors import DataError
from glues_bench.tasks.registry import get_task
from glues_bench.tasks.spec import HubSource, SplitSource

CONLL_NER_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
UD_UPOS_NAMES = [
    "NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET",
    "CCONJ", "PROPN", "PRON", "X", "_", "ADV", "INTJ", "VERB", "AUX",
]  # fmt: skip


def conll2002_hub() -> Dataset:
    features = Features(
        {
            "id": Value("string"),
            "tokens": List(Value("string")),
            "pos_tags": List(ClassLabel(names=["DA", "NP", "RG", "VSI"])),
            "ner_tags": List(ClassLabel(names=CONLL_NER_NAMES)),
        }
    )
    rows = {
        "id": ["0", "1"],
        "tokens": [["El", "Pepe"], ["Ya"]],
        "pos_tags": [[0, 1], [2]],
        "ner_tags": [[0, 1], [0]],
    }
    return Dataset.from_dict(rows, features=features)


def universal_dependencies_hub() -> Dataset:
    features = Features(
        {
            "idx": Value("string"),
            "tokens": List(Value("string")),
            "upos": List(ClassLabel(names=UD_UPOS_NAMES)),
            "xpos": List(Value("string")),
        }
    )
    upos = [[UD_UPOS_NAMES.index(t) for t in ("VERB", "_", "ADP", "DET", "NOUN")]]
    rows = {
        "idx": ["s1"],
        "tokens": [["Vino", "del", "de", "el", "mar"]],
        "upos": upos,
        "xpos": [["v", None, "s", "d", "n"]],
    }
    return Dataset.from_dict(rows, features=features)


def xnli_hub(labels: list[int]) -> Dataset:
    features = Features(
        {
            "premise": Value("string"),
            "hypothesis": Value("string"),
            "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
        }
    )
    n = len(labels)
    return Dataset.from_dict(
        {"premise": [f"p{i}" for i in range(n)], "hypothesis": [f"h{i}" for i in range(n)], "label": labels},
        features=features,
    )


def squad_hub(with_title: bool) -> Dataset:
    answers = {"text": List(Value("string")), "answer_start": List(Value("int32"))}
    columns = {
        "id": Value("string"),
        "context": Value("string"),
        "question": Value("string"),
        "answers": answers,
    }
    rows = {
        "id": ["56be4db0acb8001400a502ec"],
        "context": ["El Super Bowl 50 fue un partido."],
        "question": ["¿Qué fue?"],
        "answers": [{"text": ["un partido", "partido"], "answer_start": [21, 24]}],
    }
    if with_title:
        columns["title"] = Value("string")
        rows["title"] = ["Super_Bowl_50"]
    return Dataset.from_dict(rows, features=Features(columns))


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The calls `serve` records; also forgets which datasets were already warned about."""
    calls: list[tuple] = []
    monkeypatch.setattr(hub_module, "_warned_unpinned", set())
    return calls


def serve(monkeypatch: pytest.MonkeyPatch, calls: list[tuple], dataset: Dataset | Exception) -> None:
    def load_dataset(path, name=None, *, split, revision=None, data_files=None):
        calls.append((path, name, split, revision))
        if isinstance(dataset, Exception):
            raise dataset
        return dataset

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def test_unpinned_warning_is_given_once(fake_hub: list, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, fake_hub, xnli_hub([0, 1]))
    task = get_task("xnli").resolve()
    with pytest.warns(UserWarning, match="no revision pinned"):
        load_split(task, "test", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_split(task, "test", None)
    assert not [w for w in caught if "no revision pinned" in str(w.message)]


def test_xnli_class_labels_become_names_and_limit_applies(
    fake_hub: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, fake_hub, xnli_hub([2, 0, 1, 1]))
    loaded = quietly(load_split, get_task("xnli").resolve(), "dev", None, limit=3)
    assert loaded.dataset.to_dict() == {
        "id": ["0", "1", "2"],
        "text": ["p0", "p1", "p2"],
        "text_pair": ["h0", "h1", "h2"],
        "label": ["contradiction", "entailment", "neutral"],
    }


def test_unlabelled_hub_example_is_an_error(fake_hub: list, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, fake_hub, xnli_hub([0, -1]))
    with pytest.raises(DataError, match=r"hub:facebook/xnli/es@unpinned: example 1: no label \(-1\)"):
        quietly(load_split, get_task("xnli").resolve(), "test", None)


def test_pawsx_labels_are_strings(fake_hub: list, monkeypatch: pytest.MonkeyPatch) -> None:
    features = Features(
        {
            "id": Value("int32"),
            "sentence1": Value("string"),
            "sentence2": Value("string"),
            "label": ClassLabel(names=["0", "1"]),
        }
    )
    rows = {"id": [4, 6], "sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [1, 0]}
    serve(monkeypatch, fake_hub, Dataset.from_dict(rows, features=features))
    loaded = quietly(load_split, get_task("pawsx").resolve(), "test", None)
    assert loaded.dataset["label"] == ["1", "0"]
    assert loaded.dataset["id"] == ["0", "1"]  # positions, not PAWS-X's own ids
    assert loaded.dataset["text_pair"] == ["c", "d"]


@pytest.mark.parametrize("with_title", [True, False])
def test_squad_style_hub_passes_through(
    fake_hub: list, monkeypatch: pytest.MonkeyPatch, with_title: bool
) -> None:
    serve(monkeypatch, fake_hub, squad_hub(with_title))
    loaded = quietly(load_split, get_task("xquad").resolve(), "test", None)
    assert fake_hub == [("google/xquad", "xquad.es", "validation", None)]
    row = loaded.dataset[0]
    assert row["id"] == "56be4db0acb8001400a502ec"
    assert row["title"] == ("Super_Bowl_50" if with_title else "")
    assert row["answers"] == {"text": ["un partido", "partido"], "answer_start": [21, 24]}


def test_pinned_revision_is_passed_and_named(fake_hub: list, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, fake_hub, xnli_hub([0]))
    task = get_task("xnli").resolve()
    sha = "0123456789abcdef0123456789abcdef01234567"
    pinned_dev = SplitSource(
        hub=HubSource(kind="parquet", path="facebook/xnli", config="es", split="validation", revision=sha)
    )
    pinned = dataclasses.replace(task, splits={**task.splits, "dev": pinned_dev})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pinned dataset must not warn
        loaded = load_split(pinned, "dev", None)
    assert fake_hub == [("facebook/xnli", "es", "validation", sha)]
    assert loaded.source == f"hub:facebook/xnli/es@{sha}"


def test_unreachable_hub_is_data_unavailable(
    fake_hub: list, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    serve(
        monkeypatch,
        fake_hub,
        ConnectionError("Couldn't reach 'facebook/xnli' on the Hub (OfflineModeIsEnabled)"),
    )
    with pytest.raises(
        DataUnavailable,
        match=r"split train: no data found; tried .*xnli/train\.tsv, hub:facebook/xnli/es@unpinned "
        r"\(ConnectionError: Couldn't reach",
    ):
        quietly(load_split, get_task("xnli").resolve(), "train", tmp_path)


def test_hub_without_matching_tag_column_is_an_error(fake_hub: list, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = conll2002_hub().remove_columns("ner_tags")
    serve(monkeypatch, fake_hub, wrong)
    with pytest.raises(DataError, match="no ClassLabel sequence column whose names match"):
        quietly(load_split, get_task("ner").resolve(), "test", None)
