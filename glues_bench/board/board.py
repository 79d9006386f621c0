"""The whole board: which runs count, model entries, ranking, size and performance ratios, Pareto front.

- A model's average is the equal-weight mean of its 8 task scores, only when all 8 are present
  (otherwise the row shows `n/8` and has no average, rank or performance ratio).
- Size ratio = reference params / model params; performance ratio = model average / reference
  average. The reference is a model name (default `BETO cased`, the paper's Table 6 reference).

Numbers are kept unrounded; `board.text.fmt2` rounds for display. The paper truncates Table 6 to two
decimals (ALBETO base 79.35 / 81.02 = 0.979… prints as 0.97), so displayed values may differ by 0.01.
Built from a store snapshot (plain records): nothing here touches the database.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from glues_bench.board.efficiency import Efficiency, model_efficiency, reference_device
from glues_bench.board.protocol import ONE_SEED, merge_reasons, run_limitations
from glues_bench.board.selection import (
    Protocol,
    TaskResult,
    reported_task_result,
    run_scores,
    select_task_result,
)
from glues_bench.board.text import format_params
from glues_bench.tasks import TASK_ORDER, all_tasks

if TYPE_CHECKING:
    from glues_bench.store.records import ReportedRecord, RunRecord, Snapshot, SubmissionRecord
    from glues_bench.tasks import ResolvedTask

__all__ = [
    "REFERENCE_MODEL",
    "Leaderboard",
    "LeaderboardRow",
    "ModelEntry",
    "build_leaderboard",
    "counted_runs",
    "counts",
    "default_tasks",
    "model_average",
    "model_entry",
    "pareto_front",
    "performance_ratio",
    "runs_by_cell",
    "selected_result",
    "size_ratio",
]

REFERENCE_MODEL = "BETO cased"


@dataclass(frozen=True)
class ModelEntry:
    """A model and its task results, before ranking."""

    name: str
    family: str | None
    origin: str
    params: int | None
    params_display: str | None
    tasks: Mapping[str, TaskResult]
    display_name: str | None = None
    protocol: Protocol = "full"
    limited_reasons: tuple[str, ...] = ()
    efficiency: Mapping[str, Efficiency] = field(default_factory=dict)
    """device → measured speed and memory there (`glues-bench profile`); empty when never profiled."""

    @property
    def shown_name(self) -> str:
        """What pages show: the manifest's display name when it gives one."""
        return self.display_name or self.name


@dataclass(frozen=True)
class LeaderboardRow(ModelEntry):
    """A ranked model: its entry (tasks limited to the board's) plus what the ranking derives from it."""

    rank: int | None = None
    average: float | None = None
    n_tasks: int = 0
    complete: bool = False
    size_ratio: float | None = None
    performance_ratio: float | None = None
    # Filled by `board.uncertainty` for measured rows whose every cell has a CI.
    average_ci95: tuple[float, float] | None = None
    average_tied_with_best: bool | None = None
    rank_range: tuple[int, int] | None = None  # ranks the row may hold given the ties of its average


@dataclass(frozen=True)
class Leaderboard:
    """`rows`: the ranked table (full results only, unless `include_limited`); `limited`: the unranked
    section of rows with a limited result (empty with `include_limited`); `baseline`: the data baselines
    as one unranked row (None while none is stored)."""

    rows: tuple[LeaderboardRow, ...]
    task_names: tuple[str, ...]
    reference: str
    reference_params: int | None
    reference_average: float | None
    efficiency_device: str | None = None
    """The device the index's efficiency columns and the throughput plot use (see `board.efficiency`)."""
    limited: tuple[LeaderboardRow, ...] = ()
    baseline: LeaderboardRow | None = None
    include_limited: bool = False


def model_average(tasks: Mapping[str, TaskResult], task_names: Sequence[str] = TASK_ORDER) -> float | None:
    """Equal-weight mean of the task scores; None unless every task has one."""
    scores = [tasks[t].score if t in tasks else None for t in task_names]
    if not scores or any(s is None for s in scores):
        return None
    return statistics.fmean(s for s in scores if s is not None)


def size_ratio(reference_params: int | None, params: int | None) -> float | None:
    if not reference_params or not params:
        return None
    return reference_params / params


def performance_ratio(average: float | None, reference_average: float | None) -> float | None:
    if average is None or not reference_average:
        return None
    return average / reference_average


def build_leaderboard(
    models: Sequence[ModelEntry], reference: str = REFERENCE_MODEL, task_names: Sequence[str] = TASK_ORDER
) -> Leaderboard:
    """Rows ranked by average (ties share a rank); incomplete rows follow, unranked, most tasks first."""
    averages = {m.name: model_average(m.tasks, task_names) for m in models}
    ref = next((m for m in models if m.name == reference), None)
    ref_params = ref.params if ref else None
    ref_average = averages.get(reference)
    ordered = sorted(
        models,
        key=lambda m: (
            averages[m.name] is None,
            -(averages[m.name] or 0.0),
            -_n_scored(m.tasks, task_names),
            m.name,
        ),
    )
    rows: list[LeaderboardRow] = []
    for position, model in enumerate(ordered, start=1):
        average = averages[model.name]
        rank = None
        if average is not None:
            rank = rows[-1].rank if rows and rows[-1].average == average else position
        entry = {f.name: getattr(model, f.name) for f in fields(ModelEntry)}
        entry["tasks"] = {t: model.tasks[t] for t in task_names if t in model.tasks}
        ratios = (size_ratio(ref_params, model.params), performance_ratio(average, ref_average))
        n_tasks = _n_scored(model.tasks, task_names)
        rows.append(
            LeaderboardRow(
                **entry,
                rank=rank,
                average=average,
                n_tasks=n_tasks,
                complete=average is not None,
                size_ratio=ratios[0],
                performance_ratio=ratios[1],
            )
        )
    device = reference_device(m.efficiency for m in models)
    return Leaderboard(tuple(rows), tuple(task_names), reference, ref_params, ref_average, device)


def _n_scored(tasks: Mapping[str, TaskResult], task_names: Sequence[str]) -> int:
    return sum(1 for t in task_names if t in tasks and tasks[t].score is not None)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For (params, score) points: True where no other point is at most as large and at least as good
    (and strictly better in one of the two)."""
    flags = []
    for i, (size, score) in enumerate(points):
        dominated = any(
            j != i and s2 <= size and v2 >= score and (s2 < size or v2 > score)
            for j, (s2, v2) in enumerate(points)
        )
        flags.append(not dominated)
    return flags


# -- from the store's records ----------------------------------------------------------------------


def counts(run: RunRecord, submission: SubmissionRecord, variant: str, spec_hash: str) -> bool:
    """The one rule for which runs count: done, this variant, this spec (same spec hash), and the
    submission's current checkpoint when it has a recorded sha256."""
    return (
        run.submission == submission.name
        and run.status == "done"
        and run.variant == variant
        and run.spec_hash == spec_hash
        and (submission.checkpoint_sha256 is None or run.checkpoint_sha256 == submission.checkpoint_sha256)
    )


def counted_runs(
    runs: Iterable[RunRecord], submission: SubmissionRecord, task: ResolvedTask
) -> list[RunRecord]:
    """The runs that count for a model's cell on `task` (resolved once by the caller: variant, spec hash)."""
    return [r for r in runs if r.task == task.name and counts(r, submission, task.variant, task.spec_hash)]


def selected_result(
    runs: Iterable[RunRecord], submission: SubmissionRecord, task: ResolvedTask
) -> TaskResult | None:
    """The dev-selected result of one model on one task, as the leaderboard selects it: among the full
    runs when there are any (a smoke run never outranks a real one), else among the limited ones, whose
    reasons the result carries (plus "one seed" when it rests on one)."""
    counted = counted_runs(runs, submission, task)
    full = [r for r in counted if not run_limitations(r)]
    pool = full if full else counted
    result = select_task_result(task.name, task.spec.score_metrics, [run_scores(r) for r in pool])
    if result is None:
        return None
    by_id = {r.id: r for r in pool}
    reasons = merge_reasons(run_limitations(by_id[i]) for i in result.run_ids if i in by_id)
    if result.score is not None and result.n_seeds < 2:
        reasons = (*reasons, ONE_SEED)
    return replace(result, protocol="limited" if reasons else "full", limited_reasons=reasons)


def default_tasks() -> dict[str, ResolvedTask]:
    """Every task at its default variant and current spec: what the leaderboard shows."""
    return {name: spec.resolve() for name, spec in all_tasks().items()}


def runs_by_cell(runs: Iterable[RunRecord]) -> dict[tuple[str, str], list[RunRecord]]:
    """Runs grouped by (submission, task), in id order: one pass, so a board does not rescan every run
    for every model × task."""
    grouped: dict[tuple[str, str], list[RunRecord]] = {}
    for run in runs:
        grouped.setdefault((run.submission, run.task), []).append(run)
    return grouped


def model_entry(
    snapshot: Snapshot,
    submission: SubmissionRecord,
    tasks: Mapping[str, ResolvedTask],
    *,
    cells: Mapping[tuple[str, str], Sequence[RunRecord]],
    reported: Mapping[str, Sequence[ReportedRecord]],
) -> ModelEntry:
    """A submission's task results: reported numbers for `reported` models, selected runs otherwise.
    `cells` (`runs_by_cell`) and `reported` (by submission) are grouped once for all models."""
    results: dict[str, TaskResult] = {}
    own = reported.get(submission.name, ())
    for name, task in tasks.items():
        spec = task.spec
        if submission.origin == "reported":
            result = reported_task_result(spec, {r.metric: r.value for r in own if r.task == name})
        else:
            result = selected_result(cells.get((submission.name, name), ()), submission, task)
        if result is not None:
            results[name] = result
    reasons = merge_reasons(results[t].limited_reasons for t in tasks if t in results)
    return ModelEntry(
        name=submission.name,
        family=submission.family,
        origin=submission.origin,
        params=submission.params_total,
        params_display=format_params(submission.params_total, submission.params_as_printed),
        tasks=results,
        display_name=submission.display_name,
        protocol="limited" if reasons else "full",
        limited_reasons=reasons,
        efficiency=model_efficiency(submission, snapshot.profiles),
    )
