"""The results store: a few verbs with plain arguments over the schema in `models.py`.

Every write verb is one transaction: it either happens completely or not at all.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from glues_bench.errors import GluesError, StoreError, UnknownName, first_line
from glues_bench.provenance import file_sha256
from glues_bench.store import engine as engine_module
from glues_bench.store.models import (
    ORIGINS,
    SPLITS,
    BaselineResult,
    MetricValue,
    ModelProfileRow,
    PredictionArtifact,
    ReportedResult,
    Run,
    Submission,
    UnitStats,
)
from glues_bench.store.records import (
    BaselineRecord,
    PredictionRecord,
    ProfileRecord,
    ReportedRecord,
    RunRecord,
    Snapshot,
    SubmissionRecord,
    UnitStatsRecord,
)
from glues_bench.store.reported import ReportedFile, ReportedModel, load_reported_file

if TYPE_CHECKING:
    from glues_bench.profile import ModelProfile

MAX_ERROR_CHARS = 20_000
DEFAULT_LEASE_SECONDS = 60.0
"""How long a claim on a running run holds without a heartbeat. The owner renews it every third of this,
so a process that died is reclaimed within one lease; machines sharing a database need synchronised clocks
(NTP) to well within it."""


def canonical_hash(value: Any) -> str:
    """sha256 of canonical JSON (sorted keys): the same mapping always gives the same hash."""
    payload = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def hparams_hash(hparams: Mapping[str, Any]) -> str:
    """The store's one hash of a fine-tuning config (16 hex digits)."""
    return canonical_hash(dict(hparams))[:16]


def _now() -> datetime:
    return datetime.now(timezone.utc)


_PROCESS_OWNER: str | None = None


def process_owner() -> str:
    """This process's claim token, `host:pid:random`: unique even where pids repeat (containers, hosts)."""
    global _PROCESS_OWNER
    if _PROCESS_OWNER is None or _PROCESS_OWNER.split(":")[-2] != str(os.getpid()):  # forked: new token
        _PROCESS_OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    return _PROCESS_OWNER


ClaimState = Literal["claimed", "busy", "done"]


@dataclass(frozen=True)
class Claim:
    """What `Store.claim_run` got: the run to execute (`claimed`), or why not (`busy`: a live claim by
    some process, maybe this one; `done`: finished and not to be redone)."""

    state: ClaimState
    run_id: int | None
    owner: str | None = None


class ClaimLost(StoreError):
    """A run's lease expired and another process reclaimed it: this process must not record its result."""


def _plain(hparams: Any) -> dict[str, Any]:
    """HParams (pydantic) or a mapping → a plain JSON-able dict."""
    if hasattr(hparams, "model_dump"):
        return hparams.model_dump(mode="json")
    return dict(hparams)


@dataclass(frozen=True)
class RunKey:
    """What identifies a run: the same key twice means a rerun (see `Store.claim_run`)."""

    submission: str
    checkpoint_sha256: str
    task: str
    variant: str
    spec_hash: str
    data_fingerprint: Mapping[str, str]
    hparams: Mapping[str, Any]
    seed: int

    @property
    def data_fingerprint_hash(self) -> str:
        return canonical_hash(dict(self.data_fingerprint))

    @property
    def hparams_hash(self) -> str:
        return hparams_hash(_plain(self.hparams))


@dataclass(frozen=True)
class ImportSummary:
    models: int
    added: int
    updated: int
    removed: int
    unchanged: int


class Store:
    """The results database. Create it with `open_store`; close it with `close()` or a `with` block."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine_module.writer(engine)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back if it raises."""
        with self._transaction(self.engine) as session:
            yield session

    @contextmanager
    def _transaction(self, engine: Engine) -> Iterator[Session]:
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise StoreError(f"results database refused the write: {first_line(exc.orig or exc)}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"results database {self.url}: {first_line(exc)}") from exc

    # -- submissions -------------------------------------------------------------------------------

    def upsert_submission(
        self,
        name: str,
        *,
        origin: str,
        display_name: str | None = None,
        family: str | None = None,
        checkpoint_path: str | None = None,
        hub_id: str | None = None,
        hub_revision: str | None = None,
        checkpoint_sha256: str | None = None,
        params_total: int | None = None,
        params_non_embedding: int | None = None,
        params_as_printed: str | None = None,
        manifest: Mapping[str, Any] | None = None,
        licence: str | None = None,
        notes: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Create or replace a submission by name (every field is set as given); returns its id.

        Refuses to change a submission's origin: a `reported` model and a measured one never share a row.
        """
        with self._transaction(self._writer) as session:
            return self._upsert_submission(session, name, origin=origin, now=now, fields={
                "display_name": display_name, "family": family, "checkpoint_path": checkpoint_path,
                "hub_id": hub_id,
                "hub_revision": hub_revision, "checkpoint_sha256": checkpoint_sha256,
                "params_total": params_total, "params_non_embedding": params_non_embedding,
                "params_as_printed": params_as_printed,
                "manifest": dict(manifest) if manifest is not None else None,
                "licence": licence, "notes": notes,
            })  # fmt: skip

    def _upsert_submission(
        self, session: Session, name: str, *, origin: str, now: datetime | None, fields: dict[str, Any]
    ) -> int:
        if origin not in ORIGINS:
            raise StoreError(f"submission {name!r}: origin {origin!r} is not one of {', '.join(ORIGINS)}")
        if not name.strip():
            raise StoreError("submission name is empty")
        for key in ("params_total", "params_non_embedding"):
            if fields[key] is not None and (isinstance(fields[key], bool) or fields[key] <= 0):
                raise StoreError(f"submission {name!r}: {key} must be a positive integer or unset")
        now = now or _now()
        row = session.scalars(select(Submission).where(Submission.name == name)).one_or_none()
        if row is None:
            try:
                # In a savepoint: when another process inserts the same new name at the same moment
                # (PostgreSQL does not serialise this), our insert loses on uq_submissions_name and we
                # update the row it created instead of failing.
                with session.begin_nested():
                    row = Submission(name=name, origin=origin, created_at=now, updated_at=now, **fields)
                    session.add(row)
                    session.flush()
                return row.id
            except IntegrityError:
                row = session.scalars(select(Submission).where(Submission.name == name)).one()
        if row.origin != origin:
            raise StoreError(
                f"submission {name!r} already exists with origin {row.origin!r}, not {origin!r};"
                " choose another name"
            )
        if any(getattr(row, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = now
        return row.id

    def get_submission(self, name: str) -> SubmissionRecord:
        with self.session() as session:
            row = session.scalars(select(Submission).where(Submission.name == name)).one_or_none()
            if row is None:
                raise UnknownName("submission", name, session.scalars(select(Submission.name)).all())
            return _submission_record(row)

    # -- runs --------------------------------------------------------------------------------------

    def start_run(self, key: RunKey, **claim_options: Any) -> int:
        """Record a run as `running` (claimed by `owner`, default this process) and return its id.

        Takes `claim_run`'s keyword arguments (one signature, written once, there). Like `claim_run`, but a
        key that is done (without `redo`) or claimed by a live process is an error.
        """
        claim = self.claim_run(key, **claim_options)
        if claim.state == "busy":
            raise StoreError(
                f"run {claim.run_id} with this key is already running (claimed by {claim.owner}; "
                "its lease must expire first, or see `glues-bench runs release`)"
            )
        if claim.state == "done":
            raise StoreError(f"run {claim.run_id} with this key is already done (pass redo=True to redo it)")
        assert claim.run_id is not None
        return claim.run_id

    def claim_run(
        self,
        key: RunKey,
        *,
        spec_version: int,
        library_versions: Mapping[str, str] | None = None,
        harness_version: str | None = None,
        harness_git_sha: str | None = None,
        device: str | None = None,
        selection_rule: str | None = None,
        details: Mapping[str, Any] | None = None,
        started_at: datetime | None = None,
        redo: bool = False,
        owner: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> Claim:
        """Atomically claim the run of `key` for `owner` (default: this process) with a lease.

        A new key is inserted as `running`. A failed run, a `done` one with `redo`, and a `running` one
        whose lease has expired (its process died: killed, in a container, on another machine) are
        restarted in place, attempt + 1, old metrics dropped. A `running` run whose lease still holds is
        `busy` and left alone, whoever holds it; a `done` one without `redo` is `done`. Two processes
        claiming one key at once: exactly one gets it (SQLite: the write lock is taken at BEGIN;
        PostgreSQL: the row is locked, and a concurrent insert loses on the unique key).
        """
        _check_key(key)
        if harness_version is None:
            from glues_bench import __version__ as harness_version
        owner = owner or process_owner()
        now = started_at or _now()
        provenance = {
            "spec_version": spec_version,
            "library_versions": dict(library_versions) if library_versions is not None else None,
            "harness_version": harness_version,
            "harness_git_sha": harness_git_sha,
            "device": device,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "selection_rule": selection_rule,
            "details": dict(details) if details is not None else None,
            "started_at": now,
            "status": "running",
            "error": None,
            "finished_at": None,
            "duration_s": None,
            "durations": None,
            "owner": owner,
            "heartbeat_at": now,
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
        }
        try:
            with self._transaction(self._writer) as session:
                submission = _submission_by_name(session, key.submission)
                row = _run_by_key(session, submission.id, key, for_update=True)
                if row is None:
                    row = Run(
                        submission_id=submission.id,
                        checkpoint_sha256=key.checkpoint_sha256,
                        task=key.task,
                        variant=key.variant,
                        spec_hash=key.spec_hash,
                        data_fingerprint=dict(key.data_fingerprint),
                        data_fingerprint_hash=key.data_fingerprint_hash,
                        hparams=_plain(key.hparams),
                        hparams_hash=key.hparams_hash,
                        seed=key.seed,
                        attempt=1,
                        **provenance,
                    )
                    session.add(row)
                    session.flush()
                    return Claim("claimed", row.id, owner)
                if row.status == "running" and lease_is_live(row):
                    return Claim("busy", row.id, row.owner)
                if row.status == "done" and not redo:
                    return Claim("done", row.id, row.owner)
                if row.status == "running":  # an expired claim: say whose it was
                    previous = {"reclaimed_from": row.owner, "last_heartbeat": _iso(row.heartbeat_at)}
                    provenance["details"] = {**(provenance["details"] or {}), **previous}
                row.metrics.clear()
                row.predictions.clear()
                row.unit_stats.clear()  # a redone run's statistics are its new predictions'
                for field_name, value in provenance.items():
                    setattr(row, field_name, value)
                row.attempt += 1
                return Claim("claimed", row.id, owner)
        except StoreError as exc:
            existing = self.find_run(key) if isinstance(exc.__cause__, IntegrityError) else None
            if existing is None:
                raise
            return Claim("busy", existing.id, existing.owner)  # another process inserted this key first

    def renew_leases(
        self, owner: str, lease_seconds: float = DEFAULT_LEASE_SECONDS, *, now: datetime | None = None
    ) -> int:
        """The heartbeat: extend the lease of every running run `owner` holds; returns how many."""
        now = now or _now()
        with self._transaction(self._writer) as session:
            result = session.execute(
                update(Run)
                .where(Run.owner == owner, Run.status == "running")
                .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds))
            )
            return int(result.rowcount or 0)

    def running_runs(self) -> list[RunRecord]:
        """Every `running` run, oldest first, with its owner and lease (see `lease_is_live`)."""
        with self.session() as session:
            rows = session.scalars(
                select(Run)
                .where(Run.status == "running")
                .options(selectinload(Run.predictions), selectinload(Run.submission))
                .order_by(Run.id)
            )
            return [_run_record(r) for r in rows]

    def release_runs(
        self,
        run_ids: list[int] | None = None,
        *,
        include_live: bool = False,
        reason: str = "released",
        now: datetime | None = None,
    ) -> list[int]:
        """Mark running runs `failed` so the next `run` redoes them; returns their ids.

        `run_ids=None` means every running run. A run whose lease still holds is kept (its process may be
        working on it) unless `include_live`: use that only when you know its process is gone.
        """
        now = now or _now()
        released: list[int] = []
        with self._transaction(self._writer) as session:
            query = select(Run).where(Run.status == "running").order_by(Run.id)
            if run_ids is not None:
                query = query.where(Run.id.in_(run_ids))
            for row in session.scalars(query.with_for_update()):
                if lease_is_live(row, now) and not include_live:
                    continue
                row.status = "failed"
                row.error = (
                    f"{reason}: claimed by {row.owner or f'pid {row.pid} on {row.host}'}, last heartbeat "
                    f"{_iso(row.heartbeat_at) or 'never'}; it stopped before the run finished"
                )
                row.finished_at = now
                row.duration_s = (now - row.started_at).total_seconds()
                row.owner = None
                released.append(row.id)
        return released

    def finish_run(
        self,
        run_id: int,
        metrics: Mapping[str, Mapping[str, float]],
        predictions: Mapping[str, str | Path | tuple[str | Path, str]] | None = None,
        *,
        durations: Mapping[str, float] | None = None,
        details: Mapping[str, Any] | None = None,
        finished_at: datetime | None = None,
        unit_stats: Mapping[str, tuple[str, int, bytes]] | None = None,
        owner: str | None = None,
    ) -> None:
        """Mark a running run `done` with its metrics ({split: {metric: percent}}) and prediction files,
        all in one transaction. A prediction file is `{split: path}` (hashed here) or `{split: (path,
        sha256)}` (checked against the file). Metric names are the task's metrics, plus an optional
        `score` (kept for reference; the leaderboard recomputes it from the score metrics). `unit_stats`:
        {split: (unit kind, number of units, encoded rows)}, stored in the same transaction. With `owner`,
        refuses (`ClaimLost`) when the run is no longer that owner's claim."""
        checked = _check_metrics(run_id, metrics)
        files, hashes = _prediction_files(run_id, predictions or {})
        finished_at = finished_at or _now()
        with self._transaction(self._writer) as session:
            row = _running(session, run_id, owner)
            _check_metric_names(row, checked)
            row.status = "done"
            row.finished_at = finished_at
            row.duration_s = (finished_at - row.started_at).total_seconds()
            row.durations = dict(durations) if durations is not None else None
            if details is not None:
                row.details = {**(row.details or {}), **details}
            for split, values in sorted(checked.items()):
                for name, value in sorted(values.items()):
                    session.add(MetricValue(run_id=run_id, split=split, name=name, value=value))
            # Metrics reach the database before the artefacts; a failure below rolls back both.
            session.flush()
            for split in sorted(files):
                session.add(
                    PredictionArtifact(
                        run_id=run_id, split=split, path=str(files[split]), sha256=hashes[split]
                    )
                )
            for split, (kind, n_units, data) in sorted((unit_stats or {}).items()):
                session.add(_unit_stats_row(run_id, split, kind, n_units, data))

    def put_unit_stats(self, run_id: int, split: str, kind: str, n_units: int, data: bytes) -> bool:
        """Store (or replace) a finished run's unit statistics on `split`, e.g. recomputed from its stored
        predictions for a run that predates them. Returns False when the same bytes were stored already."""
        if split not in SPLITS:
            raise StoreError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        with self._transaction(self._writer) as session:
            run = session.get(Run, run_id)
            if run is None:
                raise StoreError(f"no run with id {run_id}")
            existing = session.scalars(
                select(UnitStats).where(UnitStats.run_id == run_id, UnitStats.split == split)
            ).first()
            if existing is not None:
                if existing.sha256 == hashlib.sha256(data).hexdigest():
                    return False
                session.delete(existing)
                session.flush()
            session.add(_unit_stats_row(run_id, split, kind, n_units, data))
            return True

    def put_baseline(
        self,
        *,
        task: str,
        variant: str,
        spec_hash: str,
        test_fingerprint: str,
        kind: str,
        fitted_on: str | None,
        note: str,
        test_source: str,
        metrics: Mapping[str, float],
        unit_kind: str,
        n_units: int,
        units: bytes,
        created_at: datetime | None = None,
    ) -> bool:
        """Store a task's baseline on one test split; one per (task, variant, spec hash, test fingerprint).
        Returns False (and changes nothing) when that baseline is stored with the same numbers already."""
        checked = _check_metrics(0, {"test": metrics})["test"]
        with self._transaction(self._writer) as session:
            row = session.scalars(
                select(BaselineResult).where(
                    BaselineResult.task == task,
                    BaselineResult.variant == variant,
                    BaselineResult.spec_hash == spec_hash,
                    BaselineResult.test_fingerprint == test_fingerprint,
                )
            ).first()
            values = dict(
                kind=kind, fitted_on=fitted_on, note=note, test_source=test_source, metrics=checked,
                unit_kind=unit_kind, n_units=n_units, units=units,
            )  # fmt: skip
            if row is not None and all(getattr(row, k) == v for k, v in values.items()):
                return False
            if row is None:
                row = BaselineResult(
                    task=task, variant=variant, spec_hash=spec_hash, test_fingerprint=test_fingerprint
                )
                session.add(row)
            for name, value in values.items():
                setattr(row, name, value)
            row.created_at = created_at or _now()
            return True

    def fail_run(
        self, run_id: int, error: str, *, finished_at: datetime | None = None, owner: str | None = None
    ) -> None:
        """Mark a running run `failed` with its error (so the next attempt redoes it); `owner` as in
        `finish_run`."""
        finished_at = finished_at or _now()
        with self._transaction(self._writer) as session:
            row = _running(session, run_id, owner)
            row.status = "failed"
            row.error = error[:MAX_ERROR_CHARS]
            row.finished_at = finished_at
            row.duration_s = (finished_at - row.started_at).total_seconds()

    def find_run(self, key: RunKey) -> RunRecord | None:
        with self.session() as session:
            submission = session.scalars(
                select(Submission).where(Submission.name == key.submission)
            ).one_or_none()
            if submission is None:
                return None
            row = _run_by_key(session, submission.id, key)
            return None if row is None else _run_record(row)

    def get_run(self, run_id: int) -> RunRecord:
        with self.session() as session:
            row = session.get(Run, run_id)
            if row is None:
                raise StoreError(f"no run with id {run_id}")
            return _run_record(row)

    def runs(self, submission: str, task: str) -> list[RunRecord]:
        """Every run of one submission on one task (any status, variant or spec), sorted by id."""
        with self.session() as session:
            rows = session.scalars(
                select(Run)
                .join(Run.submission)
                .where(Submission.name == submission, Run.task == task)
                .options(
                    selectinload(Run.metrics), selectinload(Run.predictions), selectinload(Run.submission)
                )
                .order_by(Run.id)
            )
            return [_run_record(r) for r in rows]

    # -- reported results --------------------------------------------------------------------------

    def import_reported(
        self, source: Path | str | ReportedFile, *, now: datetime | None = None
    ) -> ImportSummary:
        """Load a reported-results file as `reported` submissions and values; importing twice changes nothing.

        Values of the same source that the file no longer lists are removed.
        """
        parsed = source if isinstance(source, ReportedFile) else load_reported_file(Path(source))
        now = now or _now()
        counts = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0}
        with self._transaction(self._writer) as session:
            for model in parsed.models:
                for outcome, n in self._import_reported_model(session, parsed, model, now).items():
                    counts[outcome] += n
        return ImportSummary(models=len(parsed.models), **counts)

    def _import_reported_model(
        self, session: Session, parsed: ReportedFile, model: ReportedModel, now: datetime
    ) -> dict[str, int]:
        fields = {
            "display_name": None,
            "family": model.family,
            "checkpoint_path": None,
            "hub_id": None,
            "hub_revision": None,
            "checkpoint_sha256": None,
            "params_total": model.param_count,
            "params_non_embedding": None,
            "params_as_printed": None if model.params is None else str(model.params),
            "manifest": None,
            "licence": None,
            "notes": model.notes,
        }
        submission_id = self._upsert_submission(
            session, model.name, origin="reported", now=now, fields=fields
        )
        citation = parsed.source.citation
        existing = {
            (r.task, r.metric): r
            for r in session.scalars(
                select(ReportedResult).where(
                    ReportedResult.submission_id == submission_id, ReportedResult.source == citation
                )
            )
        }
        wanted = {(t, m): v for t, values in model.results.items() for m, v in values.items()}
        counts = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0}
        for (task, metric), value in sorted(wanted.items()):
            variant, ref = parsed.variants.get(task), parsed.source_refs.get(task)
            row = existing.get((task, metric))
            if row is None:
                row = ReportedResult(submission_id=submission_id, task=task, metric=metric, source=citation)
                session.add(row)
                counts["added"] += 1
            elif (row.value, row.variant, row.source_ref) == (value, variant, ref):
                counts["unchanged"] += 1
                continue
            else:
                counts["updated"] += 1
            row.value, row.variant, row.source_ref, row.imported_at = value, variant, ref, now
        for task_metric in sorted(set(existing) - set(wanted)):
            session.delete(existing[task_metric])
            counts["removed"] += 1
        return counts

    # -- model profiles (speed and memory per device) ----------------------------------------------

    def put_profile(
        self, profile: ModelProfile, *, submission: str | None = None, measured_at: datetime | None = None
    ) -> ProfileRecord:
        """Store a profile under (weights sha256, device): replaces that device's previous profile of
        the same weights, never another device's. `submission` names the registered model, if any."""
        import glues_bench

        if not profile.tasks:
            raise StoreError("a profile needs at least one task")
        with self._transaction(self._writer) as session:
            submission_id = _submission_by_name(session, submission).id if submission else None
            row = session.scalar(
                select(ModelProfileRow).where(
                    ModelProfileRow.checkpoint_sha256 == profile.checkpoint_sha256,
                    ModelProfileRow.device == profile.device,
                )
            )
            if row is None:
                row = ModelProfileRow(checkpoint_sha256=profile.checkpoint_sha256, device=profile.device)
                session.add(row)
            row.submission_id = submission_id
            row.device_kind, row.threads, row.memory_kind = (
                profile.device_kind,
                profile.threads,
                profile.memory_kind,
            )
            row.peak_memory_bytes, row.weights_bytes = profile.peak_memory_bytes, profile.weights_bytes
            row.repeats, row.library_versions = profile.repeats, dict(profile.library_versions)
            row.harness_version = glues_bench.__version__
            row.tasks = [task.to_json() for task in profile.tasks]
            row.measured_at = measured_at or _now()
            session.flush()
            return _profile_record(row, submission)

    def list_profiles(
        self, *, checkpoint_sha256: str | None = None, submission: str | None = None
    ) -> list[ProfileRecord]:
        """Stored profiles (optionally of one checkpoint or one registered name), sorted by id."""
        with self.session() as session:
            query = select(ModelProfileRow).options(selectinload(ModelProfileRow.submission))
            if checkpoint_sha256 is not None:
                query = query.where(ModelProfileRow.checkpoint_sha256 == checkpoint_sha256)
            if submission is not None:
                query = query.where(
                    ModelProfileRow.submission_id == _submission_by_name(session, submission).id
                )
            rows = session.scalars(query.order_by(ModelProfileRow.id)).all()
            return [_profile_record(row, row.submission.name if row.submission else None) for row in rows]

    # -- reading everything ------------------------------------------------------------------------

    def snapshot(self, *, provenance: bool = True) -> Snapshot:
        """Every submission, run (with metrics and predictions), reported value and profile, sorted by id.

        The bulk read path: Core selects of the record's columns (no ORM objects, no relationship
        loading), metrics and predictions grouped by run in one pass each. `provenance=False` reads only
        what the leaderboard needs: the runs' free-form JSON provenance (`PROVENANCE_ONLY_COLUMNS`:
        durations, library versions) and error text are left None."""
        run_table = Run.__table__
        skipped = set() if provenance else PROVENANCE_ONLY_COLUMNS
        run_columns = [c for c in run_table.columns if c.key in _RUN_RECORD_COLUMNS and c.key not in skipped]
        with self.session() as session:
            submissions = session.scalars(select(Submission).order_by(Submission.id)).all()
            names = {s.id: s.name for s in submissions}
            metrics: dict[int, dict[str, dict[str, float]]] = {}
            for run_id, split, name, value in session.execute(
                select(MetricValue.run_id, MetricValue.split, MetricValue.name, MetricValue.value).order_by(
                    MetricValue.run_id, MetricValue.split, MetricValue.name
                )
            ):
                metrics.setdefault(run_id, {}).setdefault(split, {})[name] = value
            predictions: dict[int, list[PredictionRecord]] = {}
            for run_id, split, path, sha256 in session.execute(
                select(
                    PredictionArtifact.run_id,
                    PredictionArtifact.split,
                    PredictionArtifact.path,
                    PredictionArtifact.sha256,
                ).order_by(PredictionArtifact.run_id, PredictionArtifact.split)
            ):
                predictions.setdefault(run_id, []).append(
                    PredictionRecord(split=split, path=path, sha256=sha256)
                )
            keys = [c.key for c in run_columns]
            runs = []
            for row in session.execute(
                select(*run_columns, run_table.c.submission_id).order_by(run_table.c.id)
            ):
                values = dict(zip(keys, row, strict=False))
                run_id = values["id"]
                runs.append(
                    RunRecord(
                        **values,
                        **dict.fromkeys(skipped),
                        submission=names[row[-1]],
                        metrics=metrics.get(run_id, {}),
                        predictions=tuple(predictions.get(run_id, ())),
                    )
                )
            reported = session.execute(
                select(
                    ReportedResult.submission_id, ReportedResult.task, ReportedResult.variant,
                    ReportedResult.metric, ReportedResult.value, ReportedResult.source,
                    ReportedResult.source_ref, ReportedResult.imported_at,
                ).order_by(ReportedResult.id)
            ).all()  # fmt: skip
            profiles = session.scalars(select(ModelProfileRow).order_by(ModelProfileRow.id)).all()
            unit_stats = session.scalars(select(UnitStats).order_by(UnitStats.run_id, UnitStats.split)).all()
            baselines = session.scalars(select(BaselineResult).order_by(BaselineResult.id)).all()
            return Snapshot(
                unit_stats=tuple(_columns(u, UnitStatsRecord) for u in unit_stats),
                baselines=tuple(_columns(b, BaselineRecord) for b in baselines),
                submissions=tuple(_submission_record(s) for s in submissions),
                runs=tuple(runs),
                reported=tuple(
                    ReportedRecord(
                        submission=names[r[0]], task=r[1], variant=r[2], metric=r[3], value=r[4],
                        source=r[5], source_ref=r[6], imported_at=r[7],
                    )
                    for r in reported
                ),
                profiles=tuple(
                    _profile_record(p, names.get(p.submission_id) if p.submission_id is not None else None)
                    for p in profiles
                ),
            )  # fmt: skip


def open_store(url: str | None = None, *, migrate: bool = True, create: bool = True) -> Store:
    """Open (and by default migrate) the results database.

    `url`: a SQLAlchemy URL; None → $GLUES_BENCH_DB → `sqlite:///results/glues_bench.db`. With
    `create=False` (the reading commands) a SQLite file that does not exist is an error, not an empty board.
    """
    engine = engine_module.create_store_engine(engine_module.resolve_url(url), create=create)
    if migrate:
        try:
            engine_module.upgrade(engine)
        except GluesError:
            engine.dispose()
            raise
    return Store(engine)


# -- helpers -----------------------------------------------------------------------------------------


def lease_is_live(run: RunRecord | Run, now: datetime | None = None) -> bool:
    """Whether a running run's claim still holds (a run with no lease, from before leases, has none)."""
    return run.lease_expires_at is not None and run.lease_expires_at > (now or _now())


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _check_key(key: RunKey) -> None:
    from glues_bench.tasks import get_task

    if not key.checkpoint_sha256:
        raise StoreError(f"run of {key.submission!r}: checkpoint sha256 is empty; hash the checkpoint first")
    spec = get_task(key.task)
    if spec.name != key.task:
        raise StoreError(f"run task {key.task!r}: use the canonical task name {spec.name!r}")
    spec.resolve(key.variant)  # raises UnknownName for a variant the spec does not define


def _check_metrics(run_id: int, metrics: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    checked: dict[str, dict[str, float]] = {}
    for split, values in metrics.items():
        if split not in SPLITS:
            raise StoreError(f"run {run_id}: metrics split {split!r} is not one of {', '.join(SPLITS)}")
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise StoreError(f"run {run_id}: metric {split}/{name} = {value!r} is not a finite number")
        checked[split] = {name: float(value) for name, value in values.items()}
    return checked


def _prediction_files(
    run_id: int, predictions: Mapping[str, str | Path | tuple[str | Path, str]]
) -> tuple[dict[str, Path], dict[str, str]]:
    files: dict[str, Path] = {}
    hashes: dict[str, str] = {}
    for split, given in predictions.items():
        if split not in SPLITS:
            raise StoreError(f"run {run_id}: predictions split {split!r} is not one of {', '.join(SPLITS)}")
        path, claimed = (given[0], given[1]) if isinstance(given, tuple) else (given, None)
        path = Path(path)  # a relative path stays relative (to the project), so the DB can move with it
        if not path.is_file():
            raise StoreError(f"run {run_id}: predictions file {path} does not exist")
        files[split], hashes[split] = path, file_sha256(path)
        if claimed is not None and claimed != hashes[split]:
            raise StoreError(
                f"run {run_id}: predictions file {path} has sha256 {hashes[split]}, not {claimed}"
            )
    return files, hashes


def _check_metric_names(row: Run, metrics: Mapping[str, Mapping[str, float]]) -> None:
    from glues_bench.tasks import get_task

    known = (*get_task(row.task).metrics, "score")
    for split, values in metrics.items():
        for name in values:
            if name not in known:
                raise StoreError(f"run {row.id}: metric {split}/{name!r} is not one of {', '.join(known)}")


def _submission_by_name(session: Session, name: str) -> Submission:
    row = session.scalars(select(Submission).where(Submission.name == name)).one_or_none()
    if row is None:
        raise UnknownName(
            "submission (register it first)", name, session.scalars(select(Submission.name)).all()
        )
    return row


def _run_by_key(session: Session, submission_id: int, key: RunKey, for_update: bool = False) -> Run | None:
    query = select(Run).where(
        Run.submission_id == submission_id,
        Run.checkpoint_sha256 == key.checkpoint_sha256,
        Run.task == key.task,
        Run.variant == key.variant,
        Run.spec_hash == key.spec_hash,
        Run.data_fingerprint_hash == key.data_fingerprint_hash,
        Run.hparams_hash == key.hparams_hash,
        Run.seed == key.seed,
    )
    if for_update:  # PostgreSQL: hold the row until the claim commits (SQLite holds the whole DB already)
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def _running(session: Session, run_id: int, owner: str | None = None) -> Run:
    row = session.get(Run, run_id, with_for_update=owner is not None)
    if row is None:
        raise StoreError(f"no run with id {run_id}")
    if owner is not None and row.owner != owner:
        raise ClaimLost(f"run {run_id} is now claimed by {row.owner}, not {owner} (its lease expired)")
    if row.status != "running":
        raise StoreError(f"run {run_id} is {row.status}, not running")
    return row


def _columns(row: Any, record_type: type, **derived: Any) -> Any:
    """A record from a row: every table column the record has a field of, copied by name, plus `derived`
    (fields that are not plain columns). A column added to both needs no edit here."""
    names = {f.name for f in fields(record_type)}
    copied = {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key in names}
    return record_type(**copied, **derived)


def _unit_stats_row(run_id: int, split: str, kind: str, n_units: int, data: bytes) -> UnitStats:
    return UnitStats(
        run_id=run_id,
        split=split,
        kind=kind,
        n_units=n_units,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )


PROVENANCE_ONLY_COLUMNS = frozenset({"durations", "library_versions", "error", "selection_rule"})
"""Run columns the leaderboard never reads (`Store.snapshot(provenance=False)` skips them). `details` and
`data_fingerprint` are read: the board's protocol (limit, train cap, dev used for training) comes from the
details, and a cell's test fingerprint picks its bootstrap resamples and its baseline."""
_RUN_RECORD_COLUMNS = frozenset(f.name for f in fields(RunRecord)) - {"submission", "metrics", "predictions"}
"""Run table columns copied into a `RunRecord` by name (the rest are derived)."""


def _submission_record(row: Submission) -> SubmissionRecord:
    return _columns(row, SubmissionRecord)


def _run_record(row: Run) -> RunRecord:
    metrics: dict[str, dict[str, float]] = {}
    for metric in sorted(row.metrics, key=lambda m: (m.split, m.name)):
        metrics.setdefault(metric.split, {})[metric.name] = metric.value
    return _columns(
        row,
        RunRecord,
        submission=row.submission.name,
        metrics=metrics,
        predictions=tuple(
            PredictionRecord(split=p.split, path=p.path, sha256=p.sha256)
            for p in sorted(row.predictions, key=lambda p: p.split)
        ),
    )


def _profile_record(row: ModelProfileRow, submission: str | None) -> ProfileRecord:
    from glues_bench.profile import TaskProfile

    return ProfileRecord(
        id=row.id, submission=submission, checkpoint_sha256=row.checkpoint_sha256, device=row.device,
        device_kind=row.device_kind, threads=row.threads, memory_kind=row.memory_kind,
        peak_memory_bytes=row.peak_memory_bytes, weights_bytes=row.weights_bytes, repeats=row.repeats,
        library_versions=dict(row.library_versions), harness_version=row.harness_version,
        measured_at=row.measured_at, tasks=tuple(TaskProfile.from_json(t) for t in row.tasks),
    )  # fmt: skip
