"""Training sequences cut from tokenised documents, and a resumable stream of masked batches.

Pairs (ALBERT): `[CLS] A [SEP] B [SEP]` where A and B are consecutive segments of one document;
for sentence-order prediction they are swapped with probability 0.5 (label 1 = swapped, as
`AlbertForPreTraining.sentence_order_label`). Singles (DistilBERT): `[CLS] chunk [SEP]`.

Everything random is drawn from generators seeded by (seed, epoch) for the cutting and shuffling and
by (seed, epoch, position) for the masks, never from global state, so the stream's whole state is two
integers and a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from glues_bench.errors import PretrainError
from glues_bench.pretrain.masking import MaskingConfig, Vocabulary, mask_tokens

TokenizedDocument = list[list[int]]  # sentences of token ids


@dataclass(frozen=True)
class Instance:
    """One training sequence before masking; `tokens_b` is empty for single-segment sequences."""

    tokens_a: tuple[int, ...]
    tokens_b: tuple[int, ...] = ()
    swapped: bool = False


def tokenize_documents(
    documents: Sequence[Sequence[str]], tokenizer, batch_size: int = 1000
) -> list[TokenizedDocument]:
    """Token ids of every sentence (no special tokens); empty sentences and documents are dropped."""
    flat = [sentence for doc in documents for sentence in doc]
    ids: list[list[int]] = []
    for start in range(0, len(flat), batch_size):
        # verbose=False: sentences longer than the model are expected here; instances cut them later.
        encoded = tokenizer(flat[start : start + batch_size], add_special_tokens=False, verbose=False)
        ids.extend(encoded["input_ids"])
    out: list[TokenizedDocument] = []
    cursor = 0
    for doc in documents:
        sentences = [s for s in ids[cursor : cursor + len(doc)] if s]
        cursor += len(doc)
        if sentences:
            out.append(sentences)
    return out


def pair_instances(
    documents: Sequence[TokenizedDocument], max_seq_len: int, rng: random.Random, short_seq_prob: float = 0.1
) -> list[Instance]:
    """ALBERT's `create_instances_from_document` with sentence-order prediction, for every document."""
    max_tokens = max_seq_len - 3  # [CLS] A [SEP] B [SEP]
    instances: list[Instance] = []
    for doc in documents:
        target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
        chunk: list[list[int]] = []
        length = 0
        for i, sentence in enumerate(doc):
            chunk.append(sentence)
            length += len(sentence)
            if i == len(doc) - 1 or length >= target:
                instance = _pair_from_chunk(chunk, max_tokens, rng)
                if instance is not None:
                    instances.append(instance)
                chunk, length = [], 0
                target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
    return instances


def _pair_from_chunk(chunk: list[list[int]], max_tokens: int, rng: random.Random) -> Instance | None:
    if len(chunk) >= 2:
        a_end = rng.randint(1, len(chunk) - 1)
        tokens_a = [t for s in chunk[:a_end] for t in s]
        tokens_b = [t for s in chunk[a_end:] for t in s]
    else:
        # ALBERT would pair a lone sentence with a random document; we split it instead, so B always
        # follows A in the text and the order label is never noise.
        sentence = chunk[0]
        if len(sentence) < 2:
            return None
        cut = rng.randint(1, len(sentence) - 1)
        tokens_a, tokens_b = sentence[:cut], sentence[cut:]
    _truncate_pair(tokens_a, tokens_b, max_tokens)
    swapped = rng.random() < 0.5
    if swapped:
        tokens_a, tokens_b = tokens_b, tokens_a
    return Instance(tuple(tokens_a), tuple(tokens_b), swapped)


def _truncate_pair(tokens_a: list[int], tokens_b: list[int], max_tokens: int) -> None:
    """Trim the longer segment at its outer end (A's front, B's back) until the pair fits.

    BERT's `truncate_seq_pair` trims either end at random, which can cut text out from between A and
    B; trimming the outer ends keeps the two segments adjacent, so "B follows A" stays literally true.
    """
    excess = len(tokens_a) + len(tokens_b) - max_tokens
    while excess > 0:
        if len(tokens_a) > len(tokens_b):
            del tokens_a[0]
        else:
            tokens_b.pop()
        excess -= 1


def single_instances(documents: Sequence[TokenizedDocument], max_seq_len: int) -> list[Instance]:
    """Contiguous chunks of up to max_seq_len - 2 tokens, filled sentence by sentence (long ones are cut)."""
    max_tokens = max_seq_len - 2
    instances: list[Instance] = []
    for doc in documents:
        chunk: list[int] = []
        for sentence in doc:
            if chunk and len(chunk) + len(sentence) > max_tokens:
                instances.append(Instance(tuple(chunk)))
                chunk = []
            chunk.extend(sentence)
            while len(chunk) > max_tokens:
                instances.append(Instance(tuple(chunk[:max_tokens])))
                chunk = chunk[max_tokens:]
        if chunk:
            instances.append(Instance(tuple(chunk)))
    return instances


@dataclass(frozen=True)
class SpecialIds:
    cls: int
    sep: int
    pad: int

    @classmethod
    def from_tokenizer(cls, tokenizer) -> SpecialIds:
        return cls(cls=tokenizer.cls_token_id, sep=tokenizer.sep_token_id, pad=tokenizer.pad_token_id)


def encode_instance(instance: Instance, special: SpecialIds) -> tuple[list[int], list[int]]:
    """(token ids with [CLS]/[SEP], token type ids)."""
    ids = [special.cls, *instance.tokens_a, special.sep]
    types = [0] * len(ids)
    if instance.tokens_b:
        ids += [*instance.tokens_b, special.sep]
        types += [1] * (len(instance.tokens_b) + 1)
    return ids, types


def collate(
    encoded: Sequence[tuple[np.ndarray, np.ndarray, list[int]]], swapped: Sequence[bool], pad_id: int
) -> dict[str, torch.Tensor]:
    """Pad (input ids, labels, token types) to the longest sequence of the batch."""
    length = max(len(ids) for ids, _, _ in encoded)
    batch = len(encoded)
    input_ids = torch.full((batch, length), pad_id, dtype=torch.long)
    labels = torch.full((batch, length), -100, dtype=torch.long)
    token_type_ids = torch.zeros((batch, length), dtype=torch.long)
    attention_mask = torch.zeros((batch, length), dtype=torch.long)
    for row, (ids, row_labels, types) in enumerate(encoded):
        n = len(ids)
        input_ids[row, :n] = torch.from_numpy(ids)
        labels[row, :n] = torch.from_numpy(row_labels)
        token_type_ids[row, :n] = torch.tensor(types)
        attention_mask[row, :n] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
        "labels": labels,
        "sentence_order_label": torch.tensor([int(s) for s in swapped], dtype=torch.long),
    }


class InstanceStream:
    """Endless, deterministic batches: epochs of freshly cut, shuffled instances, masked on the fly."""

    def __init__(
        self,
        documents: Sequence[TokenizedDocument],
        tokenizer,
        max_seq_len: int,
        masking: MaskingConfig,
        *,
        pairs: bool,
        seed: int = 0,
        short_seq_prob: float = 0.1,
    ) -> None:
        self.documents = documents
        self.max_seq_len = max_seq_len
        self.masking = masking
        self.pairs = pairs
        self.seed = seed
        self.short_seq_prob = short_seq_prob
        self.vocab = Vocabulary.from_tokenizer(tokenizer)
        self.special = SpecialIds.from_tokenizer(tokenizer)
        self.epoch = 0
        self.position = 0
        self._instances = self._epoch_instances(0)

    def _epoch_instances(self, epoch: int) -> list[Instance]:
        rng = random.Random(f"{self.seed}/{epoch}")  # str seeds hash deterministically (sha512)
        if self.pairs:
            instances = pair_instances(self.documents, self.max_seq_len, rng, self.short_seq_prob)
        else:
            instances = single_instances(self.documents, self.max_seq_len)
        if not instances:
            raise PretrainError("the corpus yields no training sequences (documents too short?)")
        rng.shuffle(instances)
        return instances

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state["seed"] != self.seed:
            raise PretrainError(f"data stream seed {self.seed} differs from the checkpoint's {state['seed']}")
        if state["epoch"] != self.epoch:
            self._instances = self._epoch_instances(state["epoch"])
        self.epoch, self.position = state["epoch"], state["position"]

    def next_batch(self, size: int) -> dict[str, torch.Tensor]:
        encoded, swapped = [], []
        for _ in range(size):
            if self.position >= len(self._instances):
                self.epoch, self.position = self.epoch + 1, 0
                self._instances = self._epoch_instances(self.epoch)
            instance = self._instances[self.position]
            rng = np.random.default_rng([self.seed, self.epoch, self.position])
            ids, types = encode_instance(instance, self.special)
            masked, labels = mask_tokens(ids, self.vocab, self.masking, rng)
            encoded.append((masked, labels, types))
            swapped.append(instance.swapped)
            self.position += 1
        return collate(encoded, swapped, self.special.pad)
