"""Sequence-classification metric: accuracy (XNLI, PAWS-X, MLDoc)."""

from __future__ import annotations

from collections.abc import Sequence


def accuracy(gold: Sequence[str], predictions: Sequence[str | None]) -> float:
    """Percent of examples whose predicted label equals the gold label; a missing one (`None`) is wrong."""
    if len(gold) != len(predictions):
        raise ValueError(f"{len(gold)} gold labels but {len(predictions)} predictions")
    correct = sum(p is not None and p == g for g, p in zip(gold, predictions, strict=True))
    return 100.0 * correct / len(gold) if gold else 0.0
