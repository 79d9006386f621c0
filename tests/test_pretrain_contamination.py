"""The corpus/evaluation-set overlap check, on hand-made cases and on the real GLUES files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glues_bench.errors import ContaminationError
from glues_bench.pretrain.contamination import (
    EvalDocument,
    check_contamination,
    decontaminate,
    enforce,
    glues_eval_documents,
    shingles,
    words,
)
from glues_bench.pretrain.corpus import document_texts, read_conll_documents

EVAL = " ".join(f"w{i}" for i in range(20))  # 20 distinct words -> 8 distinct 13-grams


def test_words_ignore_case_and_punctuation() -> None:
    assert words("¿Qué dijo el Juez? «Nada», respondió.") == [
        "qué",
        "dijo",
        "el",
        "juez",
        "nada",
        "respondió",
    ]


def test_shingles_of_short_and_long_documents() -> None:
    assert len(shingles(words(EVAL))) == 8
    assert shingles(["a"] * 3 + ["b"] * 5) == {("a", "a", "a", "b", "b", "b", "b", "b")}  # 8 words: 1 shingle
    assert shingles(["a"] * 7) == set()  # too short to mean anything


def test_overlap_fraction_and_threshold() -> None:
    # the corpus holds words 0..15: the 13-grams starting at 0..3 -> 4 of 8 found = 50%
    corpus = [" ".join(f"w{i}" for i in range(16)), "unrelated text"]
    doc = EvalDocument("toy/test", "0:text", EVAL)
    at_half = check_contamination(corpus, [doc], doc_threshold=0.5)
    assert at_half.sets[0].max_overlap == 0.5
    assert at_half.sets[0].n_contaminated == 1
    assert check_contamination(corpus, [doc], doc_threshold=0.6).sets[0].n_contaminated == 0
    # a window never spans two corpus documents
    split = [" ".join(f"w{i}" for i in range(8)), " ".join(f"w{i}" for i in range(8, 20))]
    assert check_contamination(split, [doc]).sets[0].max_overlap == 0.0


def test_decontaminate_drops_only_overlapping_documents() -> None:
    corpus = ["nada que ver con nada", f"prefix {EVAL} suffix", "otro texto sin relación alguna"]
    doc = EvalDocument("toy/test", "0:text", EVAL)
    assert decontaminate(corpus, [doc]) == [0, 2]


def _xquad_paragraph(shared_data: Path) -> str:
    squad = json.loads((shared_data / "xquad" / "xquad.es.json").read_text(encoding="utf-8"))
    return squad["data"][3]["paragraphs"][1]["context"]


def test_flags_a_corpus_containing_an_xquad_paragraph(shared_data: Path) -> None:
    eval_documents, unavailable = glues_eval_documents(shared_data, ["xquad"], splits=("test",))
    assert not unavailable and len(eval_documents) > 1000
    clean = list(document_texts(read_conll_documents(shared_data / "conll2002" / "esp.train")[:50]))
    report = check_contamination(clean, eval_documents)
    assert report.contaminated_sets == []
    enforce(report, allow=False)  # clean: no error

    dirty = [*clean[:25], "Texto previo. " + _xquad_paragraph(shared_data) + " Texto posterior.", *clean[25:]]
    report = check_contamination(dirty, eval_documents)
    [flagged] = report.contaminated_sets
    assert flagged.set_name == "xquad/test"
    assert flagged.n_contaminated == 1
    assert flagged.examples[0][0].endswith(":context") and flagged.examples[0][1] == 1.0
    with pytest.raises(ContaminationError, match="xquad/test"):
        enforce(report, allow=False)
    enforce(report, allow=True)  # explicitly allowed


def test_conll_train_repeats_ner_eval_sentences_and_decontamination_removes_them(shared_data: Path) -> None:
    eval_documents, _ = glues_eval_documents(shared_data, ["ner"])
    corpus = list(document_texts(read_conll_documents(shared_data / "conll2002" / "esp.train")))
    report = check_contamination(corpus, eval_documents)
    assert {s.set_name for s in report.contaminated_sets} == {"ner/dev", "ner/test"}
    kept = [corpus[i] for i in decontaminate(corpus, eval_documents)]
    assert 0 < len(kept) < len(corpus)
    assert check_contamination(kept, eval_documents).contaminated_sets == []
