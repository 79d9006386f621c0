"""`glues-bench run`: for each model × task, fine-tune every grid config × seed, score dev and test, store.

Reading order follows running order: plan the task's data and jobs → skip what is already done → run the
rest through the executor → store each finished run in one transaction → summarise the dev selection.
Selection is the task's own dev score (mean over seeds); the ALBETO code picked by lowest dev loss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from glues_bench.errors import DataError, GluesError
from glues_bench.executor import Executor, Job, JobOutcome, LocalExecutor
from glues_bench.tasks.spec import Grid, ResolvedTask, TaskSpec

if TYPE_CHECKING:
    from glues_bench.board import TaskResult

log = logging.getLogger(__name__)

Overwrite = Literal["never", "only-missing", "always"]
DEFAULT_SEED = 42  # the ALBETO code's seed; further seeds count up from it


@dataclass(frozen=True)
class RunOptions:
    grid: str = "quick"
    seeds: int = 1
    limit: int | None = None
    train_limit: int | None = None  # cap on training examples only (dev and test stay whole)
    data_dir: Path | None = None
    device: str = "cpu"
    overwrite: Overwrite = "only-missing"
    artifacts_dir: Path = Path("results/predictions")
    variants: dict[str, str] = field(default_factory=dict)
    progress: bool = True
    threads: int | None = None  # torch CPU threads; None keeps torch's default (one per core)
    max_device_batch: int | None = None  # micro-batch cap: larger batches accumulate gradients
    lease_seconds: float = 60.0  # a claim's lease; this process renews it every third of that
    hub: bool = True  # fall back to the hub for splits missing locally (run: only without --data-dir)
    strict: bool = False  # official row-count drift is an error (the task is skipped), not a warning


@dataclass(frozen=True)
class TaskData:
    """The three splits of one task, with where they came from."""

    train: object  # LoadedSplit (kept untyped here to avoid importing `datasets` at CLI start-up)
    dev: object
    test: object
    train_note: str = ""
    dev_rows: str | None = None  # `cut:` when dev was split: the gold rows dev was scored on (`score --rows`)


@dataclass
class TaskSummary:
    submission: str
    task: str
    variant: str
    n_jobs: int = 0
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    busy: int = 0
    """Jobs skipped because another live process holds them (counted in `skipped` too; not an error)."""
    note: str = ""
    best: TaskResult | None = None  # the dev-selected config, as the leaderboard selects it
    problems: list[str] = field(default_factory=list)  # why work could not start or failed, one line each
    seconds: float = 0.0  # wall time spent on this task (loading, training, scoring)

    @property
    def complete(self) -> bool:
        """Every requested run is done (ran now or earlier): what `run`'s exit status reports."""
        return not self.problems


def seeds_for(n: int) -> list[int]:
    if n < 1:
        raise GluesError(f"--seeds {n}: need at least one seed")
    return [DEFAULT_SEED + i for i in range(n)]


def resolve_grid(grid: str, spec: TaskSpec, large: bool) -> Grid:
    """`paper` (→ `paper-large` for large models), `quick`, any grid the spec names, or a YAML file."""
    name = "paper-large" if grid == "paper" and large else grid
    if name in spec.grids:
        return spec.grids[name]
    path = Path(grid)
    if path.suffix in (".yaml", ".yml", ".json") and path.exists():
        import yaml
        from pydantic import ValidationError

        try:
            return Grid.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            raise GluesError(f"--grid {grid}: not valid YAML ({exc.__class__.__name__})") from exc
        except ValidationError as exc:
            raise GluesError(f"--grid {grid}: {_first_validation_error(exc)}") from exc
    raise GluesError(f"--grid {grid!r}: expected one of {', '.join(spec.grids)} or an existing YAML file")


def _first_validation_error(exc) -> str:
    """`learning_rate.1: Input should be greater than 0 (got -0.001)`: the field, what is wrong, the value."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "the file"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']} (got {error['input']!r}){more}"


def load_task_data(
    task: ResolvedTask,
    data_dir: Path | None,
    limit: int | None,
    train_limit: int | None = None,
    strict: bool = False,
    *,
    hub: bool = True,
) -> TaskData:
    """Load train/dev/test. With no train split available, split dev into train and dev and say so.

    `limit` caps every split; `train_limit`, when given, caps train instead (it wins over `limit`, larger
    or smaller), so `--limit 300 --train-limit 600` trains on 600 and scores 300 dev and test examples.
    """
    from glues_bench.data import DataUnavailable, load_split
    from glues_bench.data.split import first, split_dev

    def load(split: str, cap: int | None):
        return load_split(task, split, data_dir, limit=cap, strict=strict, hub_fallback=hub)

    dev = load("dev", limit)
    test = load("test", limit)
    train_cap = train_limit if train_limit is not None else limit
    try:
        return TaskData(load("train", train_cap), dev, test)
    except DataUnavailable:
        train_part, dev_part = split_dev(dev)
        dev_rows = f"{len(train_part.dataset)}:"
        if train_cap is not None:
            train_part = first(train_part, train_cap)
        note = (
            f"no train split available: trained on {len(train_part.dataset)} and selected on "
            f"{len(dev_part.dataset)} examples of the dev split (a smoke test, not comparable to the paper)"
        )
        return TaskData(train_part, dev_part, test, train_note=note, dev_rows=dev_rows)


def limits_note(data: TaskData, limit: int | None, train_limit: int | None) -> str:
    """What `--limit`/`--train-limit` left of each split: `train 600 (--train-limit), dev 300 and test 300`"""
    if limit is None and train_limit is None:
        return ""
    train_flag = "--train-limit" if train_limit is not None else "--limit"
    sizes = {name: len(getattr(data, name).dataset) for name in ("train", "dev", "test")}
    dev_flag = "--limit" if limit is not None else "whole"
    return f"train {sizes['train']} ({train_flag}), dev {sizes['dev']} and test {sizes['test']} ({dev_flag})"


def predictions_payload(predictions: dict) -> bytes:
    """Predictions in `glues-bench score` format: sorted keys, UTF-8 JSON."""
    return json.dumps(predictions, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")


def write_predictions(path: Path, predictions: dict | bytes) -> str:
    """Write predictions (a dict, or a payload from `predictions_payload`) and return their sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = predictions if isinstance(predictions, bytes) else predictions_payload(predictions)
    tmp = path.with_suffix(TMP_SUFFIX)
    tmp.write_bytes(payload)
    tmp.replace(path)  # atomic: a killed run never leaves a half-written predictions file
    return hashlib.sha256(payload).hexdigest()


TMP_SUFFIX = ".tmp"  # `dev.predictions.json` is written as `dev.predictions.tmp`, then renamed


def remove_stale_tmp_files(artifacts_dir: Path, older_than_s: float) -> list[Path]:
    """Delete `*.predictions.tmp` left by a process killed between write and rename; return them.

    Only files older than `older_than_s` (a lease): a live writer renames its file within milliseconds,
    so a cooperating process's write in progress is never touched.
    """
    if not artifacts_dir.is_dir():
        return []
    cutoff = time.time() - older_than_s
    removed = []
    for tmp in sorted(artifacts_dir.rglob(f"*.predictions{TMP_SUFFIX}")):
        try:
            if tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:  # another process cleaned it first
            continue
    return removed


def predictions_dir(artifacts_dir: Path, key, job: Job, options: RunOptions) -> Path:
    """`<artifacts>/<name>/<task>-<variant>/<hparams>-seed<seed>-<digest>/`, unique per run key.

    The digest covers what the readable part leaves out (weights sha256, data fingerprints, spec hash,
    --limit/--train-limit), so two runs with different keys never share a file and a stored sha256
    stays valid.
    """
    from glues_bench.store import canonical_hash

    digest = canonical_hash(
        {
            "checkpoint_sha256": key.checkpoint_sha256,
            "data_fingerprint": dict(key.data_fingerprint),
            "spec_hash": key.spec_hash,
            "limit": options.limit,
            "train_limit": options.train_limit,
        }
    )[:12]
    return (
        artifacts_dir
        / _slug(key.submission)
        / f"{key.task}-{key.variant}"
        / f"{job.hparams.key()}-seed{job.seed}-{digest}"
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in text)


def run_benchmark(
    store,
    submissions: list,
    tasks: list[TaskSpec],
    options: RunOptions,
    *,
    executor: Executor | None = None,
    finetune_fn: Callable | None = None,
    echo: Callable[[str], None] = print,
) -> list[TaskSummary]:
    """Run every submission on every task; return one summary per (submission, task).

    Several processes (on one machine or many) may run this on one database at once: each job is
    claimed atomically with a lease that this process renews, jobs held by a live process are skipped
    (`TaskSummary.busy`), and a dead process's jobs are reclaimed once its lease has expired.
    """
    from glues_bench.provenance import resolve_device
    from glues_bench.store.store import lease_is_live, process_owner

    executor = executor or LocalExecutor()
    # A Ray cluster's GPUs are on its workers, not necessarily here: check the device where jobs run.
    on_workers = getattr(executor, "devices_on_workers", False) and options.device in ("cpu", "cuda")
    device = options.device if on_workers else resolve_device(options.device)
    if options.threads is not None:
        import torch

        torch.set_num_threads(options.threads)
    seeds = seeds_for(options.seeds)
    # Variants and grids are resolved once, up front: a bad --variant or --grid fails before any work, and
    # the grids size the overall progress bar.
    resolved = [spec.resolve(options.variants.get(spec.name)) for spec in tasks]
    grids = {
        (sub.name, task.name): resolve_grid(options.grid, task.spec, getattr(sub, "large", False))
        for sub in submissions
        for task in resolved
    }
    n_jobs = sum(len(grid.configs()) * len(seeds) for grid in grids.values())
    expired = [r.id for r in store.running_runs() if not lease_is_live(r)]
    if expired:
        echo(f"{len(expired)} run(s) left by stopped processes (lease expired); their keys will be redone")
    leftovers = remove_stale_tmp_files(options.artifacts_dir, options.lease_seconds)
    if leftovers:
        echo(f"removed {len(leftovers)} partial predictions file(s) left by killed runs")
    from tqdm.auto import tqdm

    from glues_bench.submissions import verify_weights

    summaries = []
    baselines_done: set[tuple[str, str, str, str]] = set()  # one baseline per task's test data, not per model
    with (
        Heartbeat(store, process_owner(), options.lease_seconds),
        tqdm(total=n_jobs, desc="grid", unit="run", disable=not options.progress, position=0) as bar,
    ):
        for submission in submissions:
            # Before any job loads it: no pickle unless the manifest allows one (hub snapshots too), and the
            # weights still hash to the sha256 results are stored under.
            verify_weights(submission)
            store.upsert_submission(**submission.store_fields())
            for task in resolved:
                bar.set_description(f"{submission.name} × {task.name}")
                grid = grids[submission.name, task.name]
                started = time.perf_counter()
                summary = _run_task(
                    store, submission, task, grid, options, seeds, device, executor, finetune_fn, echo, bar,
                    baselines_done,
                )  # fmt: skip
                summary.seconds = time.perf_counter() - started
                summaries.append(summary)
    return summaries


def _run_task(
    store, submission, task, grid, options, seeds, device, executor, finetune_fn, echo, bar, baselines_done
) -> TaskSummary:
    summary = TaskSummary(submission.name, task.name, task.variant)
    try:
        data = load_task_data(
            task, options.data_dir, options.limit, options.train_limit, options.strict, hub=options.hub
        )
    except DataError as exc:
        summary.note = f"skipped: {exc}" + _data_hint(exc, options.data_dir)
        summary.problems.append(f"could not start: {exc}")
        echo(f"{submission.name} × {task.name}: {summary.note}")
        bar.total = max(0, bar.total - len(grid.configs()) * len(seeds))  # the ETA counts only work to do
        bar.refresh()
        return summary
    if data.train_note:
        summary.note = data.train_note
        echo(f"{submission.name} × {task.name}: {data.train_note}")
    used = limits_note(data, options.limit, options.train_limit)
    if used:
        echo(f"{submission.name} × {task.name}: {used}")
    baseline_key = (task.name, task.variant, task.spec_hash, data.test.fingerprint)
    if baseline_key not in baselines_done:  # it re-reads the train split: once per task, not per model
        store_baseline(store, task, options.data_dir, data.test, echo, hub=options.hub)
        baselines_done.add(baseline_key)
    jobs = [
        Job(submission.name, task.name, task.variant, hp, seed) for hp in grid.configs() for seed in seeds
    ]
    summary.n_jobs = len(jobs)
    fingerprints = {
        "train": data.train.fingerprint,
        "dev": data.dev.fingerprint,
        "test": data.test.fingerprint,
    }
    todo = []
    for job in jobs:
        key = _run_key(submission, task, job, fingerprints)
        existing = store.find_run(key)
        if existing is not None and _keep(existing.status, options.overwrite):
            summary.skipped += 1
            bar.total = max(0, bar.total - 1)  # already done: not part of the ETA
            if existing.status != "done":  # --overwrite never keeps a failed run: the task is not complete
                summary.problems.append(f"run {existing.id} kept as {existing.status} (--overwrite never)")
            continue
        todo.append((job, key))
    bar.refresh()

    # The driver owns the store: a run is claimed `running` just before its job is handed to the executor
    # (lazily: an executor pulls the next job when it has a free slot) and its outcome is stored here, in
    # one transaction, as it arrives. The job itself only computes (predictions come back as bytes and
    # are written here), so an executor may run it in another process or on another machine.
    from glues_bench.store.store import process_owner

    owner = process_owner()
    started: dict[int, tuple[Job, object]] = {}

    def claimed() -> Iterator[JobInput]:
        for job, key in todo:
            claim = _claim_run(store, task, key, data, options, device, owner)
            if claim.state != "claimed":  # a live process holds it, or it was finished meanwhile
                summary.skipped += 1
                summary.busy += claim.state == "busy"
                bar.update(1)
                continue
            started[claim.run_id] = (job, key)
            yield JobInput(claim.run_id, submission, task, job, data, options, device, finetune_fn)

    outcomes = executor.map(execute_job, claimed())
    try:
        for outcome in outcomes:
            job, key = started[outcome.run_id]
            stored = _store_outcome(store, outcome, predictions_dir(options.artifacts_dir, key, job, options))
            bar.update(1)
            if stored is None:
                summary.ran += 1
            elif stored == "lost":
                summary.skipped += 1
                log.warning(
                    "run %d: lease lost to another process; its result was not stored", outcome.run_id
                )
            else:
                summary.failed += 1
                reason = _error_summary(stored)
                summary.problems.append(f"run {outcome.run_id} failed: {reason}")
                log.warning("run %d failed: %s", outcome.run_id, reason)
    except KeyboardInterrupt:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()  # the executor cancels what is in flight
        for run_id in started:  # finished runs are stored already; this marks the ones in flight
            if store.get_run(run_id).status == "running":
                try:
                    store.fail_run(run_id, "interrupted", owner=owner)
                except GluesError:
                    continue
        raise
    if summary.busy:
        echo(
            f"{submission.name} × {task.name}: {summary.busy} job(s) held by other live processes were "
            "left to them (see `glues-bench runs list`)"
        )
    from glues_bench.board import selected_result

    runs = store.runs(submission.name, task.name)
    summary.best = selected_result(runs, store.get_submission(submission.name), task)
    return summary


def store_baseline(
    store, task: ResolvedTask, data_dir: Path | None, test=None, echo=print, *, hub: bool | None = None
) -> bool | None:
    """Compute the task's data baseline on `test` (the split the runs are scored on; default: the whole
    test split) and store it: True when stored, False when it was stored already, None when it cannot be
    fitted (said, not raised: a missing baseline must not stop a run)."""
    from glues_bench.board.baselines import compute_baseline
    from glues_bench.metrics.units import encode_units

    try:
        baseline = compute_baseline(task, data_dir, test, hub=hub)
    except DataError as exc:
        echo(f"{task.name}: no baseline stored ({exc})")
        return None
    return store.put_baseline(
        task=task.name,
        variant=task.variant,
        spec_hash=task.spec_hash,
        test_fingerprint=baseline.test_fingerprint,
        kind=baseline.kind,
        fitted_on=baseline.fitted_on,
        note=baseline.note,
        test_source=baseline.test_source,
        metrics={**baseline.result.metrics, "score": baseline.result.score},
        unit_kind=baseline.units.kind,
        n_units=baseline.units.n_units,
        units=encode_units(baseline.units.values),
    )


class Heartbeat:
    """Renews this process's leases every third of the lease, in a daemon thread, while the grid runs."""

    def __init__(self, store, owner: str, lease_seconds: float) -> None:
        self._store, self._owner, self._lease = store, owner, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="glues-bench-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._lease / 3):
            try:
                self._store.renew_leases(self._owner, self._lease)
            except GluesError as exc:  # a database hiccup: try again next beat, the lease has slack
                log.warning("could not renew leases: %s", exc)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _error_summary(error: str) -> str:
    """`RuntimeError: CUDA out of memory`: the first line of the exception a stored traceback ends with."""
    lines = error.rstrip().splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.startswith(" ")), default=-1)
    tail = lines[last_frame + 1 :] or lines[-1:]
    return tail[0] if tail else "unknown error"


def _keep(status: str, overwrite: Overwrite) -> bool:
    """Whether an existing run record stands (True) or is redone (False)."""
    if overwrite == "always":
        return False
    if overwrite == "never":
        return True
    return status == "done"  # only-missing: redo failed and interrupted runs


def _data_hint(exc: DataError, data_dir: Path | None) -> str:
    """For missing data, where to look next (one line)."""
    from glues_bench.data import DataUnavailable

    if not isinstance(exc, DataUnavailable):
        return ""
    where = f" --data-dir {data_dir}" if data_dir is not None else ""
    return f"; see `glues-bench data status{where}` and `glues-bench data fetch`"


def _run_key(submission, task: ResolvedTask, job: Job, fingerprints: dict[str, str]):
    from glues_bench.store import RunKey

    return RunKey(
        submission=submission.name,
        checkpoint_sha256=submission.weights_sha256,
        task=task.name,
        variant=task.variant,
        spec_hash=task.spec_hash,
        data_fingerprint=fingerprints,
        hparams=job.hparams.model_dump(mode="json"),
        seed=job.seed,
    )


@dataclass(frozen=True)
class JobInput:
    """Everything one run needs, and nothing it must not carry (no DB handle): picklable for Ray."""

    run_id: int
    submission: Any
    task: ResolvedTask
    job: Job
    data: TaskData
    options: RunOptions
    device: str
    finetune_fn: Callable | None = None


def _claim_run(store, task, key, data, options, device, owner: str):
    from glues_bench.board import SELECTION_RULE
    from glues_bench.provenance import describe_device, harness_git_sha, library_versions, portable_source

    return store.claim_run(
        key,
        spec_version=task.spec.version,
        library_versions=library_versions(),
        harness_git_sha=harness_git_sha(),
        device=_describe_here(device, describe_device),
        selection_rule=SELECTION_RULE,
        details={
            # Relative to --data-dir: no machine's absolute paths in a stored (and published) record.
            "data_sources": {
                split: portable_source(getattr(data, split).source, options.data_dir)
                for split in ("train", "dev", "test")
            },
            "train_note": data.train_note,
            "limit": options.limit,
            "train_limit": options.train_limit,
            "max_device_batch": options.max_device_batch,
            "n_examples": {split: len(getattr(data, split).dataset) for split in ("train", "dev", "test")},
            # What `glues-bench score` needs to reproduce each stored number from its predictions file.
            "scored_subset": {
                "dev": {"limit": options.limit, "rows": data.dev_rows},
                "test": {"limit": options.limit, "rows": None},
            },
        },
        redo=options.overwrite == "always",
        owner=owner,
        lease_seconds=options.lease_seconds,
    )


def _describe_here(device: str, describe: Callable[[str], str]) -> str:
    """The device as this process sees it; a Ray driver without the workers' GPU says so instead (each
    Ray worker records its own in details.executor.device)."""
    try:
        return describe(device)
    except (RuntimeError, AssertionError):
        return f"{device} (on the executor's workers)"


def execute_job(work: JobInput) -> JobOutcome:
    """Train, predict dev and test, score. Any failure becomes `JobOutcome.error`; writes no file."""
    from glues_bench.metrics import score_predictions
    from glues_bench.metrics.units import encode_units, unit_statistics

    submission, task, job, data = work.submission, work.task, work.job, work.data
    started = time.perf_counter()
    extra = {"max_device_batch": work.options.max_device_batch} if work.options.max_device_batch else {}
    try:
        result = (work.finetune_fn or _default_finetune())(
            task,
            submission.model_ref(),
            data.train.dataset,
            data.dev.dataset,
            job.hparams,
            job.seed,
            device=work.device,
            test=data.test.dataset,
            progress=work.options.progress,
            **extra,
        )
        metrics, payloads, units = {}, {}, {}
        for split, gold, predictions in (
            ("dev", data.dev.dataset, result.dev_predictions),
            ("test", data.test.dataset, result.test_predictions),
        ):
            scored = score_predictions(task, gold, predictions)
            metrics[split] = {**scored.metrics, "score": scored.score}
            payloads[split] = predictions_payload(predictions)
            # Kept for the board's bootstrap CIs: the site build has no gold data, the run has it here.
            stats = unit_statistics(task, gold, predictions)
            units[split] = (stats.kind, stats.n_units, encode_units(stats.values))
    except Exception:  # recorded on the run (status failed + full traceback); the grid goes on
        return JobOutcome(work.run_id, error=portable_traceback())
    details = {
        "n_train_steps": result.n_train_steps,
        "n_train_examples": result.n_train_examples,
        "train_loss_first_last": [result.train_loss[0], result.train_loss[-1]] if result.train_loss else [],
        "epoch_loss": result.epoch_loss,
    }
    batching = getattr(result, "batching", None)  # micro-batch, accumulation steps, OOM retries
    if batching:
        details["batching"] = batching
    return JobOutcome(
        work.run_id,
        metrics=metrics,
        predictions=payloads,
        unit_stats=units,
        durations={
            "train_s": result.seconds,
            "predict_s": result.predict_seconds,
            "total_s": time.perf_counter() - started,
        },
        details=details,
    )


def portable_traceback() -> str:
    """The current exception's full traceback, with this machine's folders (working directory, Python's
    prefixes, home) cut from file names: the text is stored and may be published on the site."""
    import os
    import sys

    text = traceback.format_exc()
    prefixes = {str(Path.cwd()), sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path.home())}
    for prefix in sorted((p for p in prefixes if p and p != os.sep), key=len, reverse=True):
        text = text.replace(prefix.rstrip(os.sep) + os.sep, "")
    return text


def _store_outcome(store, outcome: JobOutcome, run_dir: Path) -> str | None:
    """Write the predictions and record the run; None when done, else "lost" or the error recorded."""
    from glues_bench.provenance import portable_path
    from glues_bench.store.store import ClaimLost, process_owner

    owner = process_owner()
    try:
        if outcome.error is not None:
            store.fail_run(outcome.run_id, outcome.error, owner=owner)
            return outcome.error
        artefacts = {}
        try:
            for split, payload in outcome.predictions.items():
                path = run_dir / f"{split}.predictions.json"
                # Stored relative to the project (like every other path we keep), so the DB can move with it.
                artefacts[split] = (portable_path(path), write_predictions(path, payload))  # re-hashed there
        except OSError as exc:  # a full disk, a read-only artefacts dir: this run failed, the grid goes on
            error = f"{exc.__class__.__name__}: could not write predictions: {exc}"
            store.fail_run(outcome.run_id, error, owner=owner)
            return error
        store.finish_run(
            outcome.run_id,
            outcome.metrics,
            artefacts,
            durations=outcome.durations,
            details=outcome.details,
            owner=owner,
            unit_stats=outcome.unit_stats,
        )
    except ClaimLost:
        return "lost"
    return None


def _default_finetune() -> Callable:
    from glues_bench.train import finetune

    return finetune


@dataclass
class BackfillSummary:
    stored: int = 0
    present: int = 0
    skipped: list[str] = field(default_factory=list)


def backfill_unit_stats(
    store, data_dir: Path | None, root: Path | None = None, echo: Callable[[str], None] = print
) -> BackfillSummary:
    """Unit statistics for the finished runs stored before the runner kept them: recomputed from each
    run's predictions file (path relative to `root`, checked against its sha256) and the gold split from
    `data_dir` (loaded as the run loaded it, and checked against the fingerprint it recorded)."""
    from glues_bench.board.stats import load_run_units
    from glues_bench.data import load_split
    from glues_bench.errors import PredictionError
    from glues_bench.metrics.units import encode_units
    from glues_bench.tasks import get_task

    snapshot = store.snapshot()
    have = {(u.run_id, u.split) for u in snapshot.unit_stats}
    gold: dict[tuple, object] = {}
    summary = BackfillSummary()
    for run in snapshot.runs:
        if run.status != "done":
            continue
        for artefact in run.predictions:
            if (run.id, artefact.split) in have:
                summary.present += 1
                continue
            try:
                task = get_task(run.task).resolve(run.variant)
                limit = (run.details or {}).get("limit")
                key = (task.name, task.variant, artefact.split, limit)
                if key not in gold:
                    gold[key] = load_split(task, artefact.split, data_dir, limit=limit)
                stats = load_run_units(run, data_dir, artefact.split, root, gold[key])  # type: ignore[arg-type]
            except (DataError, PredictionError) as exc:
                summary.skipped.append(f"run {run.id} {artefact.split}: {exc}")
                echo(f"skipped {summary.skipped[-1]}")
                continue
            store.put_unit_stats(
                run.id, artefact.split, stats.kind, stats.n_units, encode_units(stats.values)
            )
            summary.stored += 1
    return summary
