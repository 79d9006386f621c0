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
    LeaderboardRow,
    Stat,
    TaskResult,
    counted_runs,
    fmt2,
    format_cell,
    format_ci,
    leaderboard_json,
    pareto_front,
    task_result_json,
    task_score,
    tie_mark,
)
from glues_bench.site.plots import PlotPoint
from glues_bench.site.tables import DataTable, Download, download_links, leaderboard_table
from glues_bench.store.records import PredictionRecord, RunRecord, Snapshot, SubmissionRecord
from glues_bench.tasks import all_tasks

__all__ = [
    "INDEX_TABLES",
    "PAGE_TYPES",
    "TEMPLATE_FILTERS",
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
    "ValidationCurveView",
    "ValidationPoint",
    "hparams_text",
    "human_duration",
    "human_time",
    "index_page",
    "iso",
    "model_href",
    "model_page",
    "model_slug",
    "page_fields",
    "page_json",
    "page_tables",
    "plot_points",
    "portable",
    "portable_value",
    "run_href",
    "run_page",
    "run_summary",
    "task_href",
    "task_page",
    "validation_curve",
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


def human_time(value: str | datetime | None) -> str:
    """`2026-12-01 21:58 UTC` (from an ISO string or a datetime); `—` for none."""
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def human_duration(seconds: float | None) -> str:
    """`42 s`, `3 min 12 s`, `2 h 05 min`; `—` for none."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


_DATA_FOLDERS = "conll2002|ud|pawsx|xnli|mldoc|mlqa|sqac|tar|xquad"
_MACHINE_PATH = re.compile(rf"(?:/[^/\s\[\]\"']+)+?/(?=(?:{_DATA_FOLDERS})/)")


def portable(text: str) -> str:
    """A stored data source with this machine's folders cut: `/home/x/data/xnli/dev.tsv` → `<data-dir>/xnli/
    dev.tsv` (the task folders of the GLUES data layout start where the data directory ends)."""
    return _MACHINE_PATH.sub("<data-dir>/", text)


def portable_value(value: Any) -> Any:
    """`portable` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return portable(value)
    if isinstance(value, dict):
        return {k: portable_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(portable_value(v) for v in value)
    return value


TEMPLATE_FILTERS = {"when": human_time, "duration": human_duration, "portable": portable}
"""Jinja filters the templates use for people: timestamps, durations, paths without machine folders."""


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
    best: bool  # bold: the column's best, or tied with it (then `mark` is "≈")
    title: str
    ci_text: str = ""
    mark: str = ""
    at_chance: bool = False
    limited: bool = False


@dataclass(frozen=True)
class IndexRow:
    name: str
    href: str
    rank: int | None
    origin: str
    measured: bool
    complete: bool
    shown_name: str
    family: str
    protocol: str
    limited_reasons: str
    rank_text: str
    average_ci_text: str
    average_mark: str
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
    limited_rows: tuple[IndexRow, ...]
    families: tuple[str, ...]
    in_house: tuple[InHouseNote, ...]
    plot: str | None
    plot_points: tuple[PlotPoint, ...]
    downloads: tuple[Download, ...] = ()


def index_page(board: Leaderboard, snapshot: Snapshot, plot_file: str | None) -> IndexPage:
    """The index; `plot_file` names the score-vs-params plot when there are points to draw."""
    specs = all_tasks()
    ranked = list(board.rows)
    baseline = [board.baseline] if board.baseline is not None else []
    points = plot_points(board)
    return IndexPage(
        title="GLUES leaderboard",
        document=leaderboard_json(board, snapshot.last_updated),
        tasks=tuple(
            TaskColumn(t, specs[t].paper_column, tuple(specs[t].score_metrics), task_href(t))
            for t in board.task_names
        ),
        rows=_index_rows(ranked, ranked, board) + _index_rows(baseline, baseline, board),
        limited_rows=_index_rows(list(board.limited), list(board.limited), board),
        families=tuple(sorted({r.family for r in (*board.rows, *board.limited) if r.family})),
        in_house=tuple(
            InHouseNote(sub.name, model_href(sub.name), portable(sub.notes or "no notes in the manifest"))
            for sub in snapshot.submissions
            if sub.origin == "in-house"
        ),
        plot=plot_file if points else None,
        plot_points=points,
        downloads=download_links("index.html", INDEX_TABLES),
    )


INDEX_TABLES = (("leaderboard", "Leaderboard"), ("limited", "Limited results"))
TASK_TABLES = (("selected", "Selected results"), ("runs", "Every run"))
MODEL_TABLES = (("tasks", "Per task"), ("runs", "Runs"))


def _all_rows(board: Leaderboard) -> tuple[LeaderboardRow, ...]:
    """Every row of the board: ranked, limited, and the baseline."""
    return (*board.rows, *board.limited, *((board.baseline,) if board.baseline is not None else ()))


def _index_rows(
    rows: Sequence[LeaderboardRow], table: Sequence[LeaderboardRow], board: Leaderboard
) -> tuple[IndexRow, ...]:
    """One table's rows; bold marks the best of `table` per column (and cells tied with it)."""
    best: dict[str, float | None] = {
        "size_ratio": _best([row.size_ratio for row in table]),
        "performance_ratio": _best([row.performance_ratio for row in table]),
        "average": _best([row.average for row in table]),
    }
    for task in board.task_names:
        best[task] = _best([row.tasks[task].score if task in row.tasks else None for row in table])
    # The tie test compares measured cells with the best *measured* one, which a reported row may beat.
    measured_best = {
        task: _best(
            [r.tasks[task].score for r in table if task in r.tasks and r.tasks[task].source == "measured"]
        )
        for task in board.task_names
    }
    measured_best["average"] = _best([r.average for r in table if r.origin not in ("reported", "baseline")])
    total = len(board.task_names)
    out = []
    for row in rows:
        cells = []
        for task in board.task_names:
            result = row.tasks.get(task)
            score = result.score if result else None
            is_best = score is not None and score == best[task] and row.origin != "baseline"
            mark = tie_mark(result.tied_with_best, score == measured_best[task]) if result else ""
            cells.append(
                Cell(
                    task=task,
                    text=format_cell(result),
                    sort=score,
                    best=is_best or bool(mark and measured_best[task] == best[task]),
                    title=_cell_title(result),
                    ci_text=format_ci(result.ci95) if result else "",
                    mark=mark,
                    at_chance=bool(result and result.at_chance),
                    limited=bool(result and result.protocol == "limited"),
                )
            )
        average_best = row.average is not None and row.average == best["average"] and row.origin != "baseline"
        average_mark = tie_mark(row.average_tied_with_best, row.average == measured_best["average"])
        out.append(
            IndexRow(
                name=row.name,
                href=model_href(row.name),
                rank=row.rank,
                origin=row.origin,
                measured=row.origin not in ("reported", "baseline"),
                complete=row.complete,
                shown_name=row.shown_name,
                family=row.family or "",
                protocol=row.protocol,
                limited_reasons="; ".join(row.limited_reasons),
                rank_text=_rank_text(row),
                average_ci_text=format_ci(row.average_ci95),
                average_mark=average_mark,
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
                average_best=average_best
                or bool(average_mark and measured_best["average"] == best["average"]),
                cells=tuple(cells),
            )
        )
    return tuple(out)


def _rank_text(row: LeaderboardRow) -> str:
    """`3`, or `2–5` when the average's ties allow other ranks."""
    if row.rank is None:
        return ""
    if row.rank_range is not None and row.rank_range[0] != row.rank_range[1]:
        return f"{row.rank_range[0]}–{row.rank_range[1]}"
    return str(row.rank)


def _best(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _cell_title(result: TaskResult | None) -> str:
    if result is None:
        return "no result"
    if result.source == "reported":
        return "reported: " + ", ".join(f"{m}={fmt2(v)}" for m, v in result.metrics.items())
    if result.source == "baseline":
        return f"baseline {format_ci(result.ci95)} (95% bootstrap): {result.note}"
    if result.score is None:
        return f"selected config {result.config_key} has no test score yet (dev {fmt2(result.dev_score)})"
    parts = [
        f"mean over {result.n_seeds} seed(s) of the config with the best dev score "
        f"({fmt2(result.dev_score)}): {hparams_text(result.hparams)}",
        f"95% CI {format_ci(result.ci95)}" if result.ci95 is not None else (result.ci_note or "no CI"),
    ]
    if result.tied_with_best:
        parts.append("not significantly worse than the column's best (paired bootstrap)")
    if result.at_chance:
        parts.append("at chance: the CI overlaps the task's baseline")
    if result.limited_reasons:
        parts.append("limited: " + "; ".join(result.limited_reasons))
    return "; ".join(parts)


def plot_points(board: Leaderboard) -> tuple[PlotPoint, ...]:
    """Models with a parameter count: complete ones at their average, flagged when on the Pareto front
    (smaller and better); measured ones lacking tasks at the mean of the tasks they have, marked partial
    (and never on the front: a mean over other tasks is not comparable)."""
    rows = [r for r in (*board.rows, *board.limited) if r.params and r.origin != "baseline"]
    complete = [r for r in rows if r.average is not None]
    front = dict(
        zip(
            (r.name for r in complete),
            pareto_front([(float(r.params or 0), r.average or 0.0) for r in complete]),
            strict=True,
        )
    )
    points = []
    for r in rows:
        scores = [t.score for t in r.tasks.values() if t.score is not None]
        if r.average is None and (r.origin == "reported" or not scores):
            continue
        points.append(
            PlotPoint(
                name=r.shown_name
                + ("" if r.average is not None else f" ({len(scores)}/{len(board.task_names)})"),
                params=r.params or 0,
                average=r.average if r.average is not None else sum(scores) / len(scores),
                reported=r.origin == "reported",
                on_front=front.get(r.name, False),
                partial=r.average is None,
            )
        )
    return tuple(points)


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
    shown_name: str = ""
    protocol: str = "full"
    limited_reasons: str = ""
    ci_text: str = ""
    mark: str = ""
    at_chance: bool = False
    title: str = ""


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
    downloads: tuple[Download, ...] = ()


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
    selected_ids = {i for row in _all_rows(board) if task in row.tasks for i in row.tasks[task].run_ids}
    rows = [row for row in _all_rows(board) if task in row.tasks]
    limited = {row.name for row in board.limited}

    def section_best(row: LeaderboardRow) -> float | None:
        """The best measured score of the row's table (ranked or limited): what its tie test compares to."""
        return _best(
            [
                r.tasks[task].score
                for r in rows
                if r.tasks[task].source == "measured" and (r.name in limited) == (row.name in limited)
            ]
        )

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
            shown_name=row.shown_name,
            protocol=row.tasks[task].protocol,
            limited_reasons="; ".join(row.tasks[task].limited_reasons),
            ci_text=format_ci(row.tasks[task].ci95),
            mark=tie_mark(row.tasks[task].tied_with_best, row.tasks[task].score == section_best(row)),
            at_chance=bool(row.tasks[task].at_chance),
            title=_cell_title(row.tasks[task]),
        )
        for row in rows
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
        downloads=download_links(task_href(task), TASK_TABLES),
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
    ci_text: str = ""
    title: str = ""
    evp: ValidationCurveView | None = None


@dataclass(frozen=True)
class ValidationPoint:
    k: int
    expected_dev: float
    dev_std: float
    expected_test: float | None
    text: str


@dataclass(frozen=True)
class ValidationCurveView:
    """Expected validation performance (Dodge et al. 2019) of one model × task's grid: the expected best dev
    score over k configs drawn from those tried (and the test score of that pick), as a table and an SVG."""

    points: tuple[ValidationPoint, ...]
    n_configs: int
    svg_dev: str  # polyline points in a 300 × 120 box
    svg_test: str
    low: float
    high: float


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
    rank_text: str = ""
    protocol: str = "full"
    limited_reasons: str = ""
    average_ci_text: str = ""
    shown_name: str = ""


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
    downloads: tuple[Download, ...] = ()


def model_page(submission: SubmissionRecord, board: Leaderboard, snapshot: Snapshot) -> ModelPage:
    row = next(r for r in _all_rows(board) if r.name == submission.name)
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
                ci_text=format_ci(result.ci95) if result else "",
                title=_cell_title(result),
                evp=validation_curve(result),
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
    info = portable_value(info)
    if info["checkpoint_path"] and Path(info["checkpoint_path"]).is_absolute():
        # A folder on the machine that registered it: its last two parts say what it is, the rest is noise.
        info["checkpoint_path"] = "…/" + "/".join(Path(info["checkpoint_path"]).parts[-2:])
    return ModelPage(
        title=submission.name,
        submission=SubmissionInfo(**info),
        manifest_text=portable(_pretty_json(submission.manifest) or "")
        if submission.manifest is not None
        else None,
        summary=ModelSummary(
            rank=row.rank,
            average_text=fmt2(row.average) if row.complete else f"{row.n_tasks}/{len(board.task_names)}",
            size_ratio_text=fmt2(row.size_ratio),
            performance_ratio_text=fmt2(row.performance_ratio),
            params_text=row.params_display or "—",
            rank_text=_rank_text(row),
            protocol=row.protocol,
            limited_reasons="; ".join(row.limited_reasons),
            average_ci_text=format_ci(row.average_ci95),
            shown_name=row.shown_name,
        ),
        tasks=tuple(tasks),
        reported=tuple(
            ReportedValue(r.task, r.metric, r.value, r.variant, r.source, r.source_ref)
            for r in snapshot.reported
            if r.submission == submission.name
        ),
        runs=tuple(run_summary(r) for r in snapshot.runs if r.submission == submission.name),
        downloads=download_links(model_href(submission.name), MODEL_TABLES),
    )


def validation_curve(result: TaskResult | None) -> ValidationCurveView | None:
    """The EVP curve of a measured result's grid (one dev and one test score per config: its seed means);
    None with fewer than two configs scored on both."""
    from glues_bench.board.stats import expected_validation_performance

    configs = [c for c in (result.configs if result else ()) if c.dev is not None and c.test is not None]
    if len(configs) < 2:
        return None
    curve = expected_validation_performance(
        [c.dev.mean for c in configs],  # type: ignore[union-attr]
        [c.test.mean for c in configs],  # type: ignore[union-attr]
    )
    assert curve.expected_test is not None
    values = [*curve.expected_dev, *curve.expected_test]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    n = len(configs)

    def polyline(ys) -> str:
        return " ".join(
            f"{300 * (k - 1) / (n - 1):.1f},{120 - 120 * (y - low) / span:.1f}"
            for k, y in zip(curve.k, ys, strict=True)
        )

    return ValidationCurveView(
        points=tuple(
            ValidationPoint(
                k=int(k),
                expected_dev=float(d),
                dev_std=float(sd),
                expected_test=float(t),
                text=f"{fmt2(float(d))} ± {fmt2(float(sd))} / {fmt2(float(t))}",
            )
            for k, d, sd, t in zip(
                curve.k, curve.expected_dev, curve.dev_std, curve.expected_test, strict=True
            )
        ),
        n_configs=n,
        svg_dev=polyline(curve.expected_dev),
        svg_test=polyline(curve.expected_test),
        low=float(low),
        high=float(high),
    )


def page_tables(page: Any) -> tuple[DataTable, ...]:
    """The downloadable tables of a page (none for run pages), from the same page object as its HTML."""
    if isinstance(page, IndexPage):
        names = [t["name"] for t in page.document["tasks"]]
        return (
            leaderboard_table("leaderboard", "Leaderboard", page.document["rows"], names),
            leaderboard_table("limited", "Limited results", page.document["limited_rows"], names),
        )
    if isinstance(page, TaskPage):
        return (
            DataTable(
                "selected",
                "Selected results",
                ("name", "origin", "protocol", "score", "sd", "n_seeds", "ci95", "tied_with_best",
                 "at_chance", "dev_score", "hparams"),
                tuple(
                    (s.name, s.origin, s.protocol, s.result["score"], s.result["sd"], s.result["n_seeds"],
                     s.result.get("ci95"), s.result.get("tied_with_best"), s.result.get("at_chance"),
                     s.result["dev_score"], s.hparams_text)
                    for s in page.selected
                ),
            ),
            _runs_table(page.runs),
        )  # fmt: skip
    if isinstance(page, ModelPage):
        return (
            DataTable(
                "tasks",
                "Per task",
                ("task", "score", "sd", "n_seeds", "ci95", "protocol", "dev_score", "hparams"),
                tuple(
                    (t.name, *(t.result.get(k) if t.result else None for k in
                     ("score", "sd", "n_seeds", "ci95", "protocol", "dev_score")), t.hparams_text)
                    for t in page.tasks
                ),
            ),
            _runs_table(page.runs),
        )  # fmt: skip
    return ()


def _runs_table(runs: Sequence[RunSummary]) -> DataTable:
    columns = (
        "id",
        "model",
        "task",
        "variant",
        "role",
        "status",
        "seed",
        "hparams",
        "dev_score",
        "test_score",
    )
    return DataTable(
        "runs",
        "Runs",
        (*columns, "finished_at"),
        tuple(
            (r.id, r.model, r.task, r.variant, r.role, r.status, r.seed, r.hparams_text, r.dev_score,
             r.test_score, r.finished_at)
            for r in runs
        ),
    )  # fmt: skip


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
            **portable_value({name: getattr(run, name) for name in _RUN_DETAIL_COPIED}),
            task_href=task_href(run.task),
            started_at=iso(run.started_at),
        ),
        details_text=portable(_pretty_json(run.details) or "") or None,
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
