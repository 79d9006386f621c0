"""Every error the harness raises on bad input. Only `cli.py` catches them; messages are one line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GluesError(Exception):
    """Base class: a one-line, user-facing error (bad input, missing data, bad spec)."""


class SpecError(GluesError):
    """A task spec is invalid."""


class DataError(GluesError):
    """A data file is missing or malformed; the message names the file and line."""


class PredictionError(GluesError):
    """A predictions file does not match its gold file."""


class StoreError(GluesError):
    """The results database refused an operation."""


class SubmissionError(GluesError):
    """A submission manifest or checkpoint is invalid."""


class UnknownName(GluesError, KeyError):
    """A name (task, variant, metric, model) is not registered; suggests the closest ones."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])
