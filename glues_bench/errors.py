"""Every error the harness raises on bad input, in one place. Only the CLI (and the pretraining scripts)
catch them; messages are one line.

    GluesError                      one-line, user-facing
    ├── SpecError                   a task spec is invalid
    ├── DataError                   a data file is missing or malformed (names file and line)
    │   ├── DataUnavailable         no source of a split could be found or reached
    │   ├── RowCountDrift           a split's rows differ from its official count (under --strict)
    │   ├── FetchError              a release file could not be downloaded or verified (names the URL)
    │   └── ContaminationError      the pretraining corpus overlaps an evaluation set
    ├── PredictionError             a predictions file does not match its gold file
    ├── StoreError                  the results database refused an operation
    ├── SubmissionError             a manifest or checkpoint is invalid
    │   └── CheckpointNotFound      a local checkpoint or tokenizer folder is not on this machine
    ├── TokenizerNotSupported       the tokenizer cannot do what the task needs
    ├── PretrainError               a pretraining or distillation run cannot do what it was asked
    ├── SiteError                   the site cannot be written where asked
    └── UnknownName (+ KeyError)    a name is not registered; suggests the closest ones
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GluesError(Exception):
    """Base class: a one-line, user-facing error (bad input, missing data, bad spec)."""


class SpecError(GluesError):
    """A task spec is invalid."""


class DataError(GluesError):
    """A data file is missing or malformed; the message names the file and line."""


class DataUnavailable(DataError):
    """No source of a split could be found or reached (no local file, no hub copy or no network)."""


class RowCountDrift(DataError):
    """A split's row count differs from the official count its spec declares (raised under --strict)."""


class FetchError(DataError):
    """A release file could not be downloaded or verified; the message is one line naming the URL."""


class ContaminationError(DataError):
    """The pretraining corpus overlaps a GLUES evaluation set past the allowed threshold."""


class PredictionError(GluesError):
    """A predictions file does not match its gold file."""


class StoreError(GluesError):
    """The results database refused an operation."""


class SubmissionError(GluesError):
    """A submission manifest or checkpoint is invalid."""


class CheckpointNotFound(SubmissionError):
    """A manifest's local checkpoint (or tokenizer) directory is not on this machine."""


class TokenizerNotSupported(GluesError):
    """The checkpoint's tokenizer cannot do what the task needs (e.g. a slow tokenizer has no word_ids)."""


class PretrainError(GluesError):
    """A pretraining or distillation run was asked for something it cannot do (bad preset, bad resume)."""


class SiteError(GluesError):
    """The site cannot be written where asked."""


class UnknownName(GluesError, KeyError):
    """A name (task, variant, metric, model) is not registered; suggests the closest ones."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])


def first_line(exc: BaseException, max_chars: int | None = None) -> str:
    """The first line of an exception's message (its class name when it has none): what a one-line error
    quotes of a library's multi-line one."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:max_chars]
