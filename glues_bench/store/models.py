"""The results database schema (SQLAlchemy 2.x declarative). Alembic migrations in `migrations/` create it.

Every change here needs a new migration in `migrations/versions/`; `tests/test_store.py` compares the
migrated schema with these models, so the two cannot drift.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ORIGINS = ("in-house", "external", "reported")
"""`in-house`: pretrained here; `external`: a registered checkpoint; `reported`: numbers from a paper."""

RUN_STATUSES = ("running", "done", "failed")

SPLITS = ("dev", "test")

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no time zones), always returned timezone-aware in UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Submission(Base):
    """A model on the leaderboard: a checkpoint we fine-tune, or a model whose numbers a paper reports."""

    __tablename__ = "submissions"
    __table_args__ = (CheckConstraint(_in("origin", ORIGINS), name="origin"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)  # the manifest's: shown instead of `name`
    family: Mapped[str | None] = mapped_column(String(100))
    origin: Mapped[str] = mapped_column(String(20))
    checkpoint_path: Mapped[str | None] = mapped_column(Text)
    hub_id: Mapped[str | None] = mapped_column(String(200))
    hub_revision: Mapped[str | None] = mapped_column(String(100))
    checkpoint_sha256: Mapped[str | None] = mapped_column(String(64))
    # Parameter counts stay NULL unless counted or printed by a source: never estimated.
    params_total: Mapped[int | None] = mapped_column(BigInteger)
    params_non_embedding: Mapped[int | None] = mapped_column(BigInteger)
    params_as_printed: Mapped[str | None] = mapped_column(String(40))
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    licence: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    runs: Mapped[list[Run]] = relationship(back_populates="submission")
    reported: Mapped[list[ReportedResult]] = relationship(back_populates="submission")


class Run(Base):
    """One fine-tuning of one checkpoint on one task with one config and seed; its provenance and state."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint(
            "submission_id",
            "checkpoint_sha256",
            "task",
            "variant",
            "spec_hash",
            "data_fingerprint_hash",
            "hparams_hash",
            "seed",
            name="uq_runs_key",
        ),
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    checkpoint_sha256: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(40))
    variant: Mapped[str] = mapped_column(String(40))
    spec_version: Mapped[int] = mapped_column(Integer)
    spec_hash: Mapped[str] = mapped_column(String(64))
    data_fingerprint: Mapped[dict[str, str]] = mapped_column(JSON)
    data_fingerprint_hash: Mapped[str] = mapped_column(String(64))
    hparams: Mapped[dict[str, Any]] = mapped_column(JSON)
    hparams_hash: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_s: Mapped[float | None] = mapped_column(Float)
    durations: Mapped[dict[str, float] | None] = mapped_column(JSON)
    library_versions: Mapped[dict[str, str] | None] = mapped_column(JSON)
    harness_version: Mapped[str | None] = mapped_column(String(40))
    harness_git_sha: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(200))
    host: Mapped[str | None] = mapped_column(String(200))
    pid: Mapped[int | None] = mapped_column(Integer)
    selection_rule: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The claim on a `running` run (migration 0002): the process that owns it renews `lease_expires_at`
    # while it works; once the lease has expired, any process may reclaim the run (see `Store.claim_run`).
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    submission: Mapped[Submission] = relationship(back_populates="runs")
    metrics: Mapped[list[MetricValue]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )
    predictions: Mapped[list[PredictionArtifact]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )
    unit_stats: Mapped[list[UnitStats]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class _OfRunAndSplit:
    """The key columns of a row that belongs to one run on one split (deleted with its run); `sort_order`
    puts them first, as the migrations create them."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-3)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True, sort_order=-2)
    split: Mapped[str] = mapped_column(String(10), sort_order=-1)


def _run_split_constraints(unique_name: str, *more_key: str) -> tuple[UniqueConstraint, CheckConstraint]:
    return (
        UniqueConstraint("run_id", "split", *more_key, name=unique_name),
        CheckConstraint(_in("split", SPLITS), name="split"),
    )


class MetricValue(_OfRunAndSplit, Base):
    """One metric of one run on one split, in percent (0-100)."""

    __tablename__ = "metrics"
    __table_args__ = _run_split_constraints("uq_metrics_run_split_name", "name")

    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)

    run: Mapped[Run] = relationship(back_populates="metrics")


class PredictionArtifact(_OfRunAndSplit, Base):
    """A run's predictions file for one split, with its sha256 (so a later edit is detectable)."""

    __tablename__ = "predictions"
    __table_args__ = _run_split_constraints("uq_predictions_run_split")

    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))

    run: Mapped[Run] = relationship(back_populates="predictions")


class ReportedResult(Base):
    """A number a publication reports for a model on a task; never mixed with measured runs."""

    __tablename__ = "reported_results"
    __table_args__ = (UniqueConstraint("submission_id", "task", "metric", "source", name="uq_reported_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    task: Mapped[str] = mapped_column(String(40))
    variant: Mapped[str | None] = mapped_column(String(40))
    metric: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(500))
    source_ref: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())

    submission: Mapped[Submission] = relationship(back_populates="reported")


class UnitStats(_OfRunAndSplit, Base):
    """A run's per-unit statistics on one split (`metrics/units.py`): what the board bootstraps, kept at run
    time (when gold and predictions are at hand) so that a site build needs no gold data."""

    __tablename__ = "unit_stats"
    __table_args__ = _run_split_constraints("uq_unit_stats_run_split")

    kind: Mapped[str] = mapped_column(String(20))  # metrics.units.UnitKind
    n_units: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # metrics.units.encode_units
    sha256: Mapped[str] = mapped_column(String(64))  # of `data`

    run: Mapped[Run] = relationship(back_populates="unit_stats")


class BaselineResult(Base):
    """A task's data baseline (majority class, all-O, …; `board/baselines.py`) on one test split, scored by
    the task's metrics, with its unit statistics: computed from gold data, so stored like a run."""

    __tablename__ = "baselines"
    __table_args__ = (
        UniqueConstraint("task", "variant", "spec_hash", "test_fingerprint", name="uq_baselines_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(40))
    variant: Mapped[str] = mapped_column(String(40))
    spec_hash: Mapped[str] = mapped_column(String(64))
    test_fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    fitted_on: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text)
    test_source: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, float]] = mapped_column(JSON)
    unit_kind: Mapped[str] = mapped_column(String(20))
    n_units: Mapped[int] = mapped_column(Integer)
    units: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModelProfileRow(Base):
    """A checkpoint's measured speed and memory on one device (`glues-bench profile`).

    Keyed by the weights' sha256 and the device description (which names the thread count on CPU), so a
    profile on another device is a new row and never overwrites or mixes with this one; profiling again
    on the same device replaces the row. `tasks` holds `profile.TaskProfile.to_json()` per task.
    """

    __tablename__ = "model_profiles"
    __table_args__ = (
        UniqueConstraint("checkpoint_sha256", "device", name="uq_model_profiles_key"),
        CheckConstraint(_in("memory_kind", ("rss", "cuda_max_allocated")), name="memory_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_sha256: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(200))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), index=True
    )
    device_kind: Mapped[str] = mapped_column(String(20))
    threads: Mapped[int] = mapped_column(Integer)
    memory_kind: Mapped[str] = mapped_column(String(30))
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    weights_bytes: Mapped[int | None] = mapped_column(BigInteger)
    repeats: Mapped[int] = mapped_column(Integer)
    library_versions: Mapped[dict[str, str]] = mapped_column(JSON)
    harness_version: Mapped[str | None] = mapped_column(String(40))
    tasks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime())

    submission: Mapped[Submission | None] = relationship()
