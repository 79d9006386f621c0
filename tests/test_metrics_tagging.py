"""Token-classification metrics: hand-computed cases, and seqeval checked against a conlleval chunker."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from glues_bench.metrics.tagging import (
    albeto_subtoken_scores,
    conlleval_chunks,
    entity_scores,
    expand_to_subtokens,
    tag_scores,
    token_accuracy,
)

NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


# --- conlleval chunking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tags,chunks",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 1), ("LOC", 3, 3)]),
        (["O", "I-PER", "I-PER", "O"], [("PER", 1, 2)]),  # I- after O starts a chunk (conlleval)
        (["B-PER", "I-LOC"], [("PER", 0, 0), ("LOC", 1, 1)]),  # a type change starts a chunk
        (["B-PER", "B-PER", "I-PER"], [("PER", 0, 0), ("PER", 1, 2)]),
        (["I-ORG", "B-ORG", "I-ORG", "I-ORG"], [("ORG", 0, 0), ("ORG", 1, 3)]),
        (["O", "O"], []),
        ([], []),
    ],
)
def test_conlleval_chunks(tags: list[str], chunks: list[tuple[str, int, int]]) -> None:
    assert conlleval_chunks(tags) == chunks
    assert get_entities(tags) == chunks  # seqeval's default mode reads IOB tags the same way


# --- entity scores ------------------------------------------------------------------------------------


def test_entity_scores_hand_computed() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "I-PER", "B-MISC", "B-LOC"], ["B-ORG", "O", "B-PER"]]
    # gold entities: PER(0-1), LOC(3), ORG(0-1) = 3; predicted: PER(0-1), MISC(2), LOC(3), ORG(0), PER(2) = 5;
    # correct: PER(0-1), LOC(3) = 2 (ORG(0) has the wrong boundary). P = 2/5, R = 2/3, F1 = 0.5.
    scores = entity_scores(gold, pred)
    assert scores["precision"] == pytest.approx(40.0)
    assert scores["recall"] == pytest.approx(200 / 3)
    assert scores["f1"] == pytest.approx(50.0)
    assert all(type(value) is float for value in scores.values())
    # words right: 3 of 4 in the first sentence, 1 of 3 in the second.
    assert token_accuracy(gold, pred) == pytest.approx(400 / 7)


def test_an_entity_may_start_with_i_as_in_conlleval() -> None:
    # Strict IOB2 would see no gold entity here and score 0.
    assert entity_scores([["O", "I-PER", "I-PER"]], [["O", "B-PER", "I-PER"]])["f1"] == 100.0


def test_entities_do_not_run_across_sentences() -> None:
    gold = [["B-PER"], ["I-PER"]]  # two one-word entities, not one spanning both sentences
    assert entity_scores(gold, [["B-PER"], ["B-PER"]])["f1"] == 100.0


def test_missing_sentence_misses_its_entities_and_all_its_words() -> None:
    gold = [["B-PER", "O"], ["B-LOC", "O"]]
    pred = [["B-PER", "O"], None]
    scores = entity_scores(gold, pred)
    assert scores["precision"] == 100.0
    assert scores["recall"] == 50.0
    assert scores["f1"] == pytest.approx(200 / 3)
    assert token_accuracy(gold, pred) == 50.0  # the missing sentence's "O" is not counted as right


def test_no_entities_anywhere_scores_zero_not_nan() -> None:
    assert entity_scores([["O", "O"]], [["O", "O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


# --- per-word tag scores (POS) ------------------------------------------------------------------------


def test_tag_scores_equal_accuracy_when_every_word_is_predicted() -> None:
    gold = [["NOUN", "VERB", "DET"], ["NOUN"]]
    pred = [["NOUN", "ADJ", "DET"], ["PROPN"]]
    assert token_accuracy(gold, pred) == 50.0
    assert tag_scores(gold, pred) == {"precision": 50.0, "recall": 50.0, "f1": 50.0}


def test_tag_scores_with_a_missing_sentence() -> None:
    gold = [["NOUN", "VERB"], ["DET", "NOUN"]]
    pred = [["NOUN", "ADJ"], None]
    # 1 right of 2 predicted words (P = 50) and of 4 gold words (R = 25); F1 = 2 * .5 * .25 / .75.
    scores = tag_scores(gold, pred)
    assert scores["precision"] == 50.0
    assert scores["recall"] == 25.0
    assert scores["f1"] == pytest.approx(100 / 3)
    assert token_accuracy(gold, pred) == 25.0


# --- the ALBETO code's sub-token scoring --------------------------------------------------------------


def test_expand_to_subtokens() -> None:
    assert expand_to_subtokens(["B-PER", "I-PER", "O"], [2, 1, 0]) == ["B-PER", "B-PER", "I-PER"]
    with pytest.raises(ValueError):
        expand_to_subtokens(["O"], [1, 1])


def test_albeto_subtoken_scores_reproduce_seqeval_on_upos() -> None:
    # Words NOUN NOUN VERB split into 1, 2, 1 pieces: gold NOUN NOUN NOUN VERB, predicted NOUN ADJ ADJ VERB.
    # seqeval reads "NOUN" as prefix N + type OUN: the run of NOUNs is ONE chunk (0-2); the prediction has
    # OUN(0), DJ(1-2), ERB(3). Correct: ERB only -> P = 1/3, R = 1/2, F1 = 0.4; sub-token accuracy 2/4.
    scores = albeto_subtoken_scores([["NOUN", "NOUN", "VERB"]], [["NOUN", "ADJ", "VERB"]], [[1, 2, 1]])
    assert scores["precision"] == pytest.approx(100 / 3)
    assert scores["recall"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx(40.0)
    assert scores["accuracy"] == pytest.approx(50.0)
    # At word level the same prediction is 2 of 3 words right.
    assert tag_scores([["NOUN", "NOUN", "VERB"]], [["NOUN", "ADJ", "VERB"]])["f1"] == pytest.approx(200 / 3)


def test_albeto_subtoken_scores_split_ner_entities_on_copied_b_tags() -> None:
    # "Nueva York" = B-LOC I-LOC, "Nueva" split in two pieces: gold pieces B-LOC B-LOC I-LOC = 2 chunks.
    gold = [["B-LOC", "I-LOC"]]
    scores = albeto_subtoken_scores(gold, [["B-LOC", "O"]], [[2, 1]])
    # predicted pieces B-LOC B-LOC O -> LOC(0), LOC(1); gold LOC(0), LOC(1-2): 1 correct of 2 and 2.
    assert scores["f1"] == pytest.approx(50.0)
    assert scores["accuracy"] == pytest.approx(200 / 3)


# --- seqeval against the conlleval chunker on real CoNLL-2002 -------------------------------------------


def _read_conll2002_tags(path: Path) -> list[list[str]]:
    """The IOB2 tag column of a CoNLL-2002 file (`word POS tag`, blank line between sentences)."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        current.append(line.split()[-1])
    if current:
        sentences.append(current)
    return sentences


def _corrupt(sentences: list[list[str]], rate: float, seed: int) -> list[list[str]]:
    """Replace about `rate` of the tags by a different random label (deterministic for a seed)."""
    rng = random.Random(seed)
    corrupted = []
    for tags in sentences:
        new = list(tags)
        for position, tag in enumerate(tags):
            if rng.random() < rate:
                new[position] = rng.choice([label for label in NER_LABELS if label != tag])
        corrupted.append(new)
    return corrupted


def _prf_from_conlleval(gold: list[list[str]], pred: list[list[str]]) -> tuple[float, float, float]:
    n_gold = n_pred = n_correct = 0
    for gold_tags, pred_tags in zip(gold, pred, strict=True):
        gold_chunks, pred_chunks = set(conlleval_chunks(gold_tags)), set(conlleval_chunks(pred_tags))
        n_gold += len(gold_chunks)
        n_pred += len(pred_chunks)
        n_correct += len(gold_chunks & pred_chunks)
    precision, recall = n_correct / n_pred, n_correct / n_gold
    return 100 * precision, 100 * recall, 100 * 2 * precision * recall / (precision + recall)


@pytest.mark.shared_data
def test_seqeval_agrees_with_conlleval_chunker_on_conll2002_testa(shared_data: Path) -> None:
    gold = _read_conll2002_tags(shared_data / "conll2002" / "esp.testa")
    assert len(gold) == 1915
    # The file has an entity that starts with I- after O: the case strict IOB2 scoring gets wrong.
    assert any(
        tag.startswith("I-") and (i == 0 or tags[i - 1] == "O") for tags in gold for i, tag in enumerate(tags)
    )
    pred = _corrupt(gold, rate=0.10, seed=20220620)
    flipped = sum(g != p for gs, ps in zip(gold, pred, strict=True) for g, p in zip(gs, ps, strict=True))
    assert 0.09 < flipped / sum(map(len, gold)) < 0.11
    for tags in (*gold, *pred):
        assert get_entities(tags) == conlleval_chunks(tags)
    precision, recall, f1 = _prf_from_conlleval(gold, pred)
    scores = entity_scores(gold, pred)
    assert scores["precision"] == pytest.approx(precision, abs=1e-9)
    assert scores["recall"] == pytest.approx(recall, abs=1e-9)
    assert scores["f1"] == pytest.approx(f1, abs=1e-9)
    assert 20 < scores["f1"] < 90  # corrupted enough to be a real test, not 0 or 100
    assert entity_scores(gold, gold)["f1"] == 100.0
