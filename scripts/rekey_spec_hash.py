"""Re-key stored runs to the current spec hash when a spec change provably did not change their data.

A spec edit that only touches where data comes from (hub ids and kinds, download URLs, official counts,
quirk filters that drop nothing from the local files) changes every task's `spec_hash`, so the runs
already stored stop counting on the leaderboard. This script reloads each done run's three splits from
`--data-dir` with the current loader, exactly as the runner would (the dev-split fallback included, with
the `--limit` and `--train-limit` each run recorded), and moves the run to the current spec hash only when
all three content fingerprints equal the stored ones. Runs whose data differs, or whose new key another
run already holds, are listed and left alone. Check first that the spec change touched no scoring field
(labels, metrics, sequence lengths, QA scoring): this script cannot see the old spec. Baselines are keyed
by spec hash too: rerun `glues-bench baselines` afterwards (the script says so when it moved a run).

    python scripts/rekey_spec_hash.py --db sqlite:///leaderboard/glues_bench.db --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import sqlalchemy as sa


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of the results database.")
    parser.add_argument("--data-dir", type=Path, required=True, help="The data the runs were trained on.")
    parser.add_argument("--dry-run", action="store_true", help="Report only; change nothing.")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local data only: never wait on the hub
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from glues_bench.runner import load_task_data
    from glues_bench.tasks import get_task

    warnings.simplefilter("ignore")
    engine = sa.create_engine(args.db)
    fingerprints: dict[tuple, dict[str, str]] = {}  # the data of one (task, variant, limits), loaded once
    with engine.begin() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT id, task, variant, spec_hash, data_fingerprint, details FROM runs "
                "WHERE status = 'done'"
            )
        ).all()
        moved = kept = 0
        for run_id, task_name, variant, old_hash, stored, details in rows:
            task = get_task(task_name).resolve(variant)
            if old_hash == task.spec_hash:
                continue
            details = _json(details) or {}
            key = (task_name, variant, details.get("limit"), details.get("train_limit"))
            if key not in fingerprints:
                data = load_task_data(task, args.data_dir, key[2], key[3])
                fingerprints[key] = {
                    split: getattr(data, split).fingerprint for split in ("train", "dev", "test")
                }
            if fingerprints[key] != _json(stored):
                print(f"run {run_id} ({task_name}/{variant}): data differs, left at {old_hash[:12]}")
                kept += 1
                continue
            if not args.dry_run:
                try:
                    with connection.begin_nested():  # a savepoint: one collision must not undo the others
                        connection.execute(
                            sa.text("UPDATE runs SET spec_hash = :new WHERE id = :id"),
                            {"new": task.spec_hash, "id": run_id},
                        )
                except sa.exc.IntegrityError:
                    print(f"run {run_id} ({task_name}/{variant}): another run holds its new key, left alone")
                    kept += 1
                    continue
            print(
                f"run {run_id} ({task_name}/{variant}): same data, {old_hash[:12]} -> {task.spec_hash[:12]}"
            )
            moved += 1
    print(f"{moved} run(s) re-keyed{' (dry run)' if args.dry_run else ''}, {kept} left alone")
    if moved and not args.dry_run:
        print("baselines are keyed by spec hash as well: rerun `glues-bench baselines` on this database")
    return 1 if kept else 0


def _json(value):
    """A JSON column as SQLite returns it (text) or PostgreSQL does (already decoded)."""
    return json.loads(value) if isinstance(value, str) else value


if __name__ == "__main__":
    sys.exit(main())
