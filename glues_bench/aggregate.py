"""From runs to a leaderboard: pure functions on plain dataclasses (no database access).

The protocol (the paper's, section 4.2 and Table 6):

- A task's score is the mean of its spec's `score_metrics` (QA: mean of F1 and exact match).
- Per model and task, the selected config is the one with the best mean DEV score over its seeds;
  its TEST score is reported as mean ± sample standard deviation (ddof=1) over the same config's
  seeds. With one seed the sd is None ("—"), not 0: one number says nothing about spread.
  If the selected config has no test score yet, the task is pending (no score), even when a config
  that is worse on dev has one: test numbers never influence the choice.
- A model's average is the equal-weight mean of its 8 task scores, only when all 8 are present
  (otherwise the row shows `n/8` and has no average, rank or performance ratio).
- Size ratio = reference params / model params; performance ratio = model average / reference
  average. The reference is a model name (default `BETO cased`, the paper's Table 6 reference).

Numbers are kept unrounded; `fmt2` rounds for display. The paper truncates Table 6 to two decimals
(ALBETO base 79.35 / 81.02 = 0.979… prints as 0.97), so displayed values may differ by 0.01.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from glues_bench.tasks import TASK_ORDER, all_tasks

if TYPE_CHECKING:
    from glues_bench.store.records import RunRecord, Snapshot, SubmissionRecord
    from glues_bench.tasks import TaskSpec

REFERENCE_MODEL = "BETO cased"
Source = Literal["measured", "reported"]


# -- one task -------------------------------------------------------------------------------------


def task_score(score_metrics: Sequence[str], metrics: Mapping[str, float]) -> float | None:
    """Mean of the score metrics; None when any is missing."""
    if not score_metrics or any(m not in metrics for m in score_metrics):
        return None
    return statistics.fmean(metrics[m] for m in score_metrics)


@dataclass(frozen=True)
class Stat:
    """Mean and sample sd (ddof=1; None for a single value) over seeds."""

    mean: float
    sd: float | None
    n: int


def summarize(values: Sequence[float]) -> Stat:
    if not values:
        raise ValueError("summarize() needs at least one value")
    sd = statistics.stdev(values) if len(values) >= 2 else None
    return Stat(mean=statistics.fmean(values), sd=sd, n=len(values))


@dataclass(frozen=True)
class RunScores:
    """What selection needs from one finished run. `config_key` groups the seeds of one config."""

    run_id: int
    config_key: str
    hparams: Mapping[str, Any]
    seed: int
    dev: Mapping[str, float] = field(default_factory=dict)
    test: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfigResult:
    """One config of a task's search: its seeds' dev and test scores."""

    config_key: str
    hparams: Mapping[str, Any]
    seeds: tuple[int, ...]
    dev: Stat | None
    test: Stat | None
    test_metrics: Mapping[str, Stat]
    run_ids: tuple[int, ...]


@dataclass(frozen=True)
class TaskResult:
    """A model's result on one task. `score` is None while the selected config lacks a test score."""

    task: str
    source: Source
    score: float | None
    sd: float | None
    n_seeds: int
    metrics: Mapping[str, float]
    metrics_sd: Mapping[str, float | None]
    score_metrics: tuple[str, ...]
    dev_score: float | None = None
    config_key: str | None = None
    hparams: Mapping[str, Any] | None = None
    run_ids: tuple[int, ...] = ()
    configs: tuple[ConfigResult, ...] = ()


def _per_seed(
    runs: Sequence[RunScores], score_metrics: Sequence[str]
) -> dict[int, tuple[float | None, RunScores]]:
    """seed → (dev score, run whose test counts). Duplicate runs of one seed (a dev-only search run
    and a test-scored rerun) collapse: the newest run with a test score wins, then the newest."""
    best: dict[int, tuple[float | None, RunScores]] = {}
    ordered = sorted(
        runs, key=lambda r: (task_score(score_metrics, r.test) is not None, r.run_id), reverse=True
    )
    for run in ordered:
        dev = task_score(score_metrics, run.dev)
        if run.seed not in best:
            best[run.seed] = (dev, run)
        elif best[run.seed][0] is None and dev is not None:
            best[run.seed] = (dev, best[run.seed][1])
    return best


def config_result(config_key: str, runs: Sequence[RunScores], score_metrics: Sequence[str]) -> ConfigResult:
    per_seed = _per_seed(runs, score_metrics)
    seeds = tuple(sorted(per_seed))
    devs = [per_seed[s][0] for s in seeds if per_seed[s][0] is not None]
    tested = [per_seed[s][1] for s in seeds if task_score(score_metrics, per_seed[s][1].test) is not None]
    test_scores = [task_score(score_metrics, r.test) for r in tested]
    metric_names = sorted(set.intersection(*(set(r.test) for r in tested))) if tested else []
    return ConfigResult(
        config_key=config_key,
        hparams=runs[0].hparams,
        seeds=seeds,
        dev=summarize(devs) if devs else None,
        test=summarize([s for s in test_scores if s is not None]) if tested else None,
        test_metrics={m: summarize([r.test[m] for r in tested]) for m in metric_names},
        run_ids=tuple(sorted(r.run_id for r in runs)),
    )


def select_config(configs: Iterable[ConfigResult]) -> ConfigResult | None:
    """The config with the best mean dev score; ties: more seeds, then the smaller key. Never uses test."""
    candidates = [c for c in configs if c.dev is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (-c.dev.mean, -c.dev.n, c.config_key))  # type: ignore[union-attr]


def select_task_result(
    task: str, score_metrics: Sequence[str], runs: Sequence[RunScores]
) -> TaskResult | None:
    """Dev-selected, test-reported result of one model on one task; None without any dev score."""
    by_config: dict[str, list[RunScores]] = {}
    for run in runs:
        by_config.setdefault(run.config_key, []).append(run)
    configs = tuple(config_result(k, v, score_metrics) for k, v in sorted(by_config.items()))
    chosen = select_config(configs)
    if chosen is None:
        return None
    test = chosen.test
    return TaskResult(
        task=task,
        source="measured",
        score=test.mean if test else None,
        sd=test.sd if test else None,
        n_seeds=test.n if test else 0,
        metrics={m: s.mean for m, s in chosen.test_metrics.items()},
        metrics_sd={m: s.sd for m, s in chosen.test_metrics.items()},
        score_metrics=tuple(score_metrics),
        dev_score=chosen.dev.mean if chosen.dev else None,
        config_key=chosen.config_key,
        hparams=chosen.hparams,
        run_ids=chosen.run_ids,
        configs=configs,
    )


def reported_task_result(spec: TaskSpec, values: Mapping[str, float]) -> TaskResult | None:
    """A published number as a task result: the mean of the spec's score metrics when the source
    prints them all, otherwise the mean of what it prints (the paper prints POS as "F1", and its
    Table 6 averages that number)."""
    if not values:
        return None
    used = (
        tuple(spec.score_metrics)
        if all(m in values for m in spec.score_metrics)
        else tuple(m for m in spec.metrics if m in values)
    )
    score = task_score(used, values)
    return TaskResult(
        task=spec.name,
        source="reported",
        score=score,
        sd=None,
        n_seeds=0,
        metrics=dict(sorted(values.items())),
        metrics_sd={m: None for m in sorted(values)},
        score_metrics=used,
    )


# -- one model, the whole board -------------------------------------------------------------------


@dataclass(frozen=True)
class ModelEntry:
    name: str
    family: str | None
    origin: str
    params: int | None
    params_display: str | None
    tasks: Mapping[str, TaskResult]


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int | None
    name: str
    family: str | None
    origin: str
    params: int | None
    params_display: str | None
    average: float | None
    n_tasks: int
    complete: bool
    size_ratio: float | None
    performance_ratio: float | None
    tasks: Mapping[str, TaskResult]


@dataclass(frozen=True)
class Leaderboard:
    rows: tuple[LeaderboardRow, ...]
    task_names: tuple[str, ...]
    reference: str
    reference_params: int | None
    reference_average: float | None


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
        rows.append(
            LeaderboardRow(
                rank=rank,
                name=model.name,
                family=model.family,
                origin=model.origin,
                params=model.params,
                params_display=model.params_display,
                average=average,
                n_tasks=_n_scored(model.tasks, task_names),
                complete=average is not None,
                size_ratio=size_ratio(ref_params, model.params),
                performance_ratio=performance_ratio(average, ref_average),
                tasks={t: model.tasks[t] for t in task_names if t in model.tasks},
            )
        )
    return Leaderboard(tuple(rows), tuple(task_names), reference, ref_params, ref_average)


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


# -- from the store's snapshot --------------------------------------------------------------------


def counted_runs(snapshot: Snapshot, submission: SubmissionRecord, task: str) -> list[RunRecord]:
    """The runs that count for a model's leaderboard cell: done, the task's default variant, the current
    spec (same spec hash), and the submission's current checkpoint when it has a recorded sha256."""
    spec = all_tasks().get(task)
    if spec is None:
        return []
    resolved = spec.resolve()
    return [
        r
        for r in snapshot.runs
        if r.submission == submission.name
        and r.task == task
        and r.status == "done"
        and r.variant == resolved.variant
        and r.spec_hash == resolved.spec_hash
        and (submission.checkpoint_sha256 is None or r.checkpoint_sha256 == submission.checkpoint_sha256)
    ]


def run_scores(run: RunRecord) -> RunScores:
    """Seeds of one config share hparams and data; a different data fingerprint is a different config."""
    return RunScores(
        run_id=run.id,
        config_key=f"{run.hparams_hash}@{run.data_fingerprint_hash[:12]}",
        hparams=run.hparams,
        seed=run.seed,
        dev=run.metrics.get("dev", {}),
        test=run.metrics.get("test", {}),
    )


def model_entry(snapshot: Snapshot, submission: SubmissionRecord) -> ModelEntry:
    """A submission's task results: reported numbers for `reported` models, selected runs otherwise."""
    tasks: dict[str, TaskResult] = {}
    for name, spec in all_tasks().items():
        if submission.origin == "reported":
            values = {
                r.metric: r.value
                for r in snapshot.reported
                if r.submission == submission.name and r.task == name
            }
            result = reported_task_result(spec, values)
        else:
            runs = [run_scores(r) for r in counted_runs(snapshot, submission, name)]
            result = select_task_result(name, spec.score_metrics, runs)
        if result is not None:
            tasks[name] = result
    return ModelEntry(
        name=submission.name,
        family=submission.family,
        origin=submission.origin,
        params=submission.params_total,
        params_display=format_params(submission.params_total, submission.params_as_printed),
        tasks=tasks,
    )


def leaderboard_from_snapshot(snapshot: Snapshot, reference: str = REFERENCE_MODEL) -> Leaderboard:
    return build_leaderboard([model_entry(snapshot, s) for s in snapshot.submissions], reference)


# -- presentation helpers (shared by the CLI table, the JSON and the site) ------------------------


def fmt2(value: float | None) -> str:
    """Two decimals, rounded (the paper truncates; see the module docstring); `—` for missing."""
    return "—" if value is None or not math.isfinite(value) else f"{value:.2f}"


def format_cell(result: Mapping[str, Any] | None) -> str:
    """A task cell from `task_result_json`: `98.35`, QA `70.17 / 45.99`, measured `81.20 ± 0.35`,
    `pending` (selected config not test-scored yet) or `—` (no result)."""
    if result is None:
        return "—"
    if result["score"] is None:
        return "pending"
    metrics = result["metrics"]
    if "exact_match" in result["score_metrics"]:
        text = f"{fmt2(metrics.get('f1'))} / {fmt2(metrics.get('exact_match'))}"
    else:
        text = fmt2(result["score"])
    if result["sd"] is not None:
        text += f" ± {fmt2(result['sd'])}"
    return text


def format_params(params: int | None, printed: str | None = None) -> str | None:
    """As printed by its source when there is one, else e.g. 11.7M / 223M / 1.2B."""
    if printed:
        return printed
    if params is None:
        return None
    if params >= 10**9:
        return f"{params / 1e9:.3g}B"
    return f"{params / 1e6:.3g}M"


def task_result_json(result: TaskResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "score": result.score,
        "sd": result.sd,
        "n_seeds": result.n_seeds,
        "metrics": dict(result.metrics),
        "metrics_sd": dict(result.metrics_sd),
        "score_metrics": list(result.score_metrics),
        "dev_score": result.dev_score,
        "config_key": result.config_key,
        "hparams": dict(result.hparams) if result.hparams is not None else None,
        "run_ids": list(result.run_ids),
    }


def leaderboard_json(board: Leaderboard, last_updated: datetime | None) -> dict[str, Any]:
    """The `glues-bench leaderboard --json` document (also the site's index.json)."""
    from glues_bench import __version__

    specs = all_tasks()
    return {
        "harness_version": __version__,
        "last_updated": last_updated.isoformat() if last_updated else None,
        "reference": {
            "name": board.reference,
            "params": board.reference_params,
            "average": board.reference_average,
        },
        "tasks": [
            {"name": t, "column": specs[t].paper_column, "score_metrics": list(specs[t].score_metrics)}
            for t in board.task_names
        ],
        "rows": [
            {
                "rank": row.rank,
                "name": row.name,
                "family": row.family,
                "origin": row.origin,
                "params": row.params,
                "params_display": row.params_display,
                "size_ratio": row.size_ratio,
                "performance_ratio": row.performance_ratio,
                "average": row.average,
                "n_tasks": row.n_tasks,
                "n_tasks_total": len(board.task_names),
                "complete": row.complete,
                "tasks": {
                    t: task_result_json(row.tasks[t]) if t in row.tasks else None for t in board.task_names
                },
            }
            for row in board.rows
        ],
    }
