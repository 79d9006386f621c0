"""Per-unit statistics (`metrics/units.py`) and leaderboard statistics (`board/stats.py`).

Expected values come from elsewhere: `score_predictions` on the real files, index-matrix resampling done
here by hand, the analytic binomial interval, and Monte-Carlo simulation of the EVP definition.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from glues_bench.board.stats import (
    Interval,
    Resamples,
    at_chance,
    average_bootstrap,
    bootstrap_cell,
    bootstrap_column,
    column_seed,
    expected_validation_performance,
    load_run_units,
    multiplicities,
    resample_indices,
    tie_groups,
)
from glues_bench.errors import DataError, PredictionError
from glues_bench.metrics import score_predictions
from glues_bench.metrics.units import COLUMNS, UnitStatistics, iob_chunks, unit_statistics
from glues_bench.runner import write_predictions
from glues_bench.tasks import get_task

# --- corrupted predictions for the real files ------------------------------------------------------------


def _corrupt(task, gold, rng: random.Random) -> dict[str, object]:
    """Predictions a weak model might write: mostly gold, some wrong, some missing (left out)."""
    predictions: dict[str, object] = {}
    for example in gold:
        roll = rng.random()
        if roll < 0.05:
            continue  # missing
        if task.task_type == "sequence_classification":
            predictions[example["id"]] = example["label"] if roll < 0.6 else rng.choice(task.labels)
        elif task.task_type == "token_classification":
            # Random tags include I-X after O and I-X after another type: the chunking corner cases.
            tags = [t if rng.random() < 0.8 else rng.choice(task.labels) for t in example["tags"]]
            predictions[example["id"]] = tags
        else:
            answer = example["answers"]["text"][0]
            words = answer.split()
            predictions[example["id"]] = rng.choice(
                [
                    answer,
                    " ".join(words[: max(1, len(words) // 2)]),
                    f"la {answer}.",
                    "",
                    "nada que ver",
                    "una",
                ]
            )
    return predictions


def _gold(task_name: str, variant: str | None, shared_data: Path):
    from glues_bench.data import load_split, read_gold_file

    task = get_task(task_name).resolve(variant)
    if task_name == "mlqa":  # only MLQA dev is here; it has the same format and scorer
        return task, read_gold_file(task, shared_data / "mlqa" / "mlqa-r_dev-context-es-question-es.json")
    return task, load_split(task, "test", shared_data).dataset


REAL_CASES = [
    ("xnli", None),
    ("pawsx", None),
    ("ner", None),
    ("pos", "ud14"),
    ("pos", "ancora"),
    ("xquad", "es"),
    ("xquad", "squad-en"),
    ("mlqa", None),
]


@pytest.mark.parametrize(("task_name", "variant"), REAL_CASES, ids=[f"{t}-{v}" for t, v in REAL_CASES])
def test_unit_sums_equal_official_metrics_on_full_sample_and_on_a_resample(task_name, variant, shared_data):
    task, gold = _gold(task_name, variant, shared_data)
    predictions = _corrupt(task, gold, random.Random(7))
    stats = unit_statistics(task, gold, predictions)
    assert stats.values.shape == (len(gold), len(COLUMNS[stats.kind]))

    official = score_predictions(task, gold, predictions)
    computed = stats.metrics()
    for name, value in official.metrics.items():
        assert computed[name] == pytest.approx(value, abs=1e-9), name
    assert stats.score() == pytest.approx(official.score, abs=1e-9)

    # A resample with replacement scored officially (duplicated gold rows) equals the weighted unit sums.
    indices = np.random.default_rng(3).integers(0, len(gold), size=len(gold))
    resampled_gold = gold.select(indices.tolist())
    drawn = set(resampled_gold["id"])
    resampled_official = score_predictions(
        task, resampled_gold, {key: value for key, value in predictions.items() if key in drawn}
    )
    weights = np.bincount(indices, minlength=len(gold)).astype(float)[None, :]
    assert stats.resampled_scores(weights)[0] == pytest.approx(resampled_official.score, abs=1e-9)
    assert resampled_official.score != pytest.approx(official.score, abs=1e-6)  # the resample differs


def test_iob_chunks_equal_seqeval_get_entities_on_random_tag_sequences():
    from seqeval.metrics.sequence_labeling import get_entities

    rng = random.Random(4)
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-MISC"]
    sentences = [[rng.choice(labels) for _ in range(rng.randint(0, 12))] for _ in range(400)]
    chunks = iob_chunks(sentences)
    type_names = list(dict.fromkeys(t.partition("-")[2] for s in sentences for t in s if t != "O"))
    for index, tags in enumerate(sentences):
        ours = {(type_names[t], a, b) for sent, t, a, b in chunks.tolist() if sent == index}
        assert ours == set(get_entities(tags)), tags


def test_unit_statistics_reject_what_score_predictions_rejects(shared_data):
    task, gold = _gold("xnli", None, shared_data)
    with pytest.raises(PredictionError, match="not in xnli's label set"):
        unit_statistics(task, gold, {"0": "maybe"})
    with pytest.raises(PredictionError, match="not in the xnli gold data"):
        unit_statistics(task, gold, {"99999": "entailment"})


# --- bootstrap ------------------------------------------------------------------------------------------


def _accuracy_units(correct: np.ndarray) -> UnitStatistics:
    values = np.column_stack([correct.astype(float), np.ones(correct.size)])
    return UnitStatistics(kind="classification", values=values, score_metrics=("accuracy",))


def test_multiplicities_count_the_index_matrix():
    indices = np.array([[0, 0, 2], [1, 2, 2]])
    assert multiplicities(indices, 4).tolist() == [[2, 0, 1, 0], [0, 1, 2, 0]]


def test_ci_contains_point_and_is_reproducible_and_seeded_by_column():
    rng = np.random.default_rng(0)
    stats = _accuracy_units(rng.random(1500) < 0.7)
    first = bootstrap_cell([stats], Resamples.for_column("xnli", "default", "test", n_units=1500))
    again = bootstrap_cell([stats], Resamples.for_column("xnli", "default", "test", n_units=1500))
    other = bootstrap_cell([stats], Resamples.for_column("pawsx", "default", "test", n_units=1500))
    assert first.interval.low < first.interval.point < first.interval.high
    assert first.interval == again.interval
    assert np.array_equal(first.samples, again.samples)
    assert first.interval != other.interval
    assert column_seed("xnli", 1) == column_seed("xnli", 1) != column_seed("xnli", 2)


def test_gold_as_predictions_gives_100_100_on_real_ner(shared_data):
    task, gold = _gold("ner", None, shared_data)
    stats = unit_statistics(task, gold, {e["id"]: e["tags"] for e in gold})
    cell = bootstrap_cell([stats], Resamples.draw(stats.n_units, 200, seed=1))
    assert cell.interval.as_list() == [100.0, 100.0]
    assert cell.interval.point == 100.0


def test_ci_width_matches_the_binomial_interval_for_accuracy():
    n, p = 4000, 0.8
    correct = np.zeros(n, dtype=bool)
    correct[: int(n * p)] = True
    cell = bootstrap_cell([_accuracy_units(correct)], Resamples.draw(n, 1000, seed=11))
    wald = 2 * 1.959964 * math.sqrt(p * (1 - p) / n) * 100
    z = 1.959964
    wilson = 2 * z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) * 100
    width = cell.interval.high - cell.interval.low
    assert width == pytest.approx(wald, rel=0.10)
    assert width == pytest.approx(wilson, rel=0.10)


def test_several_seeds_are_resampled_jointly_and_the_seed_mean_is_reported():
    rng = np.random.default_rng(5)
    seed_a, seed_b = rng.random(800) < 0.6, rng.random(800) < 0.9
    resample_seed = 21
    cell = bootstrap_cell(
        [_accuracy_units(seed_a), _accuracy_units(seed_b)], Resamples.draw(800, 300, seed=resample_seed)
    )
    # By hand from the same index matrix: each row picks the same units for both seeds.
    indices = resample_indices(800, 300, resample_seed)
    by_hand = (seed_a[indices].mean(axis=1) + seed_b[indices].mean(axis=1)) / 2 * 100
    assert np.allclose(cell.samples, by_hand, atol=1e-9)
    assert cell.interval.point == pytest.approx((seed_a.mean() + seed_b.mean()) / 2 * 100)
    assert cell.n_seeds == 2
    assert cell.interval.low == pytest.approx(np.quantile(by_hand, 0.025))


def test_bootstrap_column_equals_cell_by_cell():
    rng = np.random.default_rng(12)
    column = {
        "one-seed": [_accuracy_units(rng.random(600) < 0.7)],
        "three-seeds": [_accuracy_units(rng.random(600) < p) for p in (0.5, 0.6, 0.9)],
    }
    resamples = Resamples.draw(600, 250, seed=3)
    together = bootstrap_column(column, resamples)
    for model, seeds in column.items():
        alone = bootstrap_cell(seeds, resamples)
        assert np.allclose(together[model].samples, alone.samples, atol=1e-9)
        assert together[model].interval.point == pytest.approx(alone.interval.point, abs=1e-9)
        assert together[model].n_seeds == len(seeds)


def test_glues_average_resamples_each_task_independently():
    rng = np.random.default_rng(8)
    task_a, task_b = rng.random(500) < 0.5, rng.random(300) < 0.95
    cells = {
        "a": bootstrap_cell([_accuracy_units(task_a)], Resamples.draw(500, 400, seed=1)),
        "b": bootstrap_cell([_accuracy_units(task_b)], Resamples.draw(300, 400, seed=2)),
    }
    average = average_bootstrap(cells)
    by_hand = (
        task_a[resample_indices(500, 400, 1)].mean(1) + task_b[resample_indices(300, 400, 2)].mean(1)
    ) * 50
    assert np.allclose(average.samples, by_hand, atol=1e-9)
    assert average.interval.point == pytest.approx((task_a.mean() + task_b.mean()) * 50)
    # Averaging two independent tasks narrows the interval below the noisier task's.
    assert average.interval.high - average.interval.low < cells["a"].interval.high - cells["a"].interval.low


# --- ties, ranks, chance ------------------------------------------------------------------------------


def test_tie_groups_identical_is_tied_worse_everywhere_is_not_and_rank_ranges():
    rng = np.random.default_rng(2)
    best = rng.random(1000) < 0.8
    close = best.copy()
    close[np.flatnonzero(best)[:3]] = False  # 3 examples worse: within noise
    worse = np.zeros(1000, dtype=bool)  # wrong on every example
    resamples = Resamples.draw(1000, 1000, seed=4)
    cells = {
        name: bootstrap_cell([_accuracy_units(c)], resamples)
        for name, c in {"best": best, "copy": best.copy(), "close": close, "worse": worse}.items()
    }
    ties = tie_groups(cells)
    assert ties["copy"].tied_with_best and ties["best"].tied_with_best
    assert ties["close"].tied_with_best
    assert not ties["worse"].tied_with_best
    assert ties["best"].best == "best"  # first of equal points wins
    assert (ties["worse"].rank_low, ties["worse"].rank_high) == (4, 4)
    assert (ties["best"].rank_low, ties["best"].rank_high) == (1, 3)
    # Different resamples cannot be paired.
    other = bootstrap_cell([_accuracy_units(best)], Resamples.draw(1000, 50, seed=4))
    with pytest.raises(ValueError, match="share their resamples"):
        tie_groups({"a": cells["best"], "b": other})


def test_at_chance_when_the_ci_overlaps_the_baseline():
    assert at_chance(Interval(point=55.0, low=52.9, high=57.1), 54.65)
    assert not at_chance(Interval(point=70.0, low=68.0, high=72.0), 54.65)
    assert at_chance(Interval(point=56.0, low=55.0, high=57.0), Interval(point=54.65, low=53.0, high=56.0))


# --- expected validation performance ------------------------------------------------------------------


def test_evp_k1_is_the_mean_and_large_k_approaches_the_max():
    dev = [71.0, 74.5, 69.0, 80.0, 74.5, 60.0]
    curve = expected_validation_performance(dev, max_k=500)
    assert curve.expected_dev[0] == pytest.approx(np.mean(dev))
    assert curve.dev_std[0] == pytest.approx(np.std(dev))
    assert curve.expected_dev[-1] == pytest.approx(max(dev), abs=1e-6)
    assert np.all(np.diff(curve.expected_dev) >= -1e-12)


@pytest.mark.parametrize("case", ["rounded-normal", "tied-best-far-apart-on-test"])
def test_evp_matches_monte_carlo_with_ties_broken_at_random(case):
    rng = np.random.default_rng(9)
    if case == "rounded-normal":
        dev = np.round(rng.normal(75, 3, size=12), 0)  # rounding makes ties
        test = dev + rng.normal(0, 2, size=12)
    else:  # the two best dev scores tie while their test scores are 40 points apart
        dev, test = np.array([70.0, 80.0, 80.0, 75.0]), np.array([60.0, 90.0, 50.0, 70.0])
    curve = expected_validation_performance(dev, test)
    draws = 40_000
    for k in (1, 3, dev.size):
        picks = rng.integers(0, dev.size, size=(draws, k))
        dev_picked = dev[picks]
        best_dev = dev_picked.max(axis=1)
        # Among the drawn configs with the best dev score choose one at random.
        noise = rng.random(picks.shape) * (dev_picked == best_dev[:, None])
        chosen = picks[np.arange(draws), noise.argmax(axis=1)]
        # Within 4 Monte-Carlo standard errors.
        dev_error = 4 * best_dev.std() / math.sqrt(draws) + 1e-9
        test_error = 4 * test[chosen].std() / math.sqrt(draws) + 1e-9
        assert curve.expected_dev[k - 1] == pytest.approx(best_dev.mean(), abs=dev_error)
        assert curve.expected_test[k - 1] == pytest.approx(test[chosen].mean(), abs=test_error)


# --- loading from what the store keeps ------------------------------------------------------------------


def test_load_run_units_from_a_predictions_file_checks_fingerprint_and_hash(shared_data, tmp_path):
    from glues_bench.data import load_split

    task = get_task("pawsx").resolve()
    loaded = load_split(task, "test", shared_data)
    predictions = _corrupt(task, loaded.dataset, random.Random(1))
    path = tmp_path / "run" / "test.predictions.json"
    digest = write_predictions(path, predictions)
    run = SimpleNamespace(
        id=1,
        task="pawsx",
        variant="default",
        data_fingerprint={"test": loaded.fingerprint},
        predictions=(SimpleNamespace(split="test", path="run/test.predictions.json", sha256=digest),),
    )
    stats = load_run_units(run, shared_data, root=tmp_path)
    assert stats.score() == pytest.approx(
        score_predictions(task, loaded.dataset, predictions).score, abs=1e-9
    )

    with pytest.raises(DataError, match="fingerprint"):
        load_run_units(
            SimpleNamespace(**{**vars(run), "data_fingerprint": {"test": "0" * 64}}),
            shared_data,
            root=tmp_path,
        )
    path.write_text(path.read_text().replace('"0"', '"1"', 1))
    with pytest.raises(PredictionError, match="changed since it was stored"):
        load_run_units(run, shared_data, root=tmp_path)
    with pytest.raises(PredictionError, match="no dev predictions"):
        load_run_units(run, shared_data, split="dev", root=tmp_path)
