"""Offline metrics for the GLUES tasks, in percent (0-100), and `score_predictions` to apply them.

- `qa`: extractive-QA F1 / exact match (official MLQA script, Spanish; or SQuAD v1.1, English).
- `tagging`: entity-level P/R/F1 (seqeval = conlleval) for IOB2, per-word P/R/F1 for plain tags, accuracy.
- `classification`: accuracy.
- `score`: `score_predictions(task, gold, predictions) -> ScoreResult`, dispatching on the task type.
"""

from __future__ import annotations

from glues_bench.metrics.score import ScoreResult, TokenMode, load_predictions, score_predictions

__all__ = ["ScoreResult", "TokenMode", "load_predictions", "score_predictions"]
