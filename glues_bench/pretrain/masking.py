"""ALBERT's n-gram masked language modelling, applied dynamically (fresh masks every time a sequence is seen).

ALBERT (Lan et al., 2020, section 4.1) masks n-grams of whole words, n up to 3 with p(n) ∝ 1/n, choosing
15% of the tokens; each chosen token becomes [MASK] (80%), stays (10%) or becomes a random token (10%).
This follows `create_masked_lm_predictions` of ALBERT's `create_pretraining_data.py`, with one change:
masks are drawn per batch from a generator seeded by the sequence's position in the data stream, so
a resumed run draws exactly the masks an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

IGNORE_INDEX = -100  # label of positions the MLM loss skips (transformers' convention)
# ALBERT's `_is_start_piece`: punctuation pieces start a new word even without the "▁" prefix.
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;?@[\\]^_`{|}~¿¡«»")


@dataclass(frozen=True)
class MaskingConfig:
    """How many tokens to predict and how n-grams are drawn."""

    masked_lm_prob: float = 0.15
    max_predictions: int = 20  # ALBERT/BERT: 20 at sequence length 128, 77 at 512
    max_ngram: int = 3  # 1 gives BERT/DistilBERT token masking
    whole_word: bool = True  # mask all pieces of a word together
    mask_token_prob: float = 0.8
    random_token_prob: float = 0.1


@dataclass(frozen=True)
class Vocabulary:
    """What masking needs to know about a tokenizer."""

    size: int  # random replacements are drawn from [0, size)
    mask_id: int
    special_ids: frozenset[int]
    word_start: np.ndarray  # bool per token id: does this piece begin a word?

    @classmethod
    def from_tokenizer(cls, tokenizer) -> Vocabulary:
        vocab = tokenizer.get_vocab()
        size = max(vocab.values()) + 1
        pieces = [""] * size
        for piece, index in vocab.items():
            pieces[index] = piece
        wordpiece = any(p.startswith("##") for p in pieces)
        return cls(
            size=size,
            mask_id=tokenizer.mask_token_id,
            special_ids=frozenset(tokenizer.all_special_ids),
            word_start=np.array([_starts_word(p, wordpiece) for p in pieces], dtype=bool),
        )


def max_predictions_for(seq_len: int, masked_lm_prob: float = 0.15) -> int:
    """ALBERT/BERT's max_predictions_per_seq: ceil(15% of the length), i.e. 20 at 128 and 77 at 512."""
    return math.ceil(round(seq_len * masked_lm_prob, 6))


def _starts_word(piece: str, wordpiece: bool) -> bool:
    if wordpiece:  # BERT: continuation pieces carry "##"
        return not piece.startswith("##")
    return piece.startswith(("▁", "<")) or piece in _PUNCTUATION


def candidate_words(token_ids: Sequence[int], vocab: Vocabulary, whole_word: bool) -> list[list[int]]:
    """Positions that may be masked, grouped into words (one position per group without whole_word)."""
    words: list[list[int]] = []
    for position, token in enumerate(token_ids):
        if token in vocab.special_ids:
            continue
        continues_word = (
            whole_word and words and not vocab.word_start[token] and words[-1][-1] == position - 1
        )
        if continues_word:
            words[-1].append(position)
        else:
            words.append([position])
    return words


def choose_masked_spans(
    words: Sequence[Sequence[int]], n_tokens: int, config: MaskingConfig, rng: np.random.Generator
) -> list[list[int]]:
    """ALBERT's n-gram selection, in the order drawn: shuffled start words, n ~ 1/n, n shrunk until the
    span fits the budget of min(max_predictions, 15% of the tokens) positions; overlapping spans skipped."""
    budget = min(config.max_predictions, max(1, round(n_tokens * config.masked_lm_prob)))
    ngram_sizes = np.arange(1, config.max_ngram + 1)
    weights = 1.0 / ngram_sizes
    spans: list[list[int]] = []
    n_chosen = 0
    covered: set[int] = set()
    for start in rng.permutation(len(words)):
        if n_chosen >= budget:
            break
        available = min(config.max_ngram, len(words) - start)
        n = int(rng.choice(ngram_sizes[:available], p=weights[:available] / weights[:available].sum()))
        positions = _flatten(words[start : start + n])
        while n_chosen + len(positions) > budget and n > 1:
            n -= 1
            positions = _flatten(words[start : start + n])
        if n_chosen + len(positions) > budget or covered.intersection(positions):
            continue
        covered.update(positions)
        spans.append(positions)
        n_chosen += len(positions)
    return spans


def choose_masked_positions(
    words: Sequence[Sequence[int]], n_tokens: int, config: MaskingConfig, rng: np.random.Generator
) -> list[int]:
    """The positions of `choose_masked_spans`, sorted."""
    return sorted(_flatten(choose_masked_spans(words, n_tokens, config, rng)))


def _flatten(groups: Sequence[Sequence[int]]) -> list[int]:
    return [position for group in groups for position in group]


def mask_tokens(
    token_ids: Sequence[int], vocab: Vocabulary, config: MaskingConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(input ids with masks applied, labels: the original id at chosen positions, IGNORE_INDEX elsewhere)."""
    inputs = np.asarray(token_ids, dtype=np.int64).copy()
    labels = np.full_like(inputs, IGNORE_INDEX)
    words = candidate_words(token_ids, vocab, config.whole_word)
    positions = choose_masked_positions(words, len(token_ids), config, rng)
    if not positions:
        return inputs, labels
    labels[positions] = inputs[positions]
    draws = rng.random(len(positions))
    random_ids = rng.integers(0, vocab.size, len(positions))
    for position, draw, random_id in zip(positions, draws, random_ids, strict=True):
        if draw < config.mask_token_prob:
            inputs[position] = vocab.mask_id
        elif draw >= config.mask_token_prob + config.random_token_prob:
            inputs[position] = random_id
        # otherwise the token is kept unchanged (but still predicted)
    return inputs, labels
