"""`load_split` on the real GLUES files in ../shared/data: the official example counts, first rows read
off the files by hand, variants, the extra-treebank concatenation and content fingerprints."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from glues_bench.data import FEATURES, DataUnavailable, LoadedSplit, load_split, read_gold_file
from glues_bench.errors import DataError
from glues_bench.tasks.registry import get_task

_cache: dict[tuple, LoadedSplit] = {}


def loaded(data_dir: Path, task: str, split: str, variant: str | None = None) -> LoadedSplit:
    """Each real split is read once per test session (the CoNLL train file takes about a second)."""
    key = (task, split, variant)
    if key not in _cache:
        _cache[key] = load_split(get_task(task).resolve(variant), split, data_dir)
    return _cache[key]


# (task, variant, split, examples, words): the counts published with each release (SOURCES.md).
TOKEN_COUNTS = [
    ("ner", None, "train", 8323, 264715),
    ("ner", None, "dev", 1915, 52923),
    ("ner", None, "test", 1517, 51533),
    ("pos", None, "dev", 1552, 41198),
    ("pos", None, "test", 274, 7953),
    ("pos", "ancora", "dev", 1654, 52336),
    ("pos", "ancora", "test", 1721, 52617),
]


@pytest.mark.parametrize(("task", "variant", "split", "n_sentences", "n_words"), TOKEN_COUNTS)
def test_token_task_counts(
    shared_data: Path, task: str, variant: str | None, split: str, n_sentences: int, n_words: int
) -> None:
    split_data = loaded(shared_data, task, split, variant)
    dataset = split_data.dataset
    assert dataset.features == FEATURES["token_classification"]
    assert len(dataset) == n_sentences
    assert sum(len(tokens) for tokens in dataset["tokens"]) == n_words
    assert all(len(t) == len(g) for t, g in zip(dataset["tokens"], dataset["tags"], strict=True))
    assert dataset["id"][-1] == str(n_sentences - 1)


LABEL_COUNTS = [
    ("xnli", "dev", {"entailment": 830, "neutral": 830, "contradiction": 830}),
    ("xnli", "test", {"entailment": 1670, "neutral": 1670, "contradiction": 1670}),
    ("pawsx", "dev", {"1": 847, "0": 1153}),
    ("pawsx", "test", {"1": 907, "0": 1093}),
]


@pytest.mark.parametrize(("task", "split", "counts"), LABEL_COUNTS)
def test_classification_label_counts(
    shared_data: Path, task: str, split: str, counts: dict[str, int]
) -> None:
    dataset = loaded(shared_data, task, split).dataset
    assert dataset.features == FEATURES["sequence_classification"]
    assert Counter(dataset["label"]) == counts


@pytest.mark.parametrize(
    ("task", "split", "n_questions", "file"),
    [
        ("xquad", "test", 1190, "xquad/xquad.es.json"),
        ("xquad", "dev", 6583, "tar/dev-v1.1-es_small.json"),  # the second candidate path
        ("mlqa", "dev", 500, "mlqa/mlqa-r_dev-context-es-question-es.json"),
    ],
)
def test_qa_counts_and_sources(shared_data: Path, task: str, split: str, n_questions: int, file: str) -> None:
    split_data = loaded(shared_data, task, split)
    assert split_data.dataset.features == FEATURES["extractive_qa"]
    assert len(split_data.dataset) == n_questions
    assert len(set(split_data.dataset["id"])) == n_questions
    assert split_data.files == (shared_data / file,)


def test_first_rows_match_the_files(shared_data: Path) -> None:
    ner = loaded(shared_data, "ner", "train").dataset[0]
    assert ner["tokens"][:5] == ["Melbourne", "(", "Australia", ")", ","]
    assert ner["tags"][:5] == ["B-LOC", "O", "B-LOC", "O", "O"]

    pos = loaded(shared_data, "pos", "dev").dataset[0]
    assert pos["tokens"][:3] == ["Lo", "hizo", "siguiendo"]
    assert pos["tags"][:3] == ["PRON", "VERB", "VERB"]
    assert pos["tokens"][16:19] == ["clásica", "de", "el"]  # "del" (18-19) is split into its words

    xnli = loaded(shared_data, "xnli", "dev").dataset[1]
    assert xnli == {
        "id": "1",
        "text": "Y él dijo: Mamá, estoy en casa.",
        "text_pair": "Él no dijo una palabra.",
        "label": "contradiction",
    }

    pawsx = loaded(shared_data, "pawsx", "dev").dataset[0]
    assert pawsx["id"] == "0"  # the position, not the file's id column (4)
    assert pawsx["text"].startswith("El Consejo Shawnee Trail nació")
    assert pawsx["label"] == "1"

    mlqa = loaded(shared_data, "mlqa", "dev").dataset[0]
    assert (mlqa["id"], mlqa["title"]) == ("0cd6543a6ccac9874930fd2cf7e1b40ac0afcce8", "Kirguistán")

    xquad = loaded(shared_data, "xquad", "test").dataset[0]
    assert xquad["answers"] == {"text": ["308"], "answer_start": [133]}
    assert xquad["context"][133:136] == "308"  # the leading U+FEFF of the context is kept: offsets count it


def test_extra_treebank_is_concatenated(shared_data: Path, tmp_path: Path) -> None:
    # No UD v1.4 AnCora file is available, so GSD test stands in for it as the "second treebank".
    gsd = shared_data / "ud/UD_Spanish-GSD_r1.4"
    main = tmp_path / "ud/UD_Spanish-GSD_r1.4/es-ud-dev.conllu"
    extra = tmp_path / "ud/UD_Spanish-AnCora_r1.4/es_ancora-ud-dev.conllu"
    extra_other_layout = tmp_path / "UD_Spanish-AnCora/es_ancora-ud-dev.conllu"
    for link, target in ((main, gsd / "es-ud-dev.conllu"), (extra, gsd / "es-ud-test.conllu")):
        link.parent.mkdir(parents=True)
        link.symlink_to(target)
    extra_other_layout.parent.mkdir(parents=True)
    extra_other_layout.symlink_to(extra)  # the same file under both layouts is read once

    both = load_split(get_task("pos").resolve(), "dev", tmp_path)
    assert both.files == (main, extra)
    assert both.source == f"{main}, {extra}"
    assert len(both.dataset) == 1552 + 274
    assert both.dataset["id"][1552] == "1552"
    assert both.dataset[1552]["tokens"] == loaded(shared_data, "pos", "test").dataset[0]["tokens"]
    assert both.fingerprint != loaded(shared_data, "pos", "dev").fingerprint


def test_ud14_labels_reject_ud2_files(shared_data: Path) -> None:
    # UD v2 renamed CONJ to CCONJ; the first CCONJ of this file is on line 24 ("y").
    ancora = shared_data / "ud/UD_Spanish-AnCora_r2.2/es_ancora-ud-dev.conllu"
    with pytest.raises(DataError, match=r"es_ancora-ud-dev\.conllu:24: label 'CCONJ' is not in"):
        read_gold_file(get_task("pos").resolve("ud14"), ancora)


def test_mldoc_is_not_shipped(shared_data: Path) -> None:
    with pytest.raises(DataUnavailable, match=r"mldoc/spanish\.dev, .*mldoc/dev\.tsv"):
        load_split(get_task("mldoc").resolve(), "dev", shared_data)


def test_fingerprints_follow_content(shared_data: Path, tmp_path: Path) -> None:
    original = loaded(shared_data, "ner", "test")
    copy = tmp_path / "conll2002/esp.testb"
    copy.parent.mkdir()
    shutil.copy(shared_data / "conll2002/esp.testb", copy)
    assert load_split(get_task("ner").resolve(), "test", tmp_path).fingerprint == original.fingerprint

    text = copy.read_text(encoding="utf-8")
    copy.write_text(text.replace("Australia NP B-LOC", "Austria NP B-LOC", 1), encoding="utf-8")
    changed = load_split(get_task("ner").resolve(), "test", tmp_path)
    assert len(changed.dataset) == len(original.dataset)
    assert changed.fingerprint != original.fingerprint


def test_gold_file_equals_the_loaded_split(shared_data: Path) -> None:
    task = get_task("xnli").resolve()
    gold = read_gold_file(task, shared_data / "xnli/test.tsv")
    assert gold.to_dict() == loaded(shared_data, "xnli", "test").dataset.to_dict()


def test_gold_file_goes_through_the_splits_quirks_like_the_run(shared_data: Path) -> None:
    """PAWS-X `glues-counts` drops an `NS` pair from test: the gold file `score` reads must drop it too, or
    every id after it names another row than the one the run scored."""
    task = get_task("pawsx").resolve("glues-counts")
    split = load_split(task, "test", shared_data)
    assert len(split.dataset) == 1999  # GLUES's count: one row fewer than the 2,000 in the file
    gold = read_gold_file(task, shared_data / "pawsx/test_2k.tsv")
    assert gold.to_dict() == split.dataset.to_dict()


def test_limit_keeps_the_first_examples(shared_data: Path) -> None:
    full = loaded(shared_data, "xquad", "test")
    first = load_split(get_task("xquad").resolve(), "test", shared_data, limit=10)
    assert first.dataset.to_dict() == full.dataset.select(range(10)).to_dict()
    assert first.fingerprint != full.fingerprint
