"""Errors of the in-house pretraining tools; the scripts print them as one line and exit 2."""

from __future__ import annotations

from glues_bench.errors import DataError, GluesError


class PretrainError(GluesError):
    """A pretraining or distillation run was asked for something it cannot do (bad preset, bad resume)."""


class ContaminationError(DataError):
    """The pretraining corpus overlaps a GLUES evaluation set past the allowed threshold."""
