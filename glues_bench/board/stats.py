"""Leaderboard statistics: bootstrap CIs over test units, the GLUES average's CI, tie groups, "at chance"
and expected validation performance. Pure numpy functions of per-unit statistics (`metrics/units.py`),
plus `load_run_units`, which gets those from what the store keeps (a predictions file and gold data).

Reproducibility: resamples come from `numpy.random.default_rng(seed)` with a seed derived from the
column (task, variant, split, number of units) by `column_seed`, so every rebuild draws the same
indices, and every model of a column is resampled with the *same* indices: that is what makes the tie
test paired. The GLUES average reuses each task's resamples (tasks resampled independently).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from glues_bench.errors import DataError, PredictionError
from glues_bench.metrics.units import UnitStatistics, score_from_sums, unit_statistics

if TYPE_CHECKING:
    from glues_bench.data import LoadedSplit
    from glues_bench.store.records import RunRecord

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95


def column_seed(*parts: object) -> int:
    """A 63-bit seed from the column's identity (e.g. task, variant, split, n_units): stable across runs,
    machines and Python versions (sha256, not `hash`)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def resample_indices(n_units: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """The index matrix (n_resamples, n_units): row b lists the units resample b draws, with replacement."""
    if n_units < 1:
        raise ValueError("a bootstrap needs at least one unit")
    if n_resamples < 1:
        raise ValueError("a bootstrap needs at least one resample")
    return np.random.default_rng(seed).integers(0, n_units, size=(n_resamples, n_units))


def multiplicities(indices: np.ndarray, n_units: int) -> np.ndarray:
    """How often each unit occurs in each resample, (B, n_units) float64, from an index matrix (B, m)."""
    n_resamples = indices.shape[0]
    offsets = (np.arange(n_resamples) * n_units)[:, None]
    counts = np.bincount((indices + offsets).ravel(), minlength=n_resamples * n_units)
    return counts.reshape(n_resamples, n_units).astype(np.float64)


@dataclass(frozen=True, eq=False)
class Resamples:
    """The B resamples of one column's n units, as multiplicities (B, n) (a sum over a resample of unit
    rows is `weights @ rows`). Build with `Resamples.draw`; share one per column so tests are paired."""

    weights: np.ndarray
    seed: int

    @classmethod
    def draw(cls, n_units: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Resamples:
        return cls(multiplicities(resample_indices(n_units, n_resamples, seed), n_units), seed)

    @classmethod
    def for_column(cls, *column: object, n_units: int, n_resamples: int = DEFAULT_RESAMPLES) -> Resamples:
        """Resamples seeded by `column_seed(*column, n_units)`: the default for a leaderboard column."""
        return cls.draw(n_units, n_resamples, column_seed(*column, n_units))

    @property
    def n_resamples(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_units(self) -> int:
        return int(self.weights.shape[1])


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval around `point` (the full-sample value), in the metric's unit."""

    point: float
    low: float
    high: float
    level: float = DEFAULT_LEVEL

    def as_list(self) -> list[float]:
        """`[low, high]`, the JSON contract's `ci95`."""
        return [self.low, self.high]


@dataclass(frozen=True, eq=False)
class CellBootstrap:
    """One measured cell: the seed-mean score, its interval, and the B resampled seed-mean scores (kept
    for the paired tie test and for the average)."""

    interval: Interval
    samples: np.ndarray  # (B,)
    n_seeds: int


def percentile_interval(samples: np.ndarray, point: float, level: float = DEFAULT_LEVEL) -> Interval:
    """The percentile interval of `samples` at `level` (numpy's default linear quantile), with the
    full-sample point estimate alongside; the interval is not forced to contain the point."""
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return Interval(point=point, low=float(low), high=float(high), level=level)


def bootstrap_cell(
    seeds: Sequence[UnitStatistics], resamples: Resamples, level: float = DEFAULT_LEVEL
) -> CellBootstrap:
    """CI of the seed mean: every seed's predictions are resampled with the same unit indices (jointly),
    the task score is recomputed per seed and resample, and the seeds are averaged per resample."""
    if not seeds:
        raise ValueError("a cell needs the unit statistics of at least one seed")
    for stats in seeds:
        if stats.n_units != resamples.n_units:
            raise ValueError(f"{stats.n_units} units but the resamples draw from {resamples.n_units}")
    samples = np.mean([stats.resampled_scores(resamples.weights) for stats in seeds], axis=0)
    point = float(np.mean([stats.score() for stats in seeds]))
    return CellBootstrap(percentile_interval(samples, point, level), samples, len(seeds))


def bootstrap_column(
    column: Mapping[str, Sequence[UnitStatistics]], resamples: Resamples, level: float = DEFAULT_LEVEL
) -> dict[str, CellBootstrap]:
    """`bootstrap_cell` for every cell of a column ({model: its seeds' unit statistics}) at once: the
    same numbers, but one matrix product for all runs, so the (B, n) weights are read from memory once
    instead of once per run (what makes a 1,000-run board cheap)."""
    runs = [(model, stats) for model, seeds in column.items() for stats in seeds]
    if not runs:
        return {}
    kinds = {(stats.kind, stats.score_metrics) for _, stats in runs}
    if len(kinds) != 1:
        raise ValueError(f"one column, one kind of unit statistics; got {sorted(kinds)}")
    kind, score_metrics = kinds.pop()
    for model, stats in runs:
        if stats.n_units != resamples.n_units:
            raise ValueError(
                f"{model}: {stats.n_units} units but the resamples draw from {resamples.n_units}"
            )
    n_columns = runs[0][1].values.shape[1]
    stacked = np.hstack([stats.values for _, stats in runs])  # (n, R·k)
    sums = (resamples.weights @ stacked).reshape(resamples.n_resamples, len(runs), n_columns)
    run_scores = score_from_sums(kind, score_metrics, sums)  # (B, R)
    full_scores = score_from_sums(kind, score_metrics, stacked.sum(axis=0).reshape(len(runs), n_columns))
    cells: dict[str, CellBootstrap] = {}
    for model, seeds in column.items():
        if not seeds:
            raise ValueError(f"{model}: a cell needs the unit statistics of at least one seed")
        positions = [i for i, (owner, _) in enumerate(runs) if owner == model]
        samples = run_scores[:, positions].mean(axis=1)
        point = float(full_scores[positions].mean())
        cells[model] = CellBootstrap(percentile_interval(samples, point, level), samples, len(seeds))
    return cells


def average_bootstrap(cells: Mapping[str, CellBootstrap], level: float = DEFAULT_LEVEL) -> CellBootstrap:
    """The GLUES average's CI: the mean over tasks of the resampled task scores (each task's own resamples,
    so tasks are resampled independently); the point is the mean of the task points."""
    if not cells:
        raise ValueError("an average needs at least one task")
    samples = np.mean([cell.samples for cell in cells.values()], axis=0)
    point = float(np.mean([cell.interval.point for cell in cells.values()]))
    n_seeds = min(cell.n_seeds for cell in cells.values())
    return CellBootstrap(percentile_interval(samples, point, level), samples, n_seeds)


# --- ties and ranks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TieResult:
    """A model's place in its column: tied with the best (not significantly worse) and its rank range."""

    best: str
    tied_with_best: bool
    rank_low: int  # best rank it can claim (1 + models significantly better)
    rank_high: int  # worst rank (number of models minus those it is significantly better than)


def tie_groups(cells: Mapping[str, CellBootstrap], level: float = DEFAULT_LEVEL) -> dict[str, TieResult]:
    """Per model of a column (or of the average): tied with the column's best (highest point), and rank
    ranges from all pairwise paired tests. `cells` must share their resamples (same column).

    Only measured cells belong here; reported paper numbers have no predictions and stay out."""
    if not cells:
        return {}
    names = list(cells)
    sizes = {cell.samples.shape for cell in cells.values()}
    if len(sizes) != 1:
        raise ValueError(f"cells of one column must share their resamples; got sample shapes {sorted(sizes)}")
    best = max(names, key=lambda name: (cells[name].interval.point, -names.index(name)))
    samples = np.stack([cells[name].samples for name in names])  # (M, B)
    alpha = (1.0 - level) / 2.0
    # beats[i, j]: model i significantly better than model j (lower quantile of i − j above 0); one row
    # at a time keeps memory at M × B instead of M × M × B.
    beats = np.stack([np.quantile(row[None, :] - samples, alpha, axis=1) > 0 for row in samples])
    results: dict[str, TieResult] = {}
    for i, name in enumerate(names):
        results[name] = TieResult(
            best=best,
            tied_with_best=not beats[names.index(best), i],
            rank_low=1 + int(beats[:, i].sum()),
            rank_high=len(names) - int(beats[i, :].sum()),
        )
    return results


def at_chance(interval: Interval, baseline: float | Interval) -> bool:
    """A cell is "at chance" when its CI overlaps its task's baseline (a number, or the baseline's own CI)."""
    low, high = (baseline.low, baseline.high) if isinstance(baseline, Interval) else (baseline, baseline)
    return interval.low <= high and low <= interval.high


# --- expected validation performance -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ValidationCurve:
    """Expected best dev score over k configs drawn with replacement from the N tried, k = 1..N (Dodge et
    al. 2019), its standard deviation, and the expected test score of the config that dev picks."""

    k: np.ndarray  # (N,) 1..N
    expected_dev: np.ndarray  # (N,)
    dev_std: np.ndarray  # (N,)
    expected_test: np.ndarray | None  # (N,) or None without test scores


def expected_validation_performance(
    dev_scores: Sequence[float], test_scores: Sequence[float] | None = None, max_k: int | None = None
) -> ValidationCurve:
    """E[max of k dev scores] with the empirical CDF: with sorted v_(1) ≤ … ≤ v_(N),
    E = Σ_i v_(i) [(i/N)^k − ((i−1)/N)^k] (the paper's formula, sampling with replacement).

    The test score of the expected best weights each config's test score by the probability that it is
    the best of the k drawn; configs with equal dev scores share that probability (ties broken at
    random), so they contribute the mean of their test scores."""
    dev = np.asarray(dev_scores, dtype=np.float64)
    n = dev.size
    if n == 0:
        raise ValueError("expected validation performance needs at least one dev score")
    ks = np.arange(1, (max_k or n) + 1)
    order = np.argsort(dev, kind="stable")
    sorted_dev = dev[order]
    cdf = np.arange(1, n + 1) / n
    # P(max is the i-th order statistic) for every k at once: (K, N).
    probabilities = cdf[None, :] ** ks[:, None] - (cdf - 1.0 / n)[None, :] ** ks[:, None]
    expected = probabilities @ sorted_dev
    second_moment = probabilities @ sorted_dev**2
    std = np.sqrt(np.maximum(second_moment - expected**2, 0.0))
    expected_test = None
    if test_scores is not None:
        test = np.asarray(test_scores, dtype=np.float64)
        if test.shape != dev.shape:
            raise ValueError(f"{dev.size} dev scores but {test.size} test scores")
        sorted_test = test[order]
        # Tied dev scores: every member of the tie group stands for the group's mean test score.
        _, group, group_sizes = np.unique(sorted_dev, return_inverse=True, return_counts=True)
        group_means = np.bincount(group, weights=sorted_test) / group_sizes
        expected_test = probabilities @ group_means[group]
    return ValidationCurve(k=ks, expected_dev=expected, dev_std=std, expected_test=expected_test)


# --- from the store ------------------------------------------------------------------------------------


def load_run_units(
    run: RunRecord,
    data_dir: Path | None,
    split: str = "test",
    root: Path | None = None,
    gold: LoadedSplit | None = None,
) -> UnitStatistics:
    """Unit statistics of one stored run on `split`: its predictions file against the gold split.

    `root` resolves a relative predictions path (the store keeps paths relative to the project). The gold
    split is loaded from `data_dir` (or given as `gold`, a `LoadedSplit`, to load it once per column) and
    must have the fingerprint the run recorded, so a CI is never computed against other data."""
    from glues_bench.data import load_split
    from glues_bench.metrics import load_predictions
    from glues_bench.store.store import file_sha256
    from glues_bench.tasks import get_task

    task = get_task(run.task).resolve(run.variant)
    artefact = next((p for p in run.predictions if p.split == split), None)
    if artefact is None:
        raise PredictionError(f"run {run.id}: no {split} predictions stored")
    path = Path(artefact.path)
    if not path.is_absolute() and root is not None:
        path = root / path
    if not path.is_file():
        raise PredictionError(f"run {run.id}: predictions file not found: {artefact.path}")
    loaded = gold if gold is not None else load_split(task, split, data_dir)
    recorded = run.data_fingerprint.get(split)
    if recorded is not None and recorded != loaded.fingerprint:
        raise DataError(
            f"run {run.id}: its {split} data had fingerprint {recorded[:12]}…, the gold loaded now has "
            f"{loaded.fingerprint[:12]}… ({loaded.source}); not computing statistics against other data"
        )
    digest = file_sha256(path)
    if artefact.sha256 and digest != artefact.sha256:
        raise PredictionError(f"run {run.id}: {path} changed since it was stored (sha256 differs)")
    return unit_statistics(task, loaded.dataset, load_predictions(path))
