"""In-house models: the ALBETO vocabulary, ALBETO pretraining, DistilBETO distillation, corpus checks.

Modules (import what you need; this package imports torch):
- `tokenizer`: `train_tokenizer(texts_or_files, out_dir, vocab_size=31000) -> Path` (SentencePiece unigram).
- `corpus`: documents from text / CoNLL-2002 / hub datasets.
- `albert`: Table 1-2 presets, `pretrain(...)`.
- `distill`: DistilBERT student from a BERT teacher, triple loss, `distill(...)`.
- `contamination`: n-gram overlap of a corpus with the GLUES dev/test sets.
- `loop`: the shared, exactly resumable training loop.
"""

from __future__ import annotations

from glues_bench.errors import ContaminationError, PretrainError
from glues_bench.pretrain.tokenizer import train_tokenizer

__all__ = ["ContaminationError", "PretrainError", "train_tokenizer"]
