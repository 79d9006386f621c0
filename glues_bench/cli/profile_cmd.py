"""`glues-bench profile MODEL`: measure a registered model's speed and memory on one device and store it."""

from __future__ import annotations

import typer

from glues_bench.cli.app import app
from glues_bench.cli.options import DEFAULT_SUBMISSIONS_DIR, DataDir, DbUrl, Device, SubmissionsDir, Threads


@app.command("profile")
def profile(
    model: str = typer.Argument(
        ..., metavar="MODEL", help="A registered model name (a manifest in --submissions-dir)."
    ),
    device: Device = "cpu",
    threads: Threads = None,
    data_dir: DataDir = None,
    tasks: str = typer.Option(
        None,
        "--tasks",
        help="Comma-separated tasks (default: every task whose test split is available, skipping the rest).",
    ),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Timed repetitions of every measurement."),
    sample: int = typer.Option(64, "--sample", min=1, help="Test examples drawn per task (seeded)."),
    batch1_sample: int = typer.Option(
        16, "--batch1-sample", min=1, help="Of those, how many are timed one at a time."
    ),
    train_steps: int = typer.Option(
        3, "--train-steps", min=0, help="Fine-tuning steps timed per repeat (0: skip fine-tuning)."
    ),
    db: DbUrl = None,
    submissions_dir: SubmissionsDir = DEFAULT_SUBMISSIONS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print the stored profile as JSON."),
) -> None:
    """Measure what MODEL costs to run on this device and store it in the results database.

    On each task's real test inputs (a seeded sample of the test split, encoded and truncated exactly as
    evaluation does) it measures inference throughput at batch 1 and at the eval batch size (examples/s
    and tokens/s), latency p50/p95 at batch 1, peak memory (RSS on CPU, CUDA's max allocated on GPU), the
    weights' size on disk, and fine-tuning examples/s over a few optimiser steps. Warm-up is excluded;
    each figure is the median of --repeats runs, with its min-max.

    The profile is stored under the weights' sha256 and the device description (which includes the thread
    count on CPU): profiling on another device adds a profile, profiling again on the same one replaces
    it. The default sizes take a few seconds per task for a small model on 2 CPU cores; raise --repeats
    and --sample for steadier figures.
    """
    import json
    import os
    from dataclasses import asdict

    if data_dir is not None:  # local data: never wait on hub retries for splits that are not there
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    from transformers.utils import logging as hf_logging

    from glues_bench.data import DataUnavailable, load_split
    from glues_bench.errors import DataError, GluesError, UnknownName
    from glues_bench.profile import ProfileOptions, profile_model
    from glues_bench.provenance import resolve_device
    from glues_bench.store import open_store
    from glues_bench.submissions import check_local_files, load_submissions, verify_weights
    from glues_bench.tasks import parse_task_list

    device = resolve_device(device)  # a bad --device or a missing GPU fails before any work
    if data_dir is not None and not data_dir.is_dir():
        raise GluesError(f"--data-dir {data_dir}: not a directory")
    available = load_submissions(submissions_dir, check_files=False)
    if model not in available:
        raise UnknownName("model", model, available)
    submission = available[model]
    check_local_files(submission, f"submission {model}")
    verify_weights(submission)  # the profile is keyed by the weights' sha256: it must be this file's
    specs = parse_task_list(tasks)
    splits, skipped = [], []
    for spec in specs:
        task = spec.resolve()
        try:
            splits.append((task, load_split(task, "test", data_dir).dataset))
        except DataUnavailable as exc:
            if tasks:  # named explicitly: missing test data is an error
                raise DataError(f"task {task.name}: no test data ({exc})") from exc
            skipped.append(task.name)
    if not splits:
        where = f"in {data_dir}" if data_dir is not None else "on the hub"
        raise DataError(f"no test data for any task {where}: nothing to profile {model} on")
    if skipped:
        print(f"skipping (no test data): {', '.join(skipped)}")
    store = open_store(db)  # opened (and migrated) before measuring: a bad --db fails fast
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    options = ProfileOptions(
        device=device,
        threads=threads,
        repeats=repeats,
        sample=sample,
        batch1_sample=batch1_sample,
        train_steps=train_steps,
    )
    measured = profile_model(submission, splits, options)
    with store:
        store.upsert_submission(**submission.store_fields())
        record = store.put_profile(measured, submission=model)
    if as_json:
        print(json.dumps(asdict(record), default=str, indent=2, ensure_ascii=False))
        return
    print_profile(record)


def print_profile(record) -> None:
    mib = 2**20
    size = f"{record.weights_bytes / mib:.1f} MiB" if record.weights_bytes is not None else "unknown"
    print(
        f"\n{record.submission} on {record.device} (weights {size}, {record.repeats} repeats, "
        "median [min-max])"
    )
    header = (
        f"{'task':<8}{'tokens':>7}{'b1 ex/s':>18}{'p50 ms':>9}{'p95 ms':>9}{'batch ex/s':>20}"
        f"{'batch tok/s':>13}{'train ex/s':>18}{'peak MiB':>10}"
    )
    print(header)
    for t in record.tasks:
        train = _spread(t.train_examples_per_s) if t.train_examples_per_s else "-"
        print(
            f"{t.task:<8}{t.mean_tokens:>7.0f}{_spread(t.batch1_examples_per_s):>18}"
            f"{t.latency_p50_ms.median:>9.1f}{t.latency_p95_ms.median:>9.1f}"
            f"{_spread(t.batch_examples_per_s):>20}{t.batch_tokens_per_s.median:>13.0f}{train:>18}"
            f"{t.inference_peak_memory_bytes / mib:>10.0f}"
        )
    print(f"stored as profile {record.id} (checkpoint {record.checkpoint_sha256[:12]}, {record.memory_kind})")


def _spread(spread) -> str:
    return f"{spread.median:.1f} [{spread.low:.0f}-{spread.high:.0f}]"
