"""Re-key stored runs to the current spec hash when a spec change provably did not change their data.

A spec edit that only touches where data comes from (hub ids and kinds, download URLs, official counts,
quirk filters that drop nothing from the local files) changes every task's `spec_hash`, so the runs
already stored stop counting on the leaderboard. This script reloads each done run's three splits from
`--data-dir` with the current loader, exactly as the runner would (the dev-split fallback included, with
the `--train-limit` the runs were made with), and moves the run to the
current spec hash only when all three content fingerprints equal the stored ones. Runs whose data
differs are listed and left alone. Check first that the spec change touched no scoring field (labels,
metrics, sequence lengths, QA scoring): this script cannot see the old spec.

    python scripts/rekey_spec_hash.py --db sqlite:///leaderboard/glues_bench.db --data-dir ../shared/data \
        --train-limit 1500   # the value scripts/train_inhouse.sh runs with
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
    parser.add_argument("--train-limit", type=int, default=None, help="The runs' --train-limit, if any.")
    parser.add_argument("--dry-run", action="store_true", help="Report only; change nothing.")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local data only: never wait on the hub
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from glues_bench.runner import load_task_data
    from glues_bench.tasks import get_task

    warnings.simplefilter("ignore")
    engine = sa.create_engine(args.db)
    with engine.begin() as connection:
        rows = connection.execute(
            sa.text("SELECT id, task, variant, spec_hash, data_fingerprint FROM runs WHERE status = 'done'")
        ).all()
        moved = kept = 0
        for run_id, task_name, variant, old_hash, stored_json in rows:
            task = get_task(task_name).resolve(variant)
            if old_hash == task.spec_hash:
                continue
            data = load_task_data(task, args.data_dir, None, args.train_limit)
            current = {
                "train": data.train.fingerprint,
                "dev": data.dev.fingerprint,
                "test": data.test.fingerprint,
            }
            if current != json.loads(stored_json):
                print(f"run {run_id} ({task_name}/{variant}): data differs, left at {old_hash[:12]}")
                kept += 1
                continue
            print(
                f"run {run_id} ({task_name}/{variant}): same data, {old_hash[:12]} -> {task.spec_hash[:12]}"
            )
            if not args.dry_run:
                connection.execute(
                    sa.text("UPDATE runs SET spec_hash = :new WHERE id = :id"),
                    {"new": task.spec_hash, "id": run_id},
                )
            moved += 1
    print(f"{moved} run(s) re-keyed{' (dry run)' if args.dry_run else ''}, {kept} left alone")
    return 1 if kept else 0


if __name__ == "__main__":
    sys.exit(main())
