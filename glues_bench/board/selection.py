"""One model on one task: the task score, each config's results over seeds, and the one selection rule.

The protocol (the paper's, section 4.2 and Table 6):

- A task's score is the mean of its spec's `score_metrics` (QA: mean of F1 and exact match).
- Per model and task, the selected config is the one with the best mean DEV score over its seeds;
  its TEST score is reported as mean ± sample standard deviation (ddof=1) over the same config's
  seeds. With one seed the sd is None ("—"), not 0: one number says nothing about spread.
  If the selected config has no test score yet, the task is pending (no score), even when a config
  that is worse on dev has one: test numbers never influence the choice.

`SELECTION_RULE` is that rule in words; it is stored with every run and nowhere else written out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from glues_bench.store.records import RunRecord
    from glues_bench.tasks import TaskSpec

__all__ = [
    "SELECTION_RULE",
    "ConfigResult",
    "Protocol",
    "RunScores",
    "Source",
    "Stat",
    "TaskResult",
    "config_result",
    "reported_task_result",
    "run_scores",
    "select_config",
    "select_task_result",
    "summarize",
    "task_score",
]

SELECTION_RULE = (
    "best mean dev score over seeds (task score); test scored for every run, reported for the selected config"
)
Source = Literal["measured", "reported", "baseline"]
Protocol = Literal["full", "limited"]


def task_score(score_metrics: Sequence[str], metrics: Mapping[str, float]) -> float | None:
    """Mean of the score metrics; None when any is missing."""
    if not score_metrics or any(m not in metrics for m in score_metrics):
        return None
    return math.fsum([metrics[m] for m in score_metrics]) / len(score_metrics)  # = statistics.fmean, faster


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
class Stat:
    """Mean and sample sd (ddof=1; None for a single value) over seeds."""

    mean: float
    sd: float | None
    n: int


def summarize(values: Sequence[float]) -> Stat:
    if not values:
        raise ValueError("summarize() needs at least one value")
    # Floats, two passes (math.fsum): `statistics.stdev` computes in exact fractions, 100× slower, and
    # a board of 10,000 runs calls this for every config's dev, test and test metrics.
    n = len(values)
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n >= 2 else None
    return Stat(mean=mean, sd=sd, n=n)  # mean: what statistics.fmean computes (fsum / n)


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
    test_run_ids: tuple[int, ...] = ()  # the run per seed whose test score counts (what a CI resamples)


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
    test_run_ids: tuple[int, ...] = ()
    # Issue 9: how the result was obtained and how sure it is (filled by `board.protocol`/`uncertainty`).
    protocol: Protocol = "full"
    limited_reasons: tuple[str, ...] = ()
    ci95: tuple[float, float] | None = None
    ci_note: str | None = None  # why there is no CI
    tied_with_best: bool | None = None  # None: not in a tie test (reported, no CI, other test units)
    at_chance: bool | None = None  # CI overlaps the task's baseline; None: no CI or no baseline
    note: str | None = None  # baseline cells: what the baseline predicts


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
        test_run_ids=tuple(sorted(r.run_id for r in tested)),
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
        test_run_ids=chosen.test_run_ids,
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
