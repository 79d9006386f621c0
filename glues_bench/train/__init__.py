"""Fine-tuning: one (checkpoint, task, hyper-parameters, seed) → dev/test predictions.

`finetune` is the entry point the runner calls, with a `ModelRef` saying how to load the checkpoint;
`build_tiny_checkpoint` makes an offline random model for tests and the demo.
"""

from __future__ import annotations

from glues_bench.model_ref import ModelRef
from glues_bench.train.finetune import HEADS, FinetuneResult, finetune
from glues_bench.train.heads import TokenizerNotSupported
from glues_bench.train.tiny import build_tiny_checkpoint

__all__ = [
    "HEADS",
    "FinetuneResult",
    "ModelRef",
    "TokenizerNotSupported",
    "build_tiny_checkpoint",
    "finetune",
]
