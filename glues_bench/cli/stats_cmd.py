"""`glues-bench baselines | backfill-units`: store what the board's statistics need from gold data, so that
the site build stays a pure function of the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glues_bench.cli.app import app
from glues_bench.cli.options import DataDir, DbUrl
from glues_bench.cli.run_cmd import _go_offline
from glues_bench.errors import GluesError


@app.command("baselines")
def baselines(
    tasks: Annotated[
        str | None, typer.Option("--tasks", help="Comma-separated task names or aliases (default: all 8).")
    ] = None,
    data_dir: DataDir = None,
    db: DbUrl = None,
) -> None:
    """Compute each task's data baseline (majority class, all O, most frequent tag per word, empty answer) on
    its whole test split, score it with the task's metrics and store it with its unit statistics. `run`
    does this for the tasks it runs; this command covers the tasks that were not run. Re-storing the same
    baseline is a no-op. Exits 1 when a task's baseline could not be computed (its data is missing)."""
    if data_dir is not None:
        _go_offline()
    from glues_bench.runner import store_baseline
    from glues_bench.store import open_store
    from glues_bench.tasks import parse_task_list

    specs = parse_task_list(tasks)
    if data_dir is not None and not data_dir.is_dir():
        raise GluesError(f"--data-dir {data_dir}: not a directory")
    unavailable = []
    with open_store(db) as store:
        for spec in specs:
            task = spec.resolve()
            stored = store_baseline(store, task, data_dir, echo=lambda line: typer.echo(line, err=True))
            if stored is None:
                unavailable.append(task.name)
            else:
                typer.echo(f"{task.name}: {'stored' if stored else 'unchanged'}")
    if unavailable:
        typer.echo(f"error: no baseline for {', '.join(unavailable)} (data missing)", err=True)
        raise SystemExit(1)  # not typer.Exit: click swallows its code outside standalone mode


@app.command("backfill-units")
def backfill_units(
    data_dir: DataDir = None,
    db: DbUrl = None,
    root: Annotated[
        Path, typer.Option("--root", help="Folder that the stored (relative) predictions paths start from.")
    ] = Path("."),
) -> None:
    """Recompute the per-unit statistics of runs stored before the runner kept them, from each run's
    predictions file and the gold data, so that their cells get confidence intervals. A predictions file
    that changed since it was stored, or gold data whose fingerprint differs from the run's, is skipped and
    named."""
    if data_dir is not None:
        _go_offline()
    from glues_bench.runner import backfill_unit_stats
    from glues_bench.store import open_store

    with open_store(db, create=False) as store:
        summary = backfill_unit_stats(store, data_dir, root)
    print(
        f"unit statistics: {summary.stored} stored, {summary.present} already there, "
        f"{len(summary.skipped)} skipped"
    )
