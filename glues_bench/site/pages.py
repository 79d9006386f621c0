"""Pages as frozen dataclasses built from a snapshot: `IndexPage`, `TaskPage`, `ModelPage`, `RunsPage`
(every run of one model on one task).

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from glues_bench.board import (
    Leaderboard,
    LeaderboardRow,
    Stat,
    TaskResult,
    counted_runs,
    default_tasks,
    fmt2,
    format_cell,
    format_ci,
    leaderboard_json,
    pareto_front,
    runs_by_cell,
    task_result_json,
    task_score,
    tie_mark,
)
from glues_bench.board.efficiency import Efficiency
from glues_bench.site.plots import PlotPoint, ThroughputPoint
from glues_bench.site.tables import DataTable, Download, download_links, leaderboard_table
from glues_bench.store.records import PredictionRecord, RunRecord, Snapshot, SubmissionRecord
from glues_bench.tasks import all_tasks

R = TypeVar("R")

__all__ = [
    "INDEX_TABLES",
    "PAGE_TYPES",
    "TEMPLATE_FILTERS",
    "Cell",
    "ConfigRow",
    "EfficiencyCells",
    "IndexPage",
    "IndexRow",
    "ModelPage",
    "ModelSummary",
    "ModelTask",
    "Provenance",
    "Records",
    "ReportedValue",
    "RunConfig",
    "RunGroup",
    "RunRow",
    "RunsPage",
    "SelectedResult",
    "SiteContext",
    "TaskColumn",
    "TaskInfo",
    "TaskPage",
    "TaskRuns",
    "ValidationCurveView",
    "ValidationPoint",
    "efficiency_cells",
    "hparams_text",
    "human_duration",
    "human_time",
    "index_page",
    "iso",
    "memory_text",
    "model_href",
    "model_page",
    "model_slug",
    "page_fields",
    "page_json",
    "page_json_text",
    "page_tables",
    "plot_points",
    "portable",
    "portable_value",
    "run_group",
    "runs_anchor",
    "runs_href",
    "runs_page",
    "runs_page_path",
    "site_context",
    "task_column",
    "task_href",
    "task_page",
    "throughput_points",
    "validation_curve",
]


def page_json(page: Any) -> Any:
    """The JSON-able form of a page (or any part of one): dataclasses become dicts, tuples lists,
    `Records` tables, recursively (what `dataclasses.asdict` gives, without its deep copies)."""
    return json.loads(page_json_text(page))


def page_json_text(page: Any) -> str:
    """A page's JSON twin as text (one line, sorted keys). The C encoder walks the page and calls
    `_json_default` only for dataclasses and datetimes: no Python recursion over the dicts and lists of
    thousands of runs, and no `indent` (which switches `json` to its pure-Python encoder)."""
    return json.dumps(page, default=_json_default, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Records(Generic[R]):
    """A list of records of one dataclass type that may run to thousands (the runs of a page): templates
    iterate the records; the JSON twin writes them as one table, `{"columns": [field, …], "rows": [[value,
    …], …]}`, each field name once rather than once per record (pandas' `DataFrame(rows, columns=columns)`
    reads it back). A field named in `spread` (nested dicts, e.g. `metrics` {split: {metric: value}}) is
    written as one column per key path instead (`metrics.test.f1`; null where a record lacks it)."""

    record_type: type[R]
    items: tuple[R, ...]
    spread: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[R]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def table(self) -> dict[str, list[Any]]:
        plain = [c for c in _field_names(self.record_type) if c not in self.spread]
        paths = [
            (field, path)
            for field in self.spread
            for path in sorted({p for r in self.items for p in _leaf_paths(getattr(r, field))})
        ]
        return {
            "columns": plain + [".".join((field, *path)) for field, path in paths],
            "rows": [
                [getattr(r, c) for c in plain] + [_at(getattr(r, field), path) for field, path in paths]
                for r in self.items
            ],
        }


def _leaf_paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaf_paths(inner, (*prefix, str(key)))
    elif prefix:
        yield prefix


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Records):
        return value.table()
    if isinstance(value, datetime):
        return value.isoformat()
    names = _field_names(type(value))  # TypeError for anything but a dataclass instance, as json expects
    return {name: getattr(value, name) for name in names}


@cache
def _field_names(page_type: type) -> tuple[str, ...]:
    if not dataclasses.is_dataclass(page_type):
        raise TypeError(f"{page_type.__name__} is not JSON serializable")
    return tuple(f.name for f in dataclasses.fields(page_type))


def page_fields(page: Any) -> dict[str, Any]:
    """A page's top-level fields, as the template sees them (nested parts stay typed)."""
    return {f.name: getattr(page, f.name) for f in dataclasses.fields(page)}


def model_slug(name: str) -> str:
    """A file name for any model name: readable part + hash (names may hold anything, even markup)."""
    readable = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "model"
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def model_href(name: str) -> str:
    return f"models/{model_slug(name)}.html"


def runs_page_path(model: str) -> str:
    """The page of every run of `model` (one page per model, a section per task: not one per run, and not
    one per model × task, whose fixed part would grow the site with models × tasks)."""
    return f"runs/{model_slug(model)}.html"


def runs_anchor(task: str) -> str:
    return f"runs-{task}"


def runs_href(model: str, task: str) -> str:
    """The section of `model`'s runs page holding its runs on `task`."""
    return f"{runs_page_path(model)}#{runs_anchor(task)}"


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
# A leading `.`/`..` goes too (`../shared/data/xnli/dev.tsv` is a data dir relative to the repo); a path
# that starts inside a word (`glues_bench/demo_data/ud/…`) is already relative and stays as it is.
_MACHINE_PATH = re.compile(rf"(?<![\w.-])(?:\.{{1,2}}(?=/))?(?:/[^/\s\[\]\"']+)+?/(?=(?:{_DATA_FOLDERS})/)")


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
    """A task as a table column and a link: its name, paper column, the metrics its score averages, page."""

    name: str
    column: str
    score_metrics: tuple[str, ...]
    href: str


def task_column(task: str) -> TaskColumn:
    spec = all_tasks()[task]
    return TaskColumn(task, spec.paper_column, tuple(spec.score_metrics), task_href(task))


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


@dataclass(frozen=True)
class IndexRow:
    name: str
    href: str
    rank: int | None
    origin: str
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
    efficiency: EfficiencyCells


@dataclass(frozen=True)
class EfficiencyCells:
    """The index's efficiency columns for one model, on the board's efficiency device."""

    examples_per_s: float | None
    examples_per_s_text: str
    latency_p50_ms: float | None
    latency_text: str
    peak_memory_bytes: int | None
    memory_text: str
    title: str


def memory_text(n_bytes: int | None) -> str:
    return "—" if n_bytes is None else f"{n_bytes / 2**20:.0f} MiB"


def efficiency_cells(row: LeaderboardRow, device: str | None) -> EfficiencyCells:
    efficiency = row.efficiency.get(device) if device is not None else None
    if efficiency is None:
        others = ", ".join(row.efficiency) or "none"
        return EfficiencyCells(
            None, "—", None, "—", None, "—", f"not profiled on this device (profiled: {others})"
        )
    return EfficiencyCells(
        examples_per_s=efficiency.examples_per_s,
        examples_per_s_text=f"{efficiency.examples_per_s:.1f}",
        latency_p50_ms=efficiency.latency_p50_ms,
        latency_text=f"{efficiency.latency_p50_ms:.1f}",
        peak_memory_bytes=efficiency.peak_memory_bytes,
        memory_text=memory_text(efficiency.peak_memory_bytes),
        title=(
            f"geometric mean over {efficiency.n_tasks} task(s) "
            f"({', '.join(t.task for t in efficiency.tasks)}), "
            f"{efficiency.threads} thread(s), measured {efficiency.measured_at}"
        ),
    )


@dataclass(frozen=True)
class IndexPage:
    """The main table. `document` is exactly `glues-bench leaderboard --json` (and the page's twin)."""

    title: str
    document: dict[str, Any]
    tasks: tuple[TaskColumn, ...]
    rows: tuple[IndexRow, ...]
    limited_rows: tuple[IndexRow, ...]
    families: tuple[str, ...]
    in_house: tuple[SubmissionRecord, ...]
    """Models trained by us: their manifest notes carry the training budget, shown under the table."""
    plot: str | None
    plot_points: tuple[PlotPoint, ...]
    efficiency_device: str | None
    throughput_plot: str | None
    throughput_points: tuple[ThroughputPoint, ...]
    downloads: tuple[Download, ...] = ()


def index_page(
    board: Leaderboard, snapshot: Snapshot, plot_file: str | None, throughput_plot_file: str | None = None
) -> IndexPage:
    """The index; `plot_file` names the score-vs-params plot when there are points to draw, and
    `throughput_plot_file` the score-vs-throughput one."""
    ranked = list(board.rows)
    baseline = [board.baseline] if board.baseline is not None else []
    points = plot_points(board)
    fast = throughput_points(board)
    return IndexPage(
        title="GLUES leaderboard",
        document=leaderboard_json(board, snapshot.last_updated),
        tasks=tuple(task_column(t) for t in board.task_names),
        rows=_index_rows(ranked, ranked, board) + _index_rows(baseline, baseline, board),
        limited_rows=_index_rows(list(board.limited), list(board.limited), board),
        families=tuple(sorted({r.family for r in (*board.rows, *board.limited) if r.family})),
        in_house=tuple(_shown_submission(s) for s in snapshot.submissions if s.origin == "in-house"),
        plot=plot_file if points else None,
        plot_points=points,
        efficiency_device=board.efficiency_device,
        throughput_plot=throughput_plot_file if fast else None,
        throughput_points=fast,
        downloads=download_links("index.html", INDEX_TABLES.items()),
    )


# Each page's downloadable tables, name → title: the links (`download_links`) and the files (`page_tables`).
INDEX_TABLES = {"leaderboard": "Leaderboard", "limited": "Limited results"}
TASK_TABLES = {"selected": "Selected results", "runs": "Run counts per model"}
MODEL_TABLES = {"tasks": "Per task", "runs": "Run counts per task"}


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
                efficiency=efficiency_cells(row, board.efficiency_device),
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


# -- what every page reads, computed once per build -----------------------------------------------


@dataclass(frozen=True)
class SiteContext:
    """Derived once per build (not per page): runs grouped by (model, task), which runs count for the
    board and which are the seeds of a selected config."""

    cells: Mapping[tuple[str, str], Sequence[RunRecord]]
    counted: frozenset[int]
    selected: frozenset[int]


def site_context(board: Leaderboard, snapshot: Snapshot) -> SiteContext:
    cells = runs_by_cell(snapshot.runs)
    tasks = default_tasks()
    counted = {
        r.id
        for submission in snapshot.submissions
        for name, task in tasks.items()
        for r in counted_runs(cells.get((submission.name, name), ()), submission, task)
    }
    selected = {i for row in _all_rows(board) for result in row.tasks.values() for i in result.run_ids}
    return SiteContext(cells=cells, counted=frozenset(counted), selected=frozenset(selected))


def throughput_points(board: Leaderboard) -> tuple[ThroughputPoint, ...]:
    """Complete models profiled on the board's efficiency device, flagged when on the Pareto front
    (no other model is both at least as fast and at least as good)."""
    device = board.efficiency_device
    # The rows of the size plot (limited ones too: the device was chosen over them as well).
    rows = [r for r in (*board.rows, *board.limited) if r.average is not None and device in r.efficiency]
    speeds = [r.efficiency[device].examples_per_s for r in rows]  # type: ignore[index]
    front = pareto_front([(-speed, r.average or 0.0) for speed, r in zip(speeds, rows, strict=True)])
    return tuple(
        ThroughputPoint(
            name=r.shown_name,
            examples_per_s=speed,
            average=r.average or 0.0,
            reported=r.origin == "reported",
            on_front=on_front,
        )
        for r, speed, on_front in zip(rows, speeds, front, strict=True)
    )


# -- runs, as listed on task and model pages --------------------------------------------------------


@dataclass(frozen=True)
class RunGroup:
    """The runs of one model on one task, as a line on the task and model pages (linking their page)."""

    model: str
    model_href: str
    task: str
    task_href: str
    href: str
    n_runs: int
    n_done: int
    n_failed: int
    n_running: int
    n_counted: int


def run_group(model: str, task: str, runs: Sequence[RunRecord], context: SiteContext) -> RunGroup:
    statuses = [r.status for r in runs]
    return RunGroup(
        model=model,
        model_href=model_href(model),
        task=task,
        task_href=task_href(task),
        href=runs_href(model, task),
        n_runs=len(runs),
        n_done=statuses.count("done"),
        n_failed=statuses.count("failed"),
        n_running=statuses.count("running"),
        n_counted=sum(1 for r in runs if r.id in context.counted),
    )


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


@dataclass(frozen=True)
class TaskPage:
    title: str
    task: TaskInfo
    selected: Records[SelectedResult]
    run_groups: Records[RunGroup]
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


def task_page(task: str, board: Leaderboard, context: SiteContext) -> TaskPage:
    spec = all_tasks()[task]
    resolved = spec.resolve()
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
        )
        for row in rows
    ]
    selected.sort(key=lambda s: (s.score is None, -(s.score or 0.0), s.name))
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
        selected=Records(SelectedResult, tuple(selected)),
        run_groups=Records(
            RunGroup,
            tuple(
                run_group(model, task, runs, context)
                for (model, name), runs in sorted(context.cells.items())
                if name == task
            ),
        ),
        downloads=download_links(task_href(task), TASK_TABLES.items()),
    )


# -- one model --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigRow:
    """One config of a model × task's grid: its seeds' dev and test means (± sd), and their runs."""

    config_key: str
    chosen: bool  # the config dev selected
    hparams_text: str
    seeds: tuple[int, ...]
    dev_text: str
    test_text: str
    run_ids: tuple[int, ...]


@dataclass(frozen=True)
class ValidationPoint:
    """The curve at k configs drawn: the expected best dev score, its sd, and the expected test score."""

    k: int
    expected_dev: float
    dev_std: float
    expected_test: float | None
    text: str


@dataclass(frozen=True)
class ValidationCurveView:
    """Expected validation performance (Dodge et al. 2019) of one model × task's grid: the expected best dev
    score over k configs drawn from those tried (and the test score of that pick), as a table and an SVG."""

    points: Records[ValidationPoint]
    n_configs: int
    svg_dev: str  # polyline points in a 300 × 120 box
    svg_test: str
    low: float
    high: float


@dataclass(frozen=True)
class ModelTask:
    """One task on a model's page: the selected result, and the configs of the grid behind it."""

    task: TaskColumn
    text: str
    result: dict[str, Any] | None
    hparams_text: str
    dev_text: str
    runs_href: str | None
    """The page of this model's runs on the task; None when it has no run there."""
    configs: Records[ConfigRow]
    ci_text: str = ""
    title: str = ""
    evp: ValidationCurveView | None = None


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
    submission: SubmissionRecord
    manifest_text: str | None
    summary: ModelSummary
    tasks: tuple[ModelTask, ...]
    reported: tuple[ReportedValue, ...]
    run_groups: Records[RunGroup]
    efficiency: tuple[Efficiency, ...]
    """Speed and memory per device (`glues-bench profile`), sorted by device."""
    downloads: tuple[Download, ...] = ()


def model_page(
    submission: SubmissionRecord, board: Leaderboard, snapshot: Snapshot, context: SiteContext
) -> ModelPage:
    row = next(r for r in _all_rows(board) if r.name == submission.name)
    tasks = []
    for name in all_tasks():
        result: TaskResult | None = row.tasks.get(name)
        tasks.append(
            ModelTask(
                task=task_column(name),
                text=format_cell(result),
                result=task_result_json(result) if result else None,
                hparams_text=hparams_text(result.hparams) if result else "—",
                dev_text=fmt2(result.dev_score) if result else "—",
                ci_text=format_ci(result.ci95) if result else "",
                title=_cell_title(result),
                evp=validation_curve(result),
                runs_href=runs_href(submission.name, name)
                if (submission.name, name) in context.cells
                else None,
                configs=Records(
                    ConfigRow,
                    tuple(
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
                ),
            )
        )
    shown = _shown_submission(submission)
    return ModelPage(
        title=submission.name,
        submission=shown,
        manifest_text=_pretty_json(shown.manifest) if shown.manifest is not None else None,
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
        efficiency=tuple(row.efficiency.values()),
        run_groups=Records(
            RunGroup,
            tuple(
                run_group(submission.name, task, context.cells[(submission.name, task)], context)
                for task in sorted(
                    {t for (m, t) in context.cells if m == submission.name}, key=_task_position
                )
            ),
        ),
        downloads=download_links(model_href(submission.name), MODEL_TABLES.items()),
    )


def _shown_submission(submission: SubmissionRecord) -> SubmissionRecord:
    """The record as pages show it: data paths without this machine's folders, and an absolute checkpoint
    folder cut to its last two parts (the rest names the machine that registered it, not the model)."""
    shown = {f.name: portable_value(getattr(submission, f.name)) for f in dataclasses.fields(submission)}
    shown["checkpoint_path"] = _without_machine_folders(shown["checkpoint_path"])
    if shown["manifest"] is not None:  # the manifest records the same folders (register keeps them absolute)
        shown["manifest"] = {
            k: _without_machine_folders(v) if k in ("checkpoint", "tokenizer") else v
            for k, v in shown["manifest"].items()
        }
    return SubmissionRecord(**shown)


def _without_machine_folders(path: str | None) -> str | None:
    """An absolute folder cut to its last two parts; relative paths and hub ids as they are."""
    if path and Path(path).is_absolute():
        return "…/" + "/".join(Path(path).parts[-2:])
    return path


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
        points=Records(
            ValidationPoint,
            tuple(
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
            leaderboard_table("leaderboard", INDEX_TABLES["leaderboard"], page.document["rows"], names),
            leaderboard_table("limited", INDEX_TABLES["limited"], page.document["limited_rows"], names),
        )
    if isinstance(page, TaskPage):
        return (
            DataTable(
                "selected",
                TASK_TABLES["selected"],
                ("name", "origin", "protocol", "score", "sd", "n_seeds", "ci95", "tied_with_best",
                 "at_chance", "dev_score", "hparams"),
                tuple(
                    (s.name, s.origin, s.protocol, s.result["score"], s.result["sd"], s.result["n_seeds"],
                     s.result.get("ci95"), s.result.get("tied_with_best"), s.result.get("at_chance"),
                     s.result["dev_score"], s.hparams_text)
                    for s in page.selected
                ),
            ),
            _runs_table(page.run_groups, TASK_TABLES["runs"]),
        )  # fmt: skip
    if isinstance(page, ModelPage):
        return (
            DataTable(
                "tasks",
                MODEL_TABLES["tasks"],
                ("task", "score", "sd", "n_seeds", "ci95", "protocol", "dev_score", "hparams"),
                tuple(
                    (t.task.name, *(t.result.get(k) if t.result else None for k in
                     ("score", "sd", "n_seeds", "ci95", "protocol", "dev_score")), t.hparams_text)
                    for t in page.tasks
                ),
            ),
            _runs_table(page.run_groups, MODEL_TABLES["runs"]),
        )  # fmt: skip
    return ()


def _runs_table(groups: Sequence[RunGroup], title: str) -> DataTable:
    columns = ("model", "task", "n_runs", "n_done", "n_failed", "n_running", "n_counted")
    return DataTable("runs", title, columns, tuple(tuple(getattr(g, c) for c in columns) for g in groups))


def _stat_text(stat: Stat | None) -> str:
    if stat is None:
        return "—"
    return fmt2(stat.mean) + (f" ± {fmt2(stat.sd)}" if stat.sd is not None else "") + f" (n={stat.n})"


# -- the runs of one model on one task ---------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """What a group of runs was measured with; runs share one when all of these are equal, so a page of
    many seeds and configs states it once."""

    key: str
    # what was measured
    checkpoint_sha256: str
    spec_version: int
    spec_hash: str
    data_fingerprint: dict[str, str] | None
    # with what code
    harness_version: str | None
    harness_git_sha: str | None
    library_versions: dict[str, str] | None
    # where, and by which rule its config was chosen
    device: str | None
    host: str | None
    selection_rule: str | None


@dataclass(frozen=True)
class RunConfig:
    """A config tried on the page, stated once: its runs (the seeds) name it by `key`."""

    key: str
    hparams: dict[str, Any]


@dataclass(frozen=True)
class RunRow:
    """One run: its state and scores; its config and provenance are keys (`RunConfig.key`,
    `Provenance.key`) of the page. Only values (the template formats them): a page may hold thousands of
    runs, and its twin stays small."""

    id: int
    variant: str
    status: str
    counted: bool
    selected: bool
    config: str
    seed: int
    dev_score: float | None
    test_score: float | None
    metrics: dict[str, dict[str, float]]
    attempt: int
    finished_at: str | None
    duration_s: float | None
    durations: dict[str, float] | None
    pid: int | None
    details: dict[str, Any] | None
    error: str | None
    predictions: tuple[PredictionRecord, ...]
    """Each file's `path` relative to the page (its link)."""
    provenance: str


@dataclass(frozen=True)
class TaskRuns:
    """The runs of the page's model on one task: a section of its runs page (`anchor`), one row per run."""

    task: TaskColumn
    anchor: str
    runs: Records[RunRow]


@dataclass(frozen=True)
class RunsPage:
    """Every run of one model (any task, status, variant or spec), a section per task; the configs and
    provenances the runs share are listed once for the page."""

    title: str
    model: str
    model_href: str
    configs: tuple[RunConfig, ...]
    provenance: tuple[Provenance, ...]
    tasks: tuple[TaskRuns, ...]


_PROVENANCE_FIELDS = tuple(f.name for f in dataclasses.fields(Provenance) if f.name != "key")
# RunRow fields copied from the run record under the same name (the rest are derived in `runs_page`).
_RUN_COPIED = ("id", "variant", "status", "seed", "metrics", "attempt", "duration_s", "durations")
_RUN_COPIED += ("pid", "error")


def _key_in(table: dict[Any, Any], prefix: str, identity: Any, make: Callable[[str], Any]) -> str:
    """The key (`P1`, `C2`, …) of the value `identity` stands for in `table` (distinct values in order of
    first use), adding `make(key)` when new."""
    if identity not in table:
        table[identity] = make(f"{prefix}{len(table) + 1}")
    return table[identity].key


def _hashable(value: Any) -> Any:
    """A JSON-like value as something a dict can key on (a dict as its sorted items, a list as a tuple)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def runs_page(
    model: str, cells: Mapping[str, Sequence[RunRecord]], context: SiteContext, page_dir: Path
) -> RunsPage:
    """The runs page of `model` from its runs per task (`cells`); prediction links are relative to the page,
    so the site works from disk."""
    provenances: dict[Any, Provenance] = {}
    configs: dict[Any, RunConfig] = {}

    def row(run: RunRecord) -> RunRow:
        provenance = tuple(_hashable(getattr(run, name)) for name in _PROVENANCE_FIELDS)
        return RunRow(
            **{name: getattr(run, name) for name in _RUN_COPIED},
            counted=run.id in context.counted,
            selected=run.id in context.selected,
            config=_key_in(configs, "C", _hashable(run.hparams), lambda key: RunConfig(key, run.hparams)),
            dev_score=_split_score(run, "dev"),
            test_score=_split_score(run, "test"),
            finished_at=iso(run.finished_at),
            details=portable_value(run.details),
            # The stored path made relative to the page (a link: the site works from disk, and names no folder
            # of the machine that built it).
            predictions=tuple(
                dataclasses.replace(p, path=quote(Path(os.path.relpath(p.path, page_dir)).as_posix()))
                for p in run.predictions
            ),
            provenance=_key_in(
                provenances,
                "P",
                provenance,
                lambda key: Provenance(
                    key, **portable_value({name: getattr(run, name) for name in _PROVENANCE_FIELDS})
                ),
            ),
        )

    sections = tuple(
        TaskRuns(
            task=task_column(task),
            anchor=runs_anchor(task),
            runs=Records(RunRow, tuple(row(run) for run in cells[task]), spread=("metrics", "durations")),
        )
        for task in sorted(cells, key=_task_position)
    )
    return RunsPage(
        title=f"Runs of {model}",
        model=model,
        model_href=model_href(model),
        configs=tuple(configs.values()),
        provenance=tuple(provenances.values()),
        tasks=sections,
    )


def _task_position(task: str) -> tuple[int, str]:
    names = list(all_tasks())
    return (names.index(task) if task in names else len(names), task)


PAGE_TYPES = (IndexPage, TaskPage, ModelPage, RunsPage)
"""Every page type the site writes: one template each, and the contract test walks them all."""
