"""Errors of the in-house pretraining tools (defined in `glues_bench.errors`); the scripts print them as one
line and exit 2."""

from glues_bench.errors import ContaminationError, PretrainError

__all__ = ["ContaminationError", "PretrainError"]
