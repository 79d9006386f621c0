"""How grid jobs are executed. The runner only sees `Executor.map`, so a Ray executor can run the same
grid across machines; the local, in-process executor is the default."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from glues_bench.errors import GluesError
from glues_bench.tasks.spec import HParams

T = TypeVar("T")
J = TypeVar("J")


@dataclass(frozen=True)
class Job:
    """One fine-tuning run: a model, a task (with variant), one hyper-parameter config and a seed."""

    submission: str
    task: str
    variant: str
    hparams: HParams
    seed: int


class Executor(Protocol):
    def map(self, fn: Callable[[J], T], jobs: Iterable[J]) -> Iterator[T]:
        """Run `fn` on every job; yield results in the order the jobs were given."""
        ...


class LocalExecutor:
    """Runs jobs one after another in this process (fine-tuning already uses every core)."""

    def map(self, fn: Callable[[J], T], jobs: Iterable[J]) -> Iterator[T]:
        for job in jobs:  # lazily: the runner records each run as started just before it executes
            yield fn(job)


class RayExecutor:
    """Runs jobs as Ray tasks (`ray.init(address=...)` joins a cluster), one GPU or CPU bundle per job.

    `fn` and the jobs must be picklable (the runner's `execute_job` and `JobInput` are; they hold no DB
    handle): outcomes come back to the driver, which stores them. Ray is optional and not installed here,
    so this executor is untested.
    """

    def __init__(self, address: str | None = None, num_gpus_per_job: float = 0.0) -> None:
        try:
            import ray
        except ImportError as exc:
            raise GluesError("the Ray executor needs `pip install ray`") from exc
        self._ray = ray
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True)
        self._num_gpus = num_gpus_per_job

    def map(self, fn: Callable[[J], T], jobs: Iterable[J]) -> Iterator[T]:
        remote = self._ray.remote(num_gpus=self._num_gpus)(fn)
        refs = [remote.remote(job) for job in jobs]
        for ref in refs:
            yield self._ray.get(ref)


def make_executor(name: str) -> Executor:
    executors: dict[str, Callable[[], Executor]] = {"local": LocalExecutor, "ray": RayExecutor}
    if name not in executors:
        from glues_bench.errors import UnknownName

        raise UnknownName("executor", name, executors)
    return executors[name]()
