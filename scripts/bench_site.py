"""Time the results side at scale: `build-site`, a rebuild with nothing changed, `leaderboard --json` and
`glues-bench --help`, on synthetic stores of 100 / 1,000 / 10,000 runs (by default).

Each store holds the paper's reported rows plus `--models` measured models; their runs are spread over
the eight tasks as a grid of configs × seeds (dev and test metrics, one predictions file per run for a
tenth of them, a few failed runs), written with bulk inserts so that making the store is cheap. The
build is timed in this process (wall and CPU); `leaderboard --json` and `--help` in a fresh interpreter,
as a user runs them (wall, imports included). Each timing is repeated `--repeats` times, interleaved
over sizes, and the median is printed with the range. Output size counts every file the build wrote.

Example: python scripts/bench_site.py --sizes 100 1000 10000 --repeats 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select

from glues_bench.store import open_store
from glues_bench.store.models import MetricValue, PredictionArtifact, Run, Submission
from glues_bench.tasks import TASK_ORDER, get_task

REPO = Path(__file__).resolve().parents[1]
REPORTED = REPO / "leaderboard" / "reported_results.yaml"
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
SEEDS = 5


def make_store(db_path: Path, n_runs: int, n_models: int, predictions_dir: Path) -> str:
    """A store of `n_runs` runs over `n_models` measured models × 8 tasks; returns its URL."""
    url = f"sqlite:///{db_path}"
    store = open_store(url)
    store.import_reported(REPORTED, now=T0)
    for m in range(n_models):
        store.upsert_submission(
            f"model {m:03d}", origin="external", family="synthetic", checkpoint_sha256=f"{m:064x}",
            params_total=5_000_000 * (m + 1), now=T0,
        )  # fmt: skip
    predictions_dir.mkdir(parents=True, exist_ok=True)
    with store.session() as session:
        ids = {name: id_ for name, id_ in session.execute(select(Submission.name, Submission.id))}
    resolved = {t: get_task(t).resolve() for t in TASK_ORDER}
    runs, metrics, predictions = [], [], []
    cells = n_models * len(TASK_ORDER)
    for i in range(n_runs):
        cell, index = i % cells, i // cells
        model, task = divmod(cell, len(TASK_ORDER))
        model_name, task_name = f"model {model:03d}", TASK_ORDER[task]
        spec = resolved[task_name]
        config, seed = divmod(index, SEEDS)
        hparams = {"learning_rate": 1e-5 * (config + 1), "batch_size": 16}
        run_id = i + 1
        failed = i % 97 == 0
        start = T0 + timedelta(seconds=i)
        runs.append({
            "id": run_id, "submission_id": ids[model_name], "checkpoint_sha256": f"{model:064x}",
            "task": task_name, "variant": spec.variant, "spec_version": spec.spec.version,
            "spec_hash": spec.spec_hash, "data_fingerprint": {"dev": "d" * 64, "test": "e" * 64},
            "data_fingerprint_hash": "f" * 64, "hparams": hparams,
            "hparams_hash": hashlib.sha256(repr(sorted(hparams.items())).encode()).hexdigest()[:16],
            "seed": seed + 1, "status": "failed" if failed else "done",
            "error": "Traceback: synthetic failure" if failed else None, "attempt": 1, "started_at": start,
            "finished_at": start + timedelta(seconds=30), "duration_s": 30.0,
            "durations": {"train": 25.0, "eval": 5.0}, "library_versions": {"torch": "2.x"},
            "harness_version": "bench", "harness_git_sha": None, "device": "cpu", "host": "bench",
            "pid": 1, "selection_rule": "bench", "details": {"train_examples": 1000},
        })  # fmt: skip
        if failed:
            continue
        quality = 60.0 + model * 0.5 + (config % 7) + seed * 0.1
        for split, value in (("dev", quality), ("test", quality - 1.0)):
            for metric in spec.spec.score_metrics:
                metrics.append({"run_id": run_id, "split": split, "name": metric, "value": value})
        if i % 10 == 0:
            path = predictions_dir / f"run{run_id}.test.json"
            path.write_text("{}", encoding="utf-8")
            predictions.append({"run_id": run_id, "split": "test", "path": str(path), "sha256": "0" * 64})
    with store.engine.begin() as connection:
        connection.execute(insert(Run.__table__), runs)
        if metrics:
            connection.execute(insert(MetricValue.__table__), metrics)
        if predictions:
            connection.execute(insert(PredictionArtifact.__table__), predictions)
    store.close()
    return url


def _tree_size(folder: Path) -> tuple[int, int, dict[str, int]]:
    """(files, bytes, bytes per part: each top-level folder, and the files at the top) of a built site."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    parts: dict[str, int] = {}
    for path in files:
        relative = path.relative_to(folder).parts
        part = f"{relative[0]}/" if len(relative) > 1 else "top level"
        parts[part] = parts.get(part, 0) + path.stat().st_size
    return len(files), sum(parts.values()), parts


def time_build(url: str, out: Path) -> tuple[float, float]:
    """(wall s, CPU s) of reading the store and building the site into `out`."""
    from glues_bench.site import build_site

    wall, cpu = time.perf_counter(), time.process_time()
    with open_store(url) as store:
        snapshot = store.snapshot()
    build_site(snapshot, out)
    return time.perf_counter() - wall, time.process_time() - cpu


def time_command(args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of `glues-bench ARGS` in a fresh interpreter (CPU: user + system of the child, which
    a busy shared machine inflates less than wall time)."""
    code = "import sys; from glues_bench.cli import main; sys.exit(main(sys.argv[1:]))"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000])
    parser.add_argument("--models", type=int, default=10, help="measured models (runs spread over them)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the stores and sites in this folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_site_")) if args.keep is None else args.keep
    root.mkdir(parents=True, exist_ok=True)
    urls = {}
    for n in args.sizes:
        start = time.perf_counter()
        urls[n] = make_store(root / f"runs{n}.db", n, args.models, root / f"predictions{n}")
        print(
            f"store of {n} runs ({args.models} measured models) made in {time.perf_counter() - start:.1f} s"
        )
    results: dict[int, dict[str, list[float]]] = {n: {} for n in args.sizes}
    sizes: dict[int, tuple[int, int, dict[str, int]]] = {}
    for repeat in range(args.repeats):
        for n in args.sizes:  # interleaved, so a busy moment of the machine spreads over every size
            out = root / f"site{n}"
            shutil.rmtree(out, ignore_errors=True)
            wall, cpu = time_build(urls[n], out)
            results[n].setdefault("build (fresh) wall", []).append(wall)
            results[n].setdefault("build (fresh) CPU", []).append(cpu)
            sizes[n] = _tree_size(out)
            wall, cpu = time_build(urls[n], out)
            results[n].setdefault("rebuild (unchanged) wall", []).append(wall)
            for name, command in (
                ("leaderboard --json", ["leaderboard", "--json", "--db", urls[n]]),
                ("glues-bench --help", ["--help"]),
            ):
                wall, cpu = time_command(command)
                results[n].setdefault(f"{name} wall", []).append(wall)
                results[n].setdefault(f"{name} CPU", []).append(cpu)
        print(f"repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)
    load = os.getloadavg()[0]
    print(f"\n{os.cpu_count()} CPUs, load average {load:.1f}; medians (min-max) over {args.repeats} repeats")
    for n in args.sizes:
        files, size, parts = sizes[n]
        biggest = ", ".join(f"{k} {v / 1e6:.2f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
        print(f"\n{n} runs: site {files} files, {size / 1e6:.2f} MB ({biggest})")
        for name, values in results[n].items():
            print(f"  {name:28s} {_fmt(values)}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
