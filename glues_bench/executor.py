"""How grid jobs are executed. The runner only sees `Executor.map`; the driver stays the only DB writer.

`map(fn, works)` pulls a work item from `works` only when it has a free slot (the runner claims the run
in the database at that moment) and yields outcomes in completion order. Three executors:

- `LocalExecutor()`: one job at a time in this process (fine-tuning already uses every core).
- `LocalExecutor(jobs=N)`: N worker processes on this machine (N GPUs or N core groups).
- `RayExecutor`: one Ray task per job on a Ray cluster, with explicit CPUs/GPUs per job.

Work items are the runner's `JobInput`s (picklable, no DB handle); `fn` returns a `JobOutcome` (defined here,
so that the executor never imports the runner above it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from glues_bench.errors import GluesError, first_line
from glues_bench.tasks.spec import HParams

log = logging.getLogger(__name__)

DEFAULT_RAY_MAX_RETRIES = (
    3  # retries after a worker or node died mid-job (application errors are not retried)
)


@dataclass(frozen=True)
class Job:
    """One fine-tuning run: a model, a task (with variant), one hyper-parameter config and a seed."""

    submission: str
    task: str
    variant: str
    hparams: HParams
    seed: int


@dataclass(frozen=True)
class JobOutcome:
    """What a run produced: metrics and prediction files, or the traceback of the error that stopped it."""

    run_id: int
    metrics: dict = field(default_factory=dict)
    predictions: dict[str, bytes] = field(default_factory=dict)
    """{split: payload} in `glues-bench score` format; the driver writes and hashes them."""
    durations: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    unit_stats: dict = field(default_factory=dict)  # {split: (unit kind, n units, encoded rows)}
    error: str | None = None


class Executor(Protocol):
    def map(self, fn: Callable[[Any], Any], works: Iterable[Any]) -> Iterator[Any]:
        """Run `fn` on every work item; yield the outcomes as they complete (any order).

        Pulls the next item from `works` only when a slot is free. Closing the iterator (the runner does
        on Ctrl-C) cancels work in flight.
        """
        ...


def _crash_outcome(work: Any, error: str) -> JobOutcome:
    return JobOutcome(work.run_id, error=error)


def _set_threads(threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)


DRIVER_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME", "HF_HUB_CACHE")
"""Set on the driver (`run --data-dir` goes offline), they must hold in the workers too."""


def _worker_setup(env: dict[str, str], threads: int | None) -> None:
    """A worker process as `glues-bench run` sets up its own: the driver's hub settings, quiet transformers
    (the per-run "newly initialised head" report is expected), the thread count."""
    os.environ.update(env)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    _set_threads(threads)


def _driver_env() -> dict[str, str]:
    return {name: os.environ[name] for name in DRIVER_ENV if name in os.environ}


class LocalExecutor:
    """Jobs on this machine: in this process (`jobs=1`), or in `jobs` spawned worker processes.

    With several workers each gets `threads` torch threads (default: cores ÷ jobs), so N jobs share the
    machine instead of oversubscribing it. With `--device cuda` and several GPUs, worker i uses
    cuda:(i mod GPUs) through CUDA_VISIBLE_DEVICES, so each job sees its GPU as cuda:0.
    """

    def __init__(self, jobs: int = 1, threads: int | None = None) -> None:
        if jobs < 1:
            raise GluesError(f"--jobs {jobs}: need at least 1")
        self.jobs = jobs
        self.threads = threads

    def map(self, fn: Callable[[Any], Any], works: Iterable[Any]) -> Iterator[Any]:
        if self.jobs == 1:
            for work in works:  # lazily: the runner claims each run just before it executes
                yield fn(work)
            return
        yield from self._map_pool(fn, iter(works))

    def _map_pool(self, fn: Callable[[Any], Any], works: Iterator[Any]) -> Iterator[Any]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        threads = self.threads or max(1, (os.cpu_count() or 1) // self.jobs)
        gpus = _visible_gpus()

        def new_pool(slot: int) -> ProcessPoolExecutor:
            return ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),  # no forked torch/DB state
                initializer=_worker_init,
                initargs=(threads, gpus[slot % len(gpus)] if gpus else None, _driver_env()),
            )

        pools = [new_pool(slot) for slot in range(self.jobs)]
        # The task data each worker holds (a reference, so the identity test below stays sound): a task's
        # splits travel to a worker once, not with every config × seed (as RayExecutor puts them once).
        holds: list[Any] = [None] * self.jobs
        in_flight: dict[Any, tuple[Any, int]] = {}
        free = list(range(self.jobs))
        try:
            while True:
                while free:
                    work = next(works, None)
                    if work is None:
                        break
                    slot = free.pop()
                    data = getattr(work, "data", None)
                    if data is None:
                        future = pools[slot].submit(fn, work)
                    else:
                        send = None if holds[slot] is data else data
                        future = pools[slot].submit(_with_task_data, fn, replace(work, data=None), send)
                        holds[slot] = data
                    in_flight[future] = (work, slot)
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    work, slot = in_flight.pop(future)
                    free.append(slot)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:  # the worker died (killed, out of memory): record and go on
                        outcome = _crash_outcome(work, "WorkerDied: the local worker process exited mid-job")
                        pools[slot].shutdown(wait=False)
                        pools[slot] = new_pool(slot)
                        holds[slot] = None  # a new worker holds nothing yet
                    yield outcome
        finally:
            for future in in_flight:
                future.cancel()
            for pool in pools:
                pool.shutdown(wait=False, cancel_futures=True)


def _visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries (empty without CUDA)."""
    listed = [g.strip() for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    if listed or "CUDA_VISIBLE_DEVICES" in os.environ:
        return listed
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


_task_data: Any = None
"""In a local worker process: the data of the task its jobs belong to (sent with the first such job)."""


def _with_task_data(fn: Callable[[Any], Any], work: Any, data: Any) -> Any:
    global _task_data
    if data is not None:
        _task_data = data  # a new task: the previous one's data is dropped
    return fn(replace(work, data=_task_data))


def _worker_init(threads: int | None, gpu: str | None, env: dict[str, str]) -> None:
    """A spawned worker: pin it to one GPU before torch initialises CUDA (it sees it as cuda:0)."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    _worker_setup(env, threads)


def _ray_job(
    fn: Callable[[Any], Any], work: Any, data: Any, attempts: Any, threads: int, env: dict[str, str]
) -> Any:
    """The body of one Ray task: torch threads = the task's CPU share, data from the object store.

    Ray sets OMP_NUM_THREADS to num_cpus and CUDA_VISIBLE_DEVICES to the task's GPU(s), so the job sees
    its GPU as cuda:0. The attempt counter (an actor) tells a retry after a worker died from a first try.
    """
    import socket

    import ray

    _worker_setup(env, threads)
    attempt = ray.get(attempts.begin.remote(work.run_id))
    outcome = fn(replace(work, data=data))
    from glues_bench.provenance import describe_device

    executor_info = {
        "name": "ray",
        "attempt": attempt,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "device": describe_device(work.device),
    }
    return replace(outcome, details={**outcome.details, "executor": executor_info})


class _Attempts:
    """How many times each run's task has started (a Ray actor: survives the workers it counts)."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def begin(self, run_id: int) -> int:
        self.counts[run_id] = self.counts.get(run_id, 0) + 1
        return self.counts[run_id]


class RayExecutor:
    """Runs jobs as Ray tasks, one per (model, task, config, seed), with explicit CPUs/GPUs per task.

    `address=None` starts a local Ray instance (or joins the one `ray.init` already set up); `auto` or
    `ray://host:port` joins a cluster. Each task's data is put in the object store once and shared by its
    jobs. At most as many jobs are claimed and in flight as the cluster can run at once, so several
    drivers on one database share the grid. A task whose worker or node died is retried up to
    `max_retries` times and its `details.executor.attempt` records which try finished; an application
    error comes back as a failed outcome and is not retried.
    """

    devices_on_workers = True  # the driver need not have the GPUs its jobs ask for

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus_per_job: float = 1.0,
        gpus_per_job: float = 0.0,
        max_retries: int = DEFAULT_RAY_MAX_RETRIES,
        max_in_flight: int | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        try:
            import ray
        except ImportError as exc:
            raise GluesError('the Ray executor needs Ray: pip install -e ".[ray]"') from exc
        if cpus_per_job <= 0 or gpus_per_job < 0:
            raise GluesError("--cpus-per-job must be > 0 and --gpus-per-job >= 0")
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address, **(init_kwargs or {}))
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = address or "a new local instance"
                raise GluesError(f"could not connect to Ray at {where}: {exc}") from exc
        self.cpus_per_job = cpus_per_job
        self.gpus_per_job = gpus_per_job
        self.max_retries = max_retries
        self.max_in_flight = max_in_flight

    def capacity(self) -> int:
        """How many jobs the cluster can run at once with the requested resources (at least 1)."""
        resources = self._ray.cluster_resources()
        fits = [resources.get("CPU", 0.0) / self.cpus_per_job]
        if self.gpus_per_job > 0:
            fits.append(resources.get("GPU", 0.0) / self.gpus_per_job)
        return max(1, int(min(fits) + 1e-9))

    def map(self, fn: Callable[[Any], Any], works: Iterable[Any]) -> Iterator[Any]:
        ray = self._ray
        remote = ray.remote(_ray_job).options(
            num_cpus=self.cpus_per_job,
            num_gpus=self.gpus_per_job,
            max_retries=self.max_retries,
            retry_exceptions=False,
        )
        attempts = ray.remote(num_cpus=0)(_Attempts).remote()
        threads = max(1, int(self.cpus_per_job))
        env = _driver_env()
        limit = self.max_in_flight or self.capacity()
        data_refs: dict[int, tuple[Any, Any]] = {}  # id(task data) → (data kept alive, its object ref)
        in_flight: dict[Any, Any] = {}
        works = iter(works)
        try:
            while True:
                while len(in_flight) < limit:
                    work = next(works, None)
                    if work is None:
                        break
                    if id(work.data) not in data_refs:  # once per task, not once per job
                        data_refs[id(work.data)] = (work.data, ray.put(work.data))
                    ref = remote.remote(
                        fn, replace(work, data=None), data_refs[id(work.data)][1], attempts, threads, env
                    )
                    in_flight[ref] = work
                if not in_flight:
                    return
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    work = in_flight.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # retries used up, or the task could not run
                        outcome = _crash_outcome(work, f"{type(exc).__name__}: {first_line(exc)}"[:500])
                    yield outcome
        finally:
            for ref in in_flight:  # Ctrl-C or an error in the driver: stop the jobs in flight
                ray.cancel(ref, force=True)
            ray.kill(attempts)


def make_executor(
    name: str,
    *,
    jobs: int = 1,
    threads: int | None = None,
    ray_address: str | None = None,
    cpus_per_job: float = 1.0,
    gpus_per_job: float = 0.0,
) -> Executor:
    if name == "local":
        return LocalExecutor(jobs=jobs, threads=threads)
    if name == "ray":
        return RayExecutor(ray_address, cpus_per_job=cpus_per_job, gpus_per_job=gpus_per_job)
    from glues_bench.errors import UnknownName

    raise UnknownName("executor", name, ("local", "ray"))
