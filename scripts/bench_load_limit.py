"""How long `load_split(..., limit=N)` takes against a full load, on the real CoNLL-2002 train file.

Interleaved and repeated; prints the median of each and their ratio. Run it against two checkouts (with
PYTHONPATH pointing at each) to compare before and after a change:

    python scripts/bench_load_limit.py --data-dir ../shared/data --limit 16 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--task", default="ner")
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from glues_bench.data import load_split
    from glues_bench.tasks import get_task

    task = get_task(args.task).resolve()
    timings: dict[str, list[float]] = {"limited": [], "full": []}
    warnings.simplefilter("ignore")
    for _ in range(args.repeats):
        for name, limit in (("limited", args.limit), ("full", None)):
            start = time.perf_counter()
            loaded = load_split(task, args.split, args.data_dir, limit=limit)
            timings[name].append(time.perf_counter() - start)
            assert limit is None or len(loaded.dataset) == limit
    limited, full = (statistics.median(timings[k]) for k in ("limited", "full"))
    print(
        f"{args.task} {args.split}: limit={args.limit} {limited * 1000:.1f} ms, full {full * 1000:.1f} ms "
        f"(median of {args.repeats}); full / limited = {full / limited:.1f}x"
    )


if __name__ == "__main__":
    main()
