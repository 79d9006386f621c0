"""Confidence intervals, tie groups, rank ranges, "at chance" flags and the baseline row of a board, from
the unit statistics and baselines the store keeps (`board.stats` does the numbers).

For every measured test cell: the 95% percentile bootstrap of its seed-mean score (B resamples of the test
units, seeds resampled jointly), seeded by the column, so every rebuild prints the same numbers. Cells are
grouped by (task, variant, test fingerprint, number of units): one set of resamples per group, shared by
its cells, which is what makes the tie test paired; a cell scored on other test units (a `--limit` run)
gets its own group and is never tie-tested against the column's best. Each table of the board (the ranked
rows, the limited section) is tested on its own. Reported rows have no predictions: they keep their
printed numbers and are never in a tie test. A cell whose runs predate unit statistics shows no CI and
says so (`ci_note`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from glues_bench.board.board import Leaderboard, LeaderboardRow, model_average
from glues_bench.board.selection import TaskResult, task_score
from glues_bench.board.stats import (
    DEFAULT_RESAMPLES,
    CellBootstrap,
    Interval,
    Resamples,
    at_chance,
    average_bootstrap,
    bootstrap_cell,
    bootstrap_column,
    tie_groups,
)
from glues_bench.metrics.units import UnitStatistics, decode_units

if TYPE_CHECKING:
    from glues_bench.store.records import BaselineRecord, RunRecord, Snapshot, UnitStatsRecord
    from glues_bench.tasks import ResolvedTask

__all__ = ["BASELINE_NAME", "NO_UNIT_STATISTICS", "baseline_for", "with_statistics"]

BASELINE_NAME = "Baseline (from the data)"
NO_UNIT_STATISTICS = "no CI: run predates unit statistics"

GroupKey = tuple[str, str, str, int]  # task, variant, test fingerprint, number of units


class _Draws:
    """The resamples of each group, drawn once and shared by every cell of the group (paired tests)."""

    def __init__(self, n_resamples: int) -> None:
        self.n_resamples = n_resamples
        self.drawn: dict[GroupKey, Resamples] = {}

    def __call__(self, key: GroupKey) -> Resamples:
        if key not in self.drawn:
            task, variant, fingerprint, n_units = key
            self.drawn[key] = Resamples.for_column(
                task, variant, "test", fingerprint, n_units=n_units, n_resamples=self.n_resamples
            )
        return self.drawn[key]

    def clear(self) -> None:
        self.drawn.clear()


@dataclass
class _Column:
    """One task's cells in one table: bootstraps by model, and the group each belongs to."""

    cells: dict[str, CellBootstrap]
    groups: dict[str, GroupKey]
    tied: dict[str, bool] | None = None  # models of the best's group: tied with the best?

    def tie_test(self) -> None:
        if self.cells:
            key = self.groups[_best(self.cells)]
            same = {m: c for m, c in self.cells.items() if self.groups[m] == key}
            self.tied = {m: t.tied_with_best for m, t in tie_groups(same).items()}


def baseline_for(
    baselines: Sequence[BaselineRecord], task: ResolvedTask, fingerprint: str | None = None
) -> BaselineRecord | None:
    """The stored baseline of `task` at its variant and spec: on the test split with `fingerprint`, or
    (None) the one on the most test units (the whole test split, not a `--limit` cut of it)."""
    candidates = [
        b
        for b in baselines
        if b.task == task.name and b.variant == task.variant and b.spec_hash == task.spec_hash
    ]
    if fingerprint is not None:
        candidates = [b for b in candidates if b.test_fingerprint == fingerprint]
    return max(candidates, key=lambda b: (b.n_units, b.id), default=None)


def with_statistics(
    board: Leaderboard,
    snapshot: Snapshot,
    tasks: Mapping[str, ResolvedTask],
    n_resamples: int = DEFAULT_RESAMPLES,
) -> Leaderboard:
    """`board` with CIs, ties, rank ranges and "at chance" filled in, and its baseline row."""
    runs = {r.id: r for r in snapshot.runs}
    units = {u.run_id: u for u in snapshot.unit_stats if u.split == "test"}
    tables = [list(board.rows), list(board.limited)]
    columns: list[dict[str, _Column]] = [{}, {}]
    baseline_cells: dict[str, TaskResult] = {}
    draw = _Draws(n_resamples)
    for name in board.task_names:
        task = tasks[name]
        for t, rows in enumerate(tables):
            columns[t][name] = _column(rows, name, task, runs, units, draw)
        baseline_cells.update(_baseline_cell(snapshot.baselines, task, draw))
        baseline_intervals = _baseline_intervals(snapshot.baselines, task, draw, columns, name)
        for t, rows in enumerate(tables):
            tables[t] = [_with_cell(row, name, columns[t][name], baseline_intervals) for row in rows]
        draw.clear()  # (B, n) weights per group: free them before the next task
    rows, limited = (_with_average(rows, columns[t], board.task_names) for t, rows in enumerate(tables))
    return replace(
        board,
        rows=tuple(rows),
        limited=tuple(limited),
        baseline=_baseline_row(baseline_cells, board.task_names),
    )


def _cell_units(
    result: TaskResult,
    task: ResolvedTask,
    runs: Mapping[int, RunRecord],
    units: Mapping[int, UnitStatsRecord],
) -> tuple[list[UnitStatistics], GroupKey] | None:
    """The unit statistics of the runs behind a measured cell (one per seed), or None when one lacks them."""
    records = [units.get(i) for i in result.test_run_ids]
    if not records or any(r is None for r in records):
        return None
    first = runs[result.test_run_ids[0]]
    sizes = {r.n_units for r in records if r is not None}
    if len(sizes) != 1:
        return None
    seeds = [
        UnitStatistics(kind=r.kind, values=decode_units(r.data), score_metrics=tuple(task.spec.score_metrics))  # type: ignore[arg-type]
        for r in records
        if r is not None
    ]
    return seeds, (task.name, first.variant, (first.data_fingerprint or {}).get("test", ""), sizes.pop())


def _column(rows, name, task, runs, units, draw) -> _Column:
    groups: dict[GroupKey, dict[str, list[UnitStatistics]]] = {}
    for row in rows:
        result = row.tasks.get(name)
        if result is None or result.source != "measured" or result.score is None:
            continue
        found = _cell_units(result, task, runs, units)
        if found is not None:
            groups.setdefault(found[1], {})[row.name] = found[0]
    column = _Column({}, {})
    for key, cells in sorted(groups.items()):
        for model, cell in bootstrap_column(cells, draw(key)).items():
            column.cells[model] = cell
            column.groups[model] = key
    column.tie_test()
    return column


def _baseline_intervals(baselines, task, draw, columns, name) -> dict[GroupKey, Interval]:
    """The baseline's own CI on each group's resamples (same units), for the "at chance" test."""
    intervals: dict[GroupKey, Interval] = {}
    keys = {key for tables in columns for key in tables[name].groups.values()}
    for key in sorted(keys):
        record = baseline_for(baselines, task, key[2])
        if record is not None and record.n_units == key[3]:
            intervals[key] = bootstrap_cell([_baseline_units(record, task)], draw(key)).interval
    return intervals


def _baseline_units(record: BaselineRecord, task: ResolvedTask) -> UnitStatistics:
    return UnitStatistics(
        kind=record.unit_kind,  # type: ignore[arg-type]
        values=decode_units(record.units),
        score_metrics=tuple(task.spec.score_metrics),
    )


def _with_cell(
    row: LeaderboardRow, name: str, column: _Column, baselines: Mapping[GroupKey, Interval]
) -> LeaderboardRow:
    result = row.tasks.get(name)
    if result is None or result.source != "measured" or result.score is None:
        return row
    if row.name not in column.cells:
        return _with_result(row, name, replace(result, ci_note=NO_UNIT_STATISTICS))
    cell, key = column.cells[row.name], column.groups[row.name]
    tied = (column.tied or {}).get(row.name)
    baseline = baselines.get(key)
    return _with_result(
        row,
        name,
        replace(
            result,
            ci95=(cell.interval.low, cell.interval.high),
            tied_with_best=tied,
            at_chance=at_chance(cell.interval, baseline) if baseline is not None else None,
        ),
    )


def _with_result(row: LeaderboardRow, name: str, result: TaskResult) -> LeaderboardRow:
    return replace(row, tasks={**row.tasks, name: result})


def _best(cells: Mapping[str, CellBootstrap]) -> str:
    names = list(cells)
    return max(names, key=lambda n: (cells[n].interval.point, -names.index(n)))


def _with_average(
    rows: list[LeaderboardRow], columns: Mapping[str, _Column], task_names: Sequence[str]
) -> list[LeaderboardRow]:
    """The GLUES average's CI of every complete measured row with a CI in every task; ties with the best
    such average (rows resampled alike: the same groups in every task) and rank ranges."""
    averages: dict[str, CellBootstrap] = {}
    signatures: dict[str, tuple[GroupKey, ...]] = {}
    for row in rows:
        if row.complete and all(row.name in columns[t].cells for t in task_names):
            averages[row.name] = average_bootstrap({t: columns[t].cells[row.name] for t in task_names})
            signatures[row.name] = tuple(columns[t].groups[row.name] for t in task_names)
    if not averages:
        return rows
    best = _best(averages)
    compared = {n: c for n, c in averages.items() if signatures[n] == signatures[best]}
    ties = tie_groups(compared)
    order = sorted(compared, key=lambda n: -compared[n].interval.point)
    updated = []
    for row in rows:
        if row.name not in averages:
            updated.append(row)
            continue
        interval = averages[row.name].interval
        fields = {"average_ci95": (interval.low, interval.high)}
        if row.name in ties:
            tie = ties[row.name]
            fields["average_tied_with_best"] = tie.tied_with_best
            if row.rank is not None:
                # Of the compared rows above (below) it, those not significantly better (worse) could swap.
                above = order.index(row.name)
                below = len(order) - 1 - above
                low = row.rank - max(0, above - (tie.rank_low - 1))
                high = row.rank + max(0, below - (len(order) - tie.rank_high))
                fields["rank_range"] = (low, high)
        updated.append(replace(row, **fields))  # type: ignore[arg-type]
    return updated


def _baseline_cell(baselines, task: ResolvedTask, draw) -> dict[str, TaskResult]:
    record = baseline_for(baselines, task)
    if record is None:
        return {}
    metrics = {k: v for k, v in sorted(record.metrics.items()) if k != "score"}
    interval = bootstrap_cell(
        [_baseline_units(record, task)],
        draw((task.name, task.variant, record.test_fingerprint, record.n_units)),
    ).interval
    note = record.note
    return {
        task.name: TaskResult(
            task=task.name,
            source="baseline",
            score=task_score(task.spec.score_metrics, metrics),
            sd=None,
            n_seeds=0,
            metrics=metrics,
            metrics_sd={m: None for m in metrics},
            score_metrics=tuple(task.spec.score_metrics),
            ci95=(interval.low, interval.high),
            note=f"{record.kind}: {note}",
        )
    }


def _baseline_row(cells: Mapping[str, TaskResult], task_names: Sequence[str]) -> LeaderboardRow | None:
    if not cells:
        return None
    average = model_average(cells, task_names)
    return LeaderboardRow(
        name=BASELINE_NAME,
        family=None,
        origin="baseline",
        params=None,
        params_display=None,
        tasks={t: cells[t] for t in task_names if t in cells},
        average=average,
        n_tasks=sum(1 for t in task_names if t in cells),
        complete=average is not None,
    )
