"""Token-classification metrics: entity-level scores for IOB2 (NER) and per-word scores for plain tags (POS).

NER is scored with seqeval in its default mode, which is conlleval-compatible: an `I-X` after `O` (or after
another type) starts a chunk, as conlleval does. `conlleval_chunks` is an independent re-implementation of
conlleval's chunking for IOB tags; the tests check seqeval against it on CoNLL-2002.

Missing predictions are passed as `None`: for accuracy every word of that sentence is wrong; for entity
scores the sentence predicts no entity, so its gold entities count as missed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

Chunk = tuple[str, int, int]
"""(entity type, first word, last word), inclusive: the shape seqeval's `get_entities` returns."""


def conlleval_chunks(tags: Sequence[str]) -> list[Chunk]:
    """Chunks the way conlleval reads IOB tags: `B-X` always starts a chunk; `I-X` continues a chunk of
    type X and otherwise starts one (after `O`, or after a chunk of another type); `O` ends a chunk."""
    chunks: list[Chunk] = []
    open_type: str | None = None
    open_start = 0
    for position, tag in enumerate(tags):
        prefix, _, entity_type = tag.partition("-")
        continues = prefix == "I" and entity_type == open_type
        if open_type is not None and not continues:
            chunks.append((open_type, open_start, position - 1))
            open_type = None
        if prefix in ("B", "I") and not continues:
            open_type, open_start = entity_type, position
    if open_type is not None:
        chunks.append((open_type, open_start, len(tags) - 1))
    return chunks


def _fill_missing(
    gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str] | None]
) -> list[list[str]]:
    """A missing sentence predicts all `O`: no entity found, so its gold entities are missed."""
    return [["O"] * len(g) if p is None else list(p) for g, p in zip(gold, predictions, strict=True)]


def entity_scores(
    gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str] | None]
) -> dict[str, float]:
    """Entity-level micro precision/recall/F1 in percent (seqeval default mode = conlleval).

    0 where undefined (no predicted or no gold entity), as conlleval prints."""
    # Imported here: seqeval pulls in scikit-learn (about 2 s), which `import glues_bench.metrics` should not.
    from seqeval.metrics.sequence_labeling import precision_recall_fscore_support

    filled = _fill_missing(gold, predictions)
    with warnings.catch_warnings():
        # seqeval warns "X seems not to be NE tag" on non-IOB tags; the ALBETO POS scoring feeds it UPOS.
        warnings.simplefilter("ignore")
        precision, recall, f1, _ = precision_recall_fscore_support(
            [list(g) for g in gold], filled, average="micro", zero_division=0
        )
    return {"precision": 100.0 * float(precision), "recall": 100.0 * float(recall), "f1": 100.0 * float(f1)}


def token_accuracy(gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str] | None]) -> float:
    """Percent of words whose predicted tag equals the gold tag; every word of a missing sentence is wrong."""
    correct = total = 0
    for gold_tags, predicted_tags in zip(gold, predictions, strict=True):
        total += len(gold_tags)
        if predicted_tags is not None:
            correct += sum(g == p for g, p in zip(gold_tags, predicted_tags, strict=True))
    return 100.0 * correct / total if total else 0.0


def tag_scores(
    gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str] | None]
) -> dict[str, float]:
    """Micro precision/recall/F1 over per-word tags (POS), in percent.

    Every word carries exactly one gold tag from a closed set, so a predicted word is a true positive for
    its tag when right, and a false positive (for the predicted tag) plus a false negative (for the gold
    tag) when wrong. Summed over tags: precision = correct / predicted words, recall = correct / gold
    words. When every word has a prediction both equal accuracy, so micro-F1 == accuracy; they only part
    when predictions are missing (those words count as unpredicted, lowering recall but not precision).
    Both are reported because the paper's POS column is an F1 while accuracy is the usual POS measure.
    """
    correct = predicted = total = 0
    for gold_tags, predicted_tags in zip(gold, predictions, strict=True):
        total += len(gold_tags)
        if predicted_tags is not None:
            predicted += len(predicted_tags)
            correct += sum(g == p for g, p in zip(gold_tags, predicted_tags, strict=True))
    precision = correct / predicted if predicted else 0.0
    recall = correct / total if total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": 100.0 * precision, "recall": 100.0 * recall, "f1": 100.0 * f1}


def expand_to_subtokens(tags: Sequence[str], subtoken_counts: Sequence[int]) -> list[str]:
    """Copy each word's tag onto all its sub-tokens, as the ALBETO code did (`label_all_tokens = True`).

    A word the tokenizer turns into no piece (count 0) disappears, as it did there."""
    if len(tags) != len(subtoken_counts):
        raise ValueError(f"{len(tags)} tags but {len(subtoken_counts)} sub-token counts")
    return [tag for tag, count in zip(tags, subtoken_counts, strict=True) for _ in range(count)]


def albeto_subtoken_scores(
    gold: Sequence[Sequence[str]],
    predictions: Sequence[Sequence[str] | None],
    subtoken_counts: Sequence[Sequence[int]],
) -> dict[str, float]:
    """The ALBETO fine-tuning code's token-classification numbers, from word-level predictions.

    That code scored every sub-token with HF `seqeval` (overall precision/recall/F1/accuracy), the word's
    label copied onto continuation pieces, for NER *and* POS. On UPOS tags seqeval reads the first letter
    as the IOB prefix (`NOUN` = tag `N`, type `OUN`), so runs of equal tags merge into one "chunk" and
    `SCONJ`/`SYM` count as single-token `S-` chunks; the paper's POS F1 is that number. Here gold and
    predicted word labels are both copied onto the pieces; a missing sentence is handled as in word mode.
    """
    expanded_gold = [expand_to_subtokens(g, c) for g, c in zip(gold, subtoken_counts, strict=True)]
    expanded_pred = [
        None if p is None else expand_to_subtokens(p, c)
        for p, c in zip(predictions, subtoken_counts, strict=True)
    ]
    scores = entity_scores(expanded_gold, expanded_pred)
    # HF seqeval's overall_accuracy is plain accuracy over the flattened sub-tokens.
    scores["accuracy"] = token_accuracy(expanded_gold, expanded_pred)
    return scores
