"""`glues-bench run`: fine-tune registered models over the task grid, select on dev, score test, store."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from glues_bench.cli.app import app
from glues_bench.cli.options import DEFAULT_SUBMISSIONS_DIR, DataDir, DbUrl, Device, SubmissionsDir, Threads


@app.command("run")
def run(
    models: str = typer.Option(None, "--models", help="Comma-separated registered names (default: all)."),
    tasks: str = typer.Option(None, "--tasks", help="Comma-separated task names/aliases (default: all 8)."),
    grid: str = typer.Option(
        "quick", "--grid", help="paper (paper-large for models marked large), quick, or a grid YAML file."
    ),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Seeds per config (42, 43, ...)."),
    limit: int = typer.Option(
        None, "--limit", min=1, help="Keep the first N examples per split (smoke tests)."
    ),
    train_limit: int = typer.Option(
        None, "--train-limit", min=1, help="Keep the first N training examples (dev and test stay whole)."
    ),
    data_dir: DataDir = None,
    db: DbUrl = None,
    device: Device = "auto",
    overwrite: str = typer.Option(
        "only-missing",
        "--overwrite",
        help="never: keep any existing run; only-missing: redo failed/interrupted runs; always: redo all.",
    ),
    variant: list[str] = typer.Option(
        [], "--variant", help="TASK=VARIANT, e.g. pos=ancora or mlqa=squad-en (repeatable)."
    ),
    submissions_dir: SubmissionsDir = DEFAULT_SUBMISSIONS_DIR,
    artifacts_dir: Path = typer.Option(
        Path("results/predictions"), "--artifacts-dir", help="Where per-run predictions are written."
    ),
    executor: str = typer.Option(
        "local",
        "--executor",
        help="local (default): jobs on this machine, one at a time or --jobs N at once; ray: one Ray task "
        "per job on a Ray cluster (needs the `ray` extra), see --ray-address.",
    ),
    jobs: int = typer.Option(
        1,
        "--jobs",
        min=1,
        help="With --executor local, run this many jobs at once in worker processes (e.g. one per GPU; each "
        "gets cores ÷ N torch threads unless --threads says otherwise).",
    ),
    ray_address: str = typer.Option(
        None,
        "--ray-address",
        help="Ray cluster to join: `auto` (the cluster this node belongs to) or ray://HOST:PORT. "
        "Default: start a private local Ray instance.",
    ),
    cpus_per_job: float = typer.Option(
        1.0,
        "--cpus-per-job",
        min=0.01,
        help="With --executor ray, CPUs each job reserves; it also trains with that many torch threads.",
    ),
    gpus_per_job: float = typer.Option(
        0.0,
        "--gpus-per-job",
        min=0.0,
        help="With --executor ray, GPUs each job reserves (1: one GPU per job, which it sees as cuda:0).",
    ),
    max_device_batch: int = typer.Option(
        None,
        "--max-device-batch",
        min=1,
        help="Largest batch put through the model at once. A grid batch size above it is trained as "
        "micro-batches with gradient accumulation to the same effective batch (recorded with the run); "
        "on CUDA out-of-memory a job retries once with half the micro-batch.",
    ),
    lease_seconds: float = typer.Option(
        60.0,
        "--lease-seconds",
        min=1.0,
        help="How long this process's claim on a running job holds without renewal (it renews every third "
        "of it). Another `run` reclaims the jobs of a process that died once its lease has expired.",
    ),
    threads: Threads = None,
    hub: bool = typer.Option(
        None,
        "--hub/--no-hub",
        help="Fall back to the HF hub for splits missing locally (default: only when --data-dir is omitted).",
    ),
    progress: bool = typer.Option(
        None, "--progress/--no-progress", help="Show progress bars (default: only when stderr is a terminal)."
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Skip a task whose split row counts differ from the official counts in its spec (default: "
        "warn and record the difference with the run).",
    ),
) -> None:
    """Fine-tune each model on each task over the grid; every run is stored with its provenance.

    Every config × seed trains on train and is scored on dev and test; the leaderboard reports the test score
    of the config with the best mean dev score. Runs already done are skipped.

    Several `run` processes may share one database (on one machine, or on many against PostgreSQL): each
    job is claimed with a lease, a job another live process holds is skipped, and the jobs of a process
    that died are redone once its lease has expired (see `glues-bench runs list`).

    Exit status: 0 when every requested run is done; 1 when any run failed or a task could not start (no
    data, a data file that does not parse), each reason listed on stderr; 2 on bad input, before anything
    is stored.
    """
    if hub is False or (hub is None and data_dir is not None):
        _go_offline()  # before `datasets` is imported: no 25 s network retries for splits we do not have
    from transformers.utils import logging as hf_logging

    from glues_bench.cli.summary import print_run_summary
    from glues_bench.errors import GluesError
    from glues_bench.executor import make_executor
    from glues_bench.runner import RunOptions, run_benchmark
    from glues_bench.store import open_store
    from glues_bench.submissions import load_submissions
    from glues_bench.tasks import parse_task_list

    if overwrite not in ("never", "only-missing", "always"):
        raise GluesError(f"--overwrite {overwrite!r}: expected never, only-missing or always")
    if executor not in ("local", "ray"):
        raise GluesError(f"--executor {executor!r}: expected local or ray")
    if executor != "ray" and (ray_address is not None or gpus_per_job or cpus_per_job != 1.0):
        raise GluesError("--ray-address, --cpus-per-job and --gpus-per-job need --executor ray")
    if executor == "ray" and jobs != 1:
        raise GluesError("--jobs is for --executor local; Ray runs as many jobs as the cluster fits")
    if executor == "ray" and gpus_per_job > 0 and device == "auto":
        device = "cuda"  # the workers have the GPUs, not necessarily this driver
    if data_dir is not None and not data_dir.is_dir():
        raise GluesError(f"--data-dir {data_dir}: not a directory")
    variants = {}
    for item in variant:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise GluesError(f"--variant {item!r}: expected TASK=VARIANT")
        variants[_canonical(name)] = value
    specs = parse_task_list(tasks)
    running = {spec.name for spec in specs}
    for name, value in variants.items():  # a variant for a task not being run is a typo, not a no-op
        if name not in running:
            raise GluesError(
                f"--variant {name}={value}: task {name} is not being run (--tasks {tasks or 'all'})"
            )
    for spec in specs:
        spec.resolve(variants.get(spec.name))  # an unknown variant fails here, before the store is opened
    available = load_submissions(submissions_dir, check_files=False)
    if not available:
        raise GluesError(f"no submissions in {submissions_dir}/: register one with `glues-bench register`")
    chosen = _pick(available, models)
    if not models:  # by default, skip models whose local checkpoint is not on this machine, and say so
        chosen = [sub for sub in chosen if _checkpoint_present(sub)]
        if not chosen:
            raise GluesError(f"none of the models in {submissions_dir}/ has its checkpoint on this machine")
    from glues_bench.runner import resolve_grid

    for spec in specs:  # a bad --grid fails before the store is opened or created
        for submission in chosen:
            resolve_grid(grid, spec, getattr(submission, "large", False))
    if progress is None:
        progress = sys.stderr.isatty()  # piped to a file: no bars
    options = RunOptions(
        grid=grid,
        seeds=seeds,
        limit=limit,
        train_limit=train_limit,
        data_dir=data_dir,
        device=device,
        overwrite=overwrite,  # type: ignore[arg-type]
        artifacts_dir=artifacts_dir,
        variants=variants,
        progress=progress,
        threads=threads,
        max_device_batch=max_device_batch,
        lease_seconds=lease_seconds,
        hub=hub if hub is not None else data_dir is None,
        strict=strict,
    )
    hf_logging.set_verbosity_error()  # the per-run "newly initialised head" report is expected
    hf_logging.disable_progress_bar()
    from glues_bench.provenance import resolve_device

    if executor != "ray":  # a Ray driver need not have the GPUs its workers have
        resolve_device(device)  # --device cuda without a GPU fails before the store is opened
    runner = make_executor(
        executor,
        jobs=jobs,
        threads=threads,
        ray_address=ray_address,
        cpus_per_job=cpus_per_job,
        gpus_per_job=gpus_per_job,
    )
    with open_store(db) as store:
        summaries = run_benchmark(store, chosen, specs, options, executor=runner)
    print_run_summary(summaries)
    code = exit_status(summaries)
    if code:
        raise typer.Exit(code)


def exit_status(summaries: list) -> int:
    """0 when every requested run is done; else list why on stderr (one line per problem) and return 1."""
    incomplete = [s for s in summaries if not s.complete]
    if not incomplete and summaries:
        return 0
    for summary in incomplete:
        for problem in summary.problems:
            print(f"{summary.submission} × {summary.task}[{summary.variant}]: {problem}", file=sys.stderr)
    print(
        f"error: {len(incomplete)} of {len(summaries)} model × task pairs did not complete (reasons above)"
        if summaries
        else "error: nothing to run",
        file=sys.stderr,
    )
    return 1


def _go_offline() -> None:
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"


def _canonical(task_name: str) -> str:
    from glues_bench.tasks import get_task

    return get_task(task_name).name


def _checkpoint_present(submission) -> bool:
    from glues_bench.submissions import CheckpointNotFound, check_local_files

    try:
        check_local_files(submission, f"submission {submission.name}")
    except CheckpointNotFound as exc:
        print(f"skipping {submission.name}: {exc}")
        return False
    return True


def _pick(available: dict, names: str | None) -> list:
    from glues_bench.errors import UnknownName

    if not names:
        return list(available.values())
    picked = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in available:
            raise UnknownName("model", name, available)
        picked.append(available[name])
    from glues_bench.submissions import check_local_files

    for submission in picked:  # named explicitly: a missing checkpoint is an error
        check_local_files(submission, f"submission {submission.name}")
    return picked
