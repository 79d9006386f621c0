"""Plain, frozen copies of database rows: what the store returns and what the board
(`glues_bench.board`) and the site read.

Nothing here touches the database, so leaderboards and pages are pure functions of a `Snapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from glues_bench.profile import TaskProfile

__all__ = [
    "BaselineRecord",
    "PredictionRecord",
    "ProfileRecord",
    "ReportedRecord",
    "RunRecord",
    "Snapshot",
    "SubmissionRecord",
    "UnitStatsRecord",
]


@dataclass(frozen=True)
class SubmissionRecord:
    """A model on the leaderboard (see `models.Submission`)."""

    id: int
    name: str
    family: str | None
    origin: str
    checkpoint_path: str | None
    hub_id: str | None
    hub_revision: str | None
    checkpoint_sha256: str | None
    params_total: int | None
    params_non_embedding: int | None
    params_as_printed: str | None
    manifest: dict[str, Any] | None
    licence: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    display_name: str | None = None
    """What the site shows instead of `name` (the manifest's `display_name`); None: the name."""


@dataclass(frozen=True)
class PredictionRecord:
    split: str
    path: str
    sha256: str


@dataclass(frozen=True)
class RunRecord:
    """One run with its provenance, metrics ({split: {metric: value}}) and prediction files."""

    id: int
    submission: str
    checkpoint_sha256: str
    task: str
    variant: str
    spec_version: int
    spec_hash: str
    data_fingerprint: dict[str, str]
    data_fingerprint_hash: str
    hparams: dict[str, Any]
    hparams_hash: str
    seed: int
    status: str
    error: str | None
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    durations: dict[str, float] | None
    library_versions: dict[str, str] | None
    harness_version: str | None
    harness_git_sha: str | None
    device: str | None
    host: str | None
    pid: int | None
    selection_rule: str | None
    details: dict[str, Any] | None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    predictions: tuple[PredictionRecord, ...] = ()
    owner: str | None = None
    """The claim token (`host:pid:random`) of the process that runs or last ran it."""
    heartbeat_at: datetime | None = None
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class ReportedRecord:
    """One number a publication printed for a model on a task."""

    submission: str
    task: str
    variant: str | None
    metric: str
    value: float
    source: str
    source_ref: str | None
    imported_at: datetime


@dataclass(frozen=True)
class UnitStatsRecord:
    """A run's per-unit statistics on one split: `data` is `metrics.units.encode_units` of the rows."""

    run_id: int
    split: str
    kind: str
    n_units: int
    data: bytes
    sha256: str


@dataclass(frozen=True)
class BaselineRecord:
    """A task's data baseline on one test split (see `models.BaselineResult`)."""

    id: int
    task: str
    variant: str
    spec_hash: str
    test_fingerprint: str
    kind: str
    fitted_on: str | None
    note: str
    test_source: str
    metrics: dict[str, float]
    unit_kind: str
    n_units: int
    units: bytes
    created_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """Everything in the store, sorted by id: the one input of the leaderboard and the site."""

    submissions: tuple[SubmissionRecord, ...]
    runs: tuple[RunRecord, ...]
    reported: tuple[ReportedRecord, ...]
    unit_stats: tuple[UnitStatsRecord, ...] = ()
    """Per-unit statistics of the runs that have them (runs stored before they existed have none)."""
    baselines: tuple[BaselineRecord, ...] = ()
    profiles: tuple[ProfileRecord, ...] = ()
    """Stored `glues-bench profile` results (speed and memory per checkpoint and device)."""

    @property
    def last_updated(self) -> datetime | None:
        """The newest result in the store (a finished run or an imported number); never the clock."""
        times = [r.finished_at for r in self.runs if r.finished_at is not None]
        times += [r.imported_at for r in self.reported]
        return max(times, default=None)


@dataclass(frozen=True)
class ProfileRecord:
    """A stored `glues-bench profile`: one checkpoint (by weights sha256) on one device."""

    id: int
    submission: str | None
    """The registered name it was profiled under (None if that submission was deleted since)."""
    checkpoint_sha256: str
    device: str
    device_kind: str
    threads: int
    memory_kind: str
    peak_memory_bytes: int | None
    weights_bytes: int | None
    repeats: int
    library_versions: dict[str, str]
    harness_version: str | None
    measured_at: datetime
    tasks: tuple[TaskProfile, ...]

    def task(self, name: str) -> TaskProfile | None:
        return next((t for t in self.tasks if t.task == name), None)
