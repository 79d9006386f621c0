"""Pages as frozen dataclasses built from a snapshot: `IndexPage`, `TaskPage`, `ModelPage`, `RunPage`.

A page's HTML renders the page object and its `.json` twin is `page_json(page)` of the same object, so the
two cannot disagree (the index's twin is the leaderboard document it carries, `glues-bench leaderboard
--json` byte for byte). Links in a page are relative to the site root; templates prefix them with `root`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from glues_bench.board import (
    Leaderboard,
    Stat,
    TaskResult,
    counted_runs,
    fmt2,
    format_cell,
    leaderboard_json,
    pareto_front,
    task_result_json,
    task_score,
)
from glues_bench.site.plots import PlotPoint
from glues_bench.store.records import PredictionRecord, RunRecord, Snapshot, SubmissionRecord
from glues_bench.tasks import all_tasks

__all__ = [
    "PAGE_TYPES",
    "Cell",
    "ConfigRow",
    "InHouseNote",
    "IndexPage",
    "IndexRow",
    "ModelPage",
    "ModelSummary",
    "ModelTask",
    "PredictionLink",
    "ReportedValue",
    "RunDetail",
    "RunPage",
    "RunSummary",
    "SelectedResult",
    "SubmissionInfo",
    "TaskColumn",
    "TaskInfo",
    "TaskPage",
    "TaskRun",
    "hparams_text",
    "index_page",
    "iso",
    "model_href",
    "model_page",
    "model_slug",
    "page_fields",
    "page_json",
    "plot_points",
    "run_href",
    "run_page",
    "run_summary",
    "task_href",
    "task_page",
]


def page_json(page: Any) -> Any:
    """The JSON-able form of a page (or any part of one): dataclasses become dicts, recursively."""
    return dataclasses.asdict(page)


def page_fields(page: Any) -> dict[str, Any]:
    """A page's top-level fields, as the template sees them (nested parts stay typed)."""
    return {f.name: getattr(page, f.name) for f in dataclasses.fields(page)}


def model_slug(name: str) -> str:
    """A file name for any model name: readable part + hash (names may hold anything, even markup)."""
    readable = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "model"
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def model_href(name: str) -> str:
    return f"models/{model_slug(name)}.html"


def run_href(run_id: int) -> str:
    return f"runs/{run_id}.html"


def task_href(task: str) -> str:
    return f"tasks/{task}.html"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def hparams_text(hparams: Mapping[str, Any] | None) -> str:
    if not hparams:
        return "—"
    return ", ".join(f"{k}={v}" for k, v in sorted(hparams.items()))


def _split_score(run: RunRecord, split: str) -> float | None:
    spec = all_tasks().get(run.task)
    return task_score(spec.score_metrics, run.metrics.get(split, {})) if spec else None


def _pretty_json(value: Any) -> str | None:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) if value else None


# -- index ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskColumn:
    name: str
    column: str
    score_metrics: tuple[str, ...]
    href: str


@dataclass(frozen=True)
class Cell:
    task: str
    text: str
    sort: float | None
    best: bool
    title: str


@dataclass(frozen=True)
class IndexRow:
    name: str
    href: str
    rank: int | None
    origin: str
    measured: bool
    complete: bool
    params: int | None
    params_text: str
    size_ratio_text: str
    size_ratio: float | None
    size_ratio_best: bool
    performance_ratio_text: str
    performance_ratio: float | None
    performance_ratio_best: bool
    average_text: str
    average: float | None
    average_best: bool
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class InHouseNote:
    """A model trained by us: its manifest notes carry the training budget, shown under the table."""

    name: str
    href: str
    notes: str


@dataclass(frozen=True)
class IndexPage:
    """The main table. `document` is exactly `glues-bench leaderboard --json` (and the page's twin)."""

    title: str
    document: dict[str, Any]
    tasks: tuple[TaskColumn, ...]
    rows: tuple[IndexRow, ...]
    in_house: tuple[InHouseNote, ...]
    plot: str | None
    plot_points: tuple[PlotPoint, ...]


def index_page(board: Leaderboard, snapshot: Snapshot, plot_file: str | None) -> IndexPage:
    """The index; `plot_file` names the score-vs-params plot when there are points to draw."""
    specs = all_tasks()
    best: dict[str, float | None] = {
        "size_ratio": _best([row.size_ratio for row in board.rows]),
        "performance_ratio": _best([row.performance_ratio for row in board.rows]),
        "average": _best([row.average for row in board.rows]),
    }
    for task in board.task_names:
        best[task] = _best([row.tasks[task].score if task in row.tasks else None for row in board.rows])
    total = len(board.task_names)
    rows = []
    for row in board.rows:
        cells = []
        for task in board.task_names:
            result = row.tasks.get(task)
            score = result.score if result else None
            cells.append(
                Cell(
                    task=task,
                    text=format_cell(result),
                    sort=score,
                    best=score is not None and score == best[task],
                    title=_cell_title(result),
                )
            )
        rows.append(
            IndexRow(
                name=row.name,
                href=model_href(row.name),
                rank=row.rank,
                origin=row.origin,
                measured=row.origin != "reported",
                complete=row.complete,
                params=row.params,
                params_text=row.params_display or "—",
                size_ratio_text=fmt2(row.size_ratio),
                size_ratio=row.size_ratio,
                size_ratio_best=row.size_ratio is not None and row.size_ratio == best["size_ratio"],
                performance_ratio_text=fmt2(row.performance_ratio),
                performance_ratio=row.performance_ratio,
                performance_ratio_best=row.performance_ratio is not None
                and row.performance_ratio == best["performance_ratio"],
                average_text=fmt2(row.average) if row.complete else f"{row.n_tasks}/{total}",
                average=row.average,
                average_best=row.average is not None and row.average == best["average"],
                cells=tuple(cells),
            )
        )
    points = plot_points(board)
    return IndexPage(
        title="GLUES leaderboard",
        document=leaderboard_json(board, snapshot.last_updated),
        tasks=tuple(
            TaskColumn(t, specs[t].paper_column, tuple(specs[t].score_metrics), task_href(t))
            for t in board.task_names
        ),
        rows=tuple(rows),
        in_house=tuple(
            InHouseNote(sub.name, model_href(sub.name), sub.notes or "no notes in the manifest")
            for sub in snapshot.submissions
            if sub.origin == "in-house"
        ),
        plot=plot_file if points else None,
        plot_points=points,
    )


def _best(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _cell_title(result: TaskResult | None) -> str:
    if result is None:
        return "no result"
    if result.source == "reported":
        return "reported: " + ", ".join(f"{m}={fmt2(v)}" for m, v in result.metrics.items())
    if result.score is None:
        return f"selected config {result.config_key} has no test score yet (dev {fmt2(result.dev_score)})"
    return (
        f"mean over {result.n_seeds} seed(s) of the config with the best dev score "
        f"({fmt2(result.dev_score)}): {hparams_text(result.hparams)}"
    )


def plot_points(board: Leaderboard) -> tuple[PlotPoint, ...]:
    """Complete models with a parameter count, flagged when on the Pareto front (smaller and better)."""
    rows = [r for r in board.rows if r.average is not None and r.params]
    front = pareto_front([(float(r.params or 0), r.average or 0.0) for r in rows])
    return tuple(
        PlotPoint(
            name=r.name,
            params=r.params or 0,
            average=r.average or 0.0,
            reported=r.origin == "reported",
            on_front=on_front,
        )
        for r, on_front in zip(rows, front, strict=True)
    )


# -- runs, as listed on task and model pages --------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    id: int
    href: str
    model: str
    model_href: str
    task: str
    variant: str
    role: str
    status: str
    seed: int
    hparams: dict[str, Any]
    hparams_text: str
    dev_score: float | None
    test_score: float | None
    dev_text: str
    test_text: str
    finished_at: str | None


def _summary_fields(run: RunRecord) -> dict[str, Any]:
    dev, test = _split_score(run, "dev"), _split_score(run, "test")
    return {
        "id": run.id,
        "href": run_href(run.id),
        "model": run.submission,
        "model_href": model_href(run.submission),
        "task": run.task,
        "variant": run.variant,
        "role": run.role,
        "status": run.status,
        "seed": run.seed,
        "hparams": run.hparams,
        "hparams_text": hparams_text(run.hparams),
        "dev_score": dev,
        "test_score": test,
        "dev_text": fmt2(dev),
        "test_text": fmt2(test),
        "finished_at": iso(run.finished_at),
    }


def run_summary(run: RunRecord) -> RunSummary:
    return RunSummary(**_summary_fields(run))


# -- one task ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskInfo:
    name: str
    version: int
    title: str
    description: str
    paper_column: str
    task_type: str
    metrics: tuple[str, ...]
    score_metrics: tuple[str, ...]
    default_variant: str
    variants: tuple[str, ...]
    spec_hash: str
    citation: Any
    licence: Any


@dataclass(frozen=True)
class SelectedResult:
    name: str
    href: str
    origin: str
    text: str
    result: dict[str, Any]
    hparams_text: str
    dev_text: str
    score: float | None


@dataclass(frozen=True)
class TaskRun(RunSummary):
    """A run on the task page: whether it counts for the board, and whether its config was selected."""

    counted: bool = False
    selected: bool = False


@dataclass(frozen=True)
class TaskPage:
    title: str
    task: TaskInfo
    selected: tuple[SelectedResult, ...]
    runs: tuple[TaskRun, ...]


# TaskInfo fields copied from the spec under the same name (the rest are derived in `task_page`).
_TASK_INFO_COPIED = (
    "name",
    "version",
    "title",
    "description",
    "paper_column",
    "task_type",
    "citation",
    "licence",
)


def task_page(task: str, board: Leaderboard, snapshot: Snapshot) -> TaskPage:
    spec = all_tasks()[task]
    resolved = spec.resolve()
    counted_ids = {
        r.id for submission in snapshot.submissions for r in counted_runs(snapshot.runs, submission, resolved)
    }
    selected_ids = {i for row in board.rows if task in row.tasks for i in row.tasks[task].run_ids}
    selected = [
        SelectedResult(
            name=row.name,
            href=model_href(row.name),
            origin=row.origin,
            text=format_cell(row.tasks[task]),
            result=task_result_json(row.tasks[task]),
            hparams_text=hparams_text(row.tasks[task].hparams),
            dev_text=fmt2(row.tasks[task].dev_score),
            score=row.tasks[task].score,
        )
        for row in board.rows
        if task in row.tasks
    ]
    selected.sort(key=lambda s: (s.score is None, -(s.score or 0.0), s.name))
    runs = sorted((r for r in snapshot.runs if r.task == task), key=lambda r: (r.submission, r.id))
    return TaskPage(
        title=f"{spec.paper_column} — {spec.title}",
        task=TaskInfo(
            **{name: getattr(spec, name) for name in _TASK_INFO_COPIED},
            metrics=tuple(spec.metrics),
            score_metrics=tuple(spec.score_metrics),
            default_variant=resolved.variant,
            variants=tuple(v.name for v in spec.variants),
            spec_hash=resolved.spec_hash,
        ),
        selected=tuple(selected),
        runs=tuple(
            TaskRun(**_summary_fields(r), counted=r.id in counted_ids, selected=r.id in selected_ids)
            for r in runs
        ),
    )


# -- one model --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigRow:
    config_key: str
    hparams_text: str
    seeds: tuple[int, ...]
    dev_text: str
    test_text: str
    chosen: bool
    run_ids: tuple[int, ...]


@dataclass(frozen=True)
class ModelTask:
    name: str
    column: str
    href: str
    text: str
    result: dict[str, Any] | None
    hparams_text: str
    dev_text: str
    configs: tuple[ConfigRow, ...]


@dataclass(frozen=True)
class SubmissionInfo:
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
    licence: str | None
    notes: str | None
    manifest: dict[str, Any] | None
    created_at: str | None
    updated_at: str | None


@dataclass(frozen=True)
class ModelSummary:
    rank: int | None
    average_text: str
    size_ratio_text: str
    performance_ratio_text: str
    params_text: str


@dataclass(frozen=True)
class ReportedValue:
    task: str
    metric: str
    value: float
    variant: str | None
    source: str
    source_ref: str | None


@dataclass(frozen=True)
class ModelPage:
    title: str
    submission: SubmissionInfo
    manifest_text: str | None
    summary: ModelSummary
    tasks: tuple[ModelTask, ...]
    reported: tuple[ReportedValue, ...]
    runs: tuple[RunSummary, ...]


def model_page(submission: SubmissionRecord, board: Leaderboard, snapshot: Snapshot) -> ModelPage:
    row = next(r for r in board.rows if r.name == submission.name)
    tasks = []
    for name, spec in all_tasks().items():
        result: TaskResult | None = row.tasks.get(name)
        tasks.append(
            ModelTask(
                name=name,
                column=spec.paper_column,
                href=task_href(name),
                text=format_cell(result),
                result=task_result_json(result) if result else None,
                hparams_text=hparams_text(result.hparams) if result else "—",
                dev_text=fmt2(result.dev_score) if result else "—",
                configs=tuple(
                    ConfigRow(
                        config_key=c.config_key,
                        hparams_text=hparams_text(c.hparams),
                        seeds=tuple(c.seeds),
                        dev_text=_stat_text(c.dev),
                        test_text=_stat_text(c.test),
                        chosen=c.config_key == result.config_key,
                        run_ids=tuple(c.run_ids),
                    )
                    for c in (result.configs if result else ())
                ),
            )
        )
    info = {f.name: getattr(submission, f.name) for f in dataclasses.fields(SubmissionInfo)}
    info.update(created_at=iso(submission.created_at), updated_at=iso(submission.updated_at))
    return ModelPage(
        title=submission.name,
        submission=SubmissionInfo(**info),
        manifest_text=_pretty_json(submission.manifest) if submission.manifest is not None else None,
        summary=ModelSummary(
            rank=row.rank,
            average_text=fmt2(row.average) if row.complete else f"{row.n_tasks}/{len(board.task_names)}",
            size_ratio_text=fmt2(row.size_ratio),
            performance_ratio_text=fmt2(row.performance_ratio),
            params_text=row.params_display or "—",
        ),
        tasks=tuple(tasks),
        reported=tuple(
            ReportedValue(r.task, r.metric, r.value, r.variant, r.source, r.source_ref)
            for r in snapshot.reported
            if r.submission == submission.name
        ),
        runs=tuple(run_summary(r) for r in snapshot.runs if r.submission == submission.name),
    )


def _stat_text(stat: Stat | None) -> str:
    if stat is None:
        return "—"
    return fmt2(stat.mean) + (f" ± {fmt2(stat.sd)}" if stat.sd is not None else "") + f" (n={stat.n})"


# -- one run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunDetail(RunSummary):
    """Full provenance of one run."""

    checkpoint_sha256: str = ""
    task_href: str = ""
    spec_version: int = 0
    spec_hash: str = ""
    data_fingerprint: dict[str, str] | None = None
    hparams_hash: str = ""
    error: str | None = None
    attempt: int = 0
    started_at: str | None = None
    duration_s: float | None = None
    durations: dict[str, float] | None = None
    library_versions: dict[str, str] | None = None
    harness_version: str | None = None
    harness_git_sha: str | None = None
    device: str | None = None
    host: str | None = None
    pid: int | None = None
    selection_rule: str | None = None
    details: dict[str, Any] | None = None
    metrics: dict[str, dict[str, float]] | None = None


@dataclass(frozen=True)
class PredictionLink(PredictionRecord):
    """A prediction file with its link from the run page."""

    href: str = ""


@dataclass(frozen=True)
class RunPage:
    title: str
    run: RunDetail
    details_text: str | None
    predictions: tuple[PredictionLink, ...]


# RunDetail fields copied from the record under the same name (the rest are derived above).
_RUN_DETAIL_COPIED = (
    "checkpoint_sha256", "spec_version", "spec_hash", "data_fingerprint", "hparams_hash", "error", "attempt",
    "duration_s", "durations", "library_versions", "harness_version", "harness_git_sha", "device", "host",
    "pid", "selection_rule", "details", "metrics",
)  # fmt: skip


def run_page(run: RunRecord, page_dir: Path) -> RunPage:
    """Prediction links are relative to the page, so the site works from disk."""
    return RunPage(
        title=f"Run {run.id}: {run.submission} on {run.task}",
        run=RunDetail(
            **_summary_fields(run),
            **{name: getattr(run, name) for name in _RUN_DETAIL_COPIED},
            task_href=task_href(run.task),
            started_at=iso(run.started_at),
        ),
        details_text=_pretty_json(run.details),
        predictions=tuple(
            PredictionLink(
                split=p.split,
                path=p.path,
                sha256=p.sha256,
                href=quote(Path(os.path.relpath(p.path, page_dir)).as_posix()),
            )
            for p in run.predictions
        ),
    )


PAGE_TYPES = (IndexPage, TaskPage, ModelPage, RunPage)
"""Every page type the site writes: one template each, and the contract test walks them all."""
