"""Batches of encoded features: length-grouped order, dynamic padding.

A feature is one model input: a dict of int32 token arrays (`input_ids`, maybe `token_type_ids`, and
for token classification `labels`) plus, for training, scalar targets (`labels` for sequence
classification, `start_positions`/`end_positions` for QA). Arrays, not lists: a QA training set holds
~90k windows of up to 512 tokens, which as Python ints would take gigabytes. The attention mask is not
stored: features are unpadded, so it is derived from their lengths. Batches are padded to their own
longest feature, never to the maximum length, and grouped by length so little padding is computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

IGNORE_INDEX = -100
"""Label of positions the loss skips (specials, continuation sub-tokens, padding): PyTorch's default."""

Feature = dict[str, "np.ndarray | int"]

MEGABATCH_FACTOR = 50
"""Training batches are cut from shuffled groups of this many batches, each sorted by length (HF's
`LengthGroupedSampler` uses the same factor): batches hold similar lengths yet their order stays random."""


def train_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """One epoch of feature indices: shuffled, length-grouped within megabatches, batches shuffled.

    Every index appears exactly once, and there are always ceil(n / batch_size) batches (every megabatch
    but the last holds a multiple of `batch_size`), so the scheduler's step count is known up front.
    """
    permutation = torch.randperm(len(lengths), generator=generator).tolist()
    megabatch = batch_size * MEGABATCH_FACTOR
    batches: list[list[int]] = []
    for start in range(0, len(permutation), megabatch):
        group = sorted(permutation[start : start + megabatch], key=lambda i: lengths[i], reverse=True)
        batches.extend(group[i : i + batch_size] for i in range(0, len(group), batch_size))
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in order]


def eval_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Feature indices sorted by length (stable, so deterministic), cut into batches."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Stack features into tensors, right-padding token arrays to the longest one in this batch."""
    lengths = np.array([len(feature["input_ids"]) for feature in features])
    longest = int(lengths.max())
    batch = {}
    for key, first in features[0].items():
        if isinstance(first, np.ndarray):
            pad = {"input_ids": pad_token_id, "labels": IGNORE_INDEX}.get(key, 0)
            values = np.full((len(features), longest), pad, dtype=np.int64)
            for row, feature in enumerate(features):
                values[row, : len(feature[key])] = feature[key]
        else:
            values = np.array([feature[key] for feature in features], dtype=np.int64)
        batch[key] = torch.from_numpy(values)
    batch["attention_mask"] = torch.from_numpy((np.arange(longest) < lengths[:, None]).astype(np.int64))
    return batch


def as_array(token_ids: Sequence[int]) -> np.ndarray:
    return np.asarray(token_ids, dtype=np.int32)


def number_of_batches(n_features: int, batch_size: int) -> int:
    return -(-n_features // batch_size)
