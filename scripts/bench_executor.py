"""Per-job overhead of the Ray executor against the local one, on the same tiny grid and database kind.

Each repetition runs the whole grid once with each executor into a fresh SQLite DB, interleaved (local,
ray, local, ray, ...) so a change in machine load hits both alike. The Ray executor runs one job at a
time (`max_in_flight=1`, 1 CPU per job) so the comparison is overhead, not parallelism: task submission,
the object store (task data put once), the worker's process and imports, returning predictions to the
driver. Prints the median wall time per job of each, their ratio, and the per-job difference in seconds.
Ray's start-up (`ray.init`) is timed once and reported apart. Offline: a tiny random ALBERT, demo data.

    python scripts/bench_executor.py                  # 4 jobs (2 configs × 2 seeds) × 3 repetitions
    python scripts/bench_executor.py --repeats 5 --limit 64
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

DEMO_DATA = Path(__file__).resolve().parents[1] / "glues_bench" / "demo_data"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="pawsx")
    parser.add_argument("--limit", type=int, default=16, help="examples per split (tiny: overhead dominates)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()

    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import ray
    import torch

    from glues_bench.executor import LocalExecutor, RayExecutor
    from glues_bench.runner import RunOptions, run_benchmark
    from glues_bench.store import open_store
    from glues_bench.submissions import RegisterRequest, register_checkpoint
    from glues_bench.tasks import get_task
    from glues_bench.train import build_tiny_checkpoint

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="bench-executor-"))
    texts = (DEMO_DATA / "pawsx" / "translated_train.tsv").read_text(encoding="utf-8").splitlines()
    checkpoint = build_tiny_checkpoint(work / "tiny", texts, "albert", vocab_size=600)
    submission, _ = register_checkpoint(
        RegisterRequest(source=str(checkpoint), name="bench-tiny", family="ALBERT", origin="in-house"),
        work / "submissions",
    )
    grid = work / "grid.yaml"
    grid.write_text(yaml.safe_dump({"batch_sizes": [16], "learning_rates": [1e-3, 5e-4], "epochs": [1]}))

    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    ray_start_s = time.perf_counter() - started

    def one_grid(name: str, executor, rep: int) -> tuple[float, int]:
        store = open_store(f"sqlite:///{work / f'{name}-{rep}.db'}")
        options = RunOptions(
            grid=str(grid), seeds=args.seeds, limit=args.limit, data_dir=DEMO_DATA, device="cpu",
            artifacts_dir=work / f"p-{name}-{rep}", progress=False, threads=1,
        )  # fmt: skip
        started = time.perf_counter()
        [summary] = run_benchmark(
            store, [submission], [get_task(args.task)], options, executor=executor, echo=lambda _: None
        )
        elapsed = time.perf_counter() - started
        store.close()
        if summary.failed or summary.ran != summary.n_jobs:
            raise SystemExit(f"{name}: {summary}")
        return elapsed, summary.ran

    per_job: dict[str, list[float]] = {"local": [], "ray": []}
    one_grid("warmup", LocalExecutor(), 0)  # imports and first-use caches, for neither side's account
    for rep in range(args.repeats):
        for name, executor in (("local", LocalExecutor()), ("ray", RayExecutor(max_in_flight=1))):
            elapsed, jobs = one_grid(name, executor, rep)
            per_job[name].append(elapsed / jobs)
    ray.shutdown()

    local, remote = statistics.median(per_job["local"]), statistics.median(per_job["ray"])
    print(f"grid: {args.task}, {jobs} jobs per repetition (limit {args.limit}), {args.repeats} repetitions")
    print(f"ray.init (once, not counted): {ray_start_s:.2f} s")
    print("per-job wall time, s: local " + " ".join(f"{t:.3f}" for t in per_job["local"]))
    print("per-job wall time, s: ray   " + " ".join(f"{t:.3f}" for t in per_job["ray"]))
    print(f"median per job: local {local:.3f} s, ray {remote:.3f} s")
    print(f"ray / local per-job ratio: {remote / local:.2f}× (ray overhead {remote - local:+.3f} s per job)")


if __name__ == "__main__":
    main()
