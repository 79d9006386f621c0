"""Time the leaderboard's statistics for a board of synthetic runs: bootstrap CIs of every cell (seeds
resampled jointly), the GLUES average's CI per model, and the paired tie test with rank ranges for every
column and for the average.

Runs are spread over the eight GLUES columns, each cell has `--seeds` runs, every test set has `--units`
units, and the unit rows have the shape of each task type (classification, tags, entities, QA), so the
work is what a site build with that many stored runs does after reading the predictions. Each measurement
is repeated `--repeats` times; the median and the range are printed. Getting the unit rows from a
predictions file is timed separately with `--data-dir` (real test files, one synthetic run per task),
since it depends on the task and not on the statistics (parsing and scoring the file; `backfill-units`
pays it once per run, a site build never: it reads the stored unit statistics).

With `--site`, the same board is written into a results store (every run with its stored unit statistics)
and whole site builds are timed, interleaved: from a copy of the store without unit statistics (cells show
no CI) and from the store with them (CIs, ties, rank ranges, "at chance"); the difference is what the
statistics add to a site build, reading the blobs from the database included.

Example: python scripts/bench_ci.py --runs 1000 --units 5000
         python scripts/bench_ci.py --runs 1000 --units 5000 --site --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from glues_bench.board.stats import (
    DEFAULT_RESAMPLES,
    Resamples,
    average_bootstrap,
    bootstrap_cell,
    bootstrap_column,
    tie_groups,
)
from glues_bench.metrics.units import COLUMNS, UnitStatistics

# Column kinds of the GLUES board (task name → unit kind, score metrics).
BOARD = {
    "pos": ("tags", ("accuracy",)),
    "ner": ("entities", ("f1",)),
    "mldoc": ("classification", ("accuracy",)),
    "pawsx": ("classification", ("accuracy",)),
    "xnli": ("classification", ("accuracy",)),
    "xquad": ("qa", ("f1", "exact_match")),
    "mlqa": ("qa", ("f1", "exact_match")),
    "sqac": ("qa", ("f1", "exact_match")),
}


def synthetic_units(kind: str, n_units: int, rng: np.random.Generator) -> np.ndarray:
    """Unit rows with plausible counts for `kind` (the values do not change the cost, the shape does)."""
    if kind == "classification":
        return np.column_stack([rng.random(n_units) < 0.8, np.ones(n_units)]).astype(float)
    if kind == "tags":
        words = rng.integers(5, 40, n_units).astype(float)
        correct = np.floor(words * rng.uniform(0.9, 1.0, n_units))
        return np.column_stack([correct, words, words])
    if kind == "entities":
        gold = rng.integers(0, 5, n_units).astype(float)
        predicted = np.maximum(gold + rng.integers(-1, 2, n_units), 0)
        tokens = rng.integers(5, 40, n_units).astype(float)
        return np.column_stack([np.minimum(gold, predicted), predicted, gold, tokens - 1, tokens])
    f1 = rng.random(n_units)
    return np.column_stack([f1, f1 > 0.9, np.ones(n_units)]).astype(float)


def build_board(runs: int, seeds: int, n_units: int, rng: np.random.Generator):
    """{task: {model: [UnitStatistics per seed]}} with `runs` runs in all."""
    cells_per_task = max(1, runs // (seeds * len(BOARD)))
    board = {}
    for task, (kind, score_metrics) in BOARD.items():
        assert COLUMNS[kind]  # a kind the board knows
        board[task] = {
            f"model-{m}": [
                UnitStatistics(kind, synthetic_units(kind, n_units, rng), score_metrics) for _ in range(seeds)
            ]
            for m in range(cells_per_task)
        }
    return board


def statistics_pass(board, n_resamples: int, per_cell: bool = False) -> dict[str, float]:
    """Everything the board computes, timed by stage (seconds). `per_cell`: one `bootstrap_cell` per cell
    instead of one `bootstrap_column` per column (same numbers; for the ratio)."""
    timings = dict.fromkeys(("resamples", "cells", "average", "ties"), 0.0)
    per_task_cells = {}
    for task, models in board.items():
        n_units = next(iter(models.values()))[0].n_units
        start = time.perf_counter()
        resamples = Resamples.for_column(task, "default", "test", n_units=n_units, n_resamples=n_resamples)
        timings["resamples"] += time.perf_counter() - start
        start = time.perf_counter()
        if per_cell:
            per_task_cells[task] = {
                model: bootstrap_cell(seeds, resamples) for model, seeds in models.items()
            }
        else:
            per_task_cells[task] = bootstrap_column(models, resamples)
        timings["cells"] += time.perf_counter() - start
        start = time.perf_counter()
        tie_groups(per_task_cells[task])
        timings["ties"] += time.perf_counter() - start
    start = time.perf_counter()
    models = sorted({model for cells in per_task_cells.values() for model in cells})
    averages = {
        model: average_bootstrap({task: cells[model] for task, cells in per_task_cells.items()})
        for model in models
    }
    timings["average"] += time.perf_counter() - start
    start = time.perf_counter()
    tie_groups(averages)
    timings["ties"] += time.perf_counter() - start
    return timings


def time_unit_extraction(data_dir: Path, repeats: int) -> None:
    """Seconds to get one run's test unit rows from its predictions file, per task, on the real files:
    parsing and scoring the file."""
    import random
    import tempfile
    from types import SimpleNamespace

    from glues_bench.board.stats import load_run_units
    from glues_bench.data import DataUnavailable, load_split
    from glues_bench.runner import write_predictions
    from glues_bench.tasks import get_task

    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as scratch:
        for name in BOARD:
            task = get_task(name).resolve()
            try:
                loaded = load_split(task, "test", data_dir)
            except DataUnavailable:
                print(f"  {name:6s} no test file in the data directory, skipped")
                continue
            gold = loaded.dataset
            if task.task_type == "sequence_classification":
                predictions = {e["id"]: rng.choice(task.labels) for e in gold}
            elif task.task_type == "token_classification":
                predictions = {e["id"]: [rng.choice(task.labels) for _ in e["tags"]] for e in gold}
            else:
                predictions = {e["id"]: e["answers"]["text"][0][::-1] for e in gold}
            path = Path(scratch) / f"{name}.test.predictions.json"
            digest = write_predictions(path, predictions)
            run = SimpleNamespace(
                id=0,
                task=name,
                variant=task.variant,
                data_fingerprint={"test": loaded.fingerprint},
                predictions=(SimpleNamespace(split="test", path=str(path), sha256=digest),),
            )
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                load_run_units(run, data_dir, gold=loaded)
                seconds.append(time.perf_counter() - start)
            print(
                f"  {name:6s} {len(gold):5d} units: {statistics.median(seconds):.4f} s per run from its "
                f"predictions file (median of {repeats})"
            )


def write_store(board, path: Path) -> tuple[str, str]:
    """Two SQLite stores of `board` (one run per seed, every metric from its unit rows): with the unit
    statistics and (a copy) without them. Returns their URLs."""
    import shutil
    from datetime import datetime, timezone

    from glues_bench.metrics.units import encode_units
    from glues_bench.store import RunKey, open_store
    from glues_bench.tasks import get_task

    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with_units, without_units = path / "with_units.db", path / "without_units.db"
    with open_store(f"sqlite:///{with_units}") as store:
        models = sorted({model for cells in board.values() for model in cells})
        for model in models:
            store.upsert_submission(model, origin="external", checkpoint_sha256="a" * 64, now=now)
        for task_name, cells in board.items():
            task = get_task(task_name).resolve()
            for model, seeds in cells.items():
                for seed, stats in enumerate(seeds, start=1):
                    key = RunKey(
                        submission=model, checkpoint_sha256="a" * 64, task=task_name, variant=task.variant,
                        spec_hash=task.spec_hash, data_fingerprint={"test": "f" * 64},
                        hparams={"learning_rate": 5e-5}, seed=seed,
                    )  # fmt: skip
                    run_id = store.start_run(key, spec_version=task.spec.version, started_at=now)
                    metrics = {m: v for m, v in stats.metrics().items() if m in task.spec.metrics}
                    store.finish_run(
                        run_id,
                        {"dev": metrics, "test": metrics},
                        finished_at=now,
                        unit_stats={"test": (stats.kind, stats.n_units, encode_units(stats.values))},
                    )
    shutil.copyfile(with_units, without_units)
    import sqlite3

    connection = sqlite3.connect(without_units)
    with connection:
        connection.execute("DELETE FROM unit_stats")
    connection.execute("VACUUM")
    connection.close()
    return f"sqlite:///{with_units}", f"sqlite:///{without_units}"


def time_site_builds(board, repeats: int) -> None:
    """Whole site builds (snapshot from the database + board + pages), without and with unit statistics,
    interleaved; prints both medians and the difference."""
    import tempfile

    from glues_bench.site import build_site
    from glues_bench.store import open_store

    def build(url: str, out: Path) -> float:
        start = time.perf_counter()
        with open_store(url) as store:
            snapshot = store.snapshot()
        build_site(snapshot, out)
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="bench-ci-") as scratch:
        root = Path(scratch)
        start = time.perf_counter()
        with_url, without_url = write_store(board, root)
        print(f"site builds: stores written in {time.perf_counter() - start:.1f} s")
        plain, honest = [], []
        for repeat in range(repeats):
            plain.append(build(without_url, root / "plain"))
            honest.append(build(with_url, root / "honest"))
            print(
                f"  repeat {repeat + 1}: without unit statistics {plain[-1]:.2f} s, with {honest[-1]:.2f} s, "
                f"added {honest[-1] - plain[-1]:.2f} s"
            )
        added = [h - p for h, p in zip(honest, plain, strict=True)]
        print(
            f"site build: median {statistics.median(plain):.2f} s without unit statistics, "
            f"{statistics.median(honest):.2f} s with them; CIs add {statistics.median(added):.2f} s "
            f"(median of paired differences, min {min(added):.2f}, max {max(added):.2f})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1000, help="Stored runs on the board in all.")
    parser.add_argument("--seeds", type=int, default=3, help="Runs (seeds) per cell.")
    parser.add_argument("--units", type=int, default=5000, help="Test units per task.")
    parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, help="Bootstrap resamples B.")
    parser.add_argument("--repeats", type=int, default=3, help="How often to repeat the measurement.")
    parser.add_argument(
        "--compare-per-cell",
        action="store_true",
        help="Interleave each repeat with the cell-by-cell computation and print the time ratio.",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="Also time unit extraction on the real test files here."
    )
    parser.add_argument(
        "--site",
        action="store_true",
        help="Also time whole site builds from a store of these runs, without and with unit statistics.",
    )
    args = parser.parse_args(argv)
    if min(args.runs, args.seeds, args.units, args.resamples, args.repeats) < 1:
        print("error: every count must be at least 1", file=sys.stderr)
        return 2
    board = build_board(args.runs, args.seeds, args.units, np.random.default_rng(0))
    n_runs = sum(len(seeds) for models in board.values() for seeds in models.values())
    n_cells = sum(len(models) for models in board.values())
    print(
        f"{n_runs} runs = {n_cells} cells × {args.seeds} seeds over {len(board)} columns, "
        f"{args.units} units each, B = {args.resamples}, numpy {np.__version__}"
    )
    totals, per_cell_totals = [], []
    for repeat in range(args.repeats):
        timings = statistics_pass(board, args.resamples)
        totals.append(sum(timings.values()))
        stages = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in timings.items())
        print(f"  repeat {repeat + 1}: total {totals[-1]:.2f} s ({stages})")
        if args.compare_per_cell:
            per_cell_totals.append(sum(statistics_pass(board, args.resamples, per_cell=True).values()))
            print(f"  repeat {repeat + 1}, cell by cell: total {per_cell_totals[-1]:.2f} s")
    print(
        f"statistics for {n_runs} runs: median {statistics.median(totals):.2f} s "
        f"(min {min(totals):.2f}, max {max(totals):.2f}) over {args.repeats} repeats"
    )
    if per_cell_totals:
        ratios = [slow / fast for slow, fast in zip(per_cell_totals, totals, strict=True)]
        print(
            f"cell by cell: median {statistics.median(per_cell_totals):.2f} s; "
            f"column at once is {statistics.median(ratios):.1f}× faster (median of paired ratios)"
        )
    if args.data_dir is not None:
        print("unit rows from a predictions file (real test files):")
        time_unit_extraction(args.data_dir, args.repeats)
    if args.site:
        time_site_builds(board, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
