"""What a model costs to run, from the stored `glues-bench profile` results: per device, never mixed.

A model's profiles are matched by its checkpoint's weights sha256 (a profile measures weights, not a
name), or by the registered name a profile was stored under when the submission has no sha256. Per
device, the summary over the profiled tasks is the geometric mean of eval-batch examples/s and of the
batch-1 latency p50 (tasks differ by orders of magnitude, so an arithmetic mean would be one task's
number), and the largest inference peak memory. `reference_device` is the device that profiled the most
models on the board (ties: the name), so one index column compares like with like.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glues_bench.store.records import ProfileRecord, SubmissionRecord

__all__ = ["Efficiency", "TaskEfficiency", "efficiency_json", "model_efficiency", "reference_device"]


@dataclass(frozen=True)
class TaskEfficiency:
    """One task's medians over the profile's repeats (rates per second of wall time, latency in ms)."""

    task: str
    examples_per_s: float
    tokens_per_s: float
    batch1_examples_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    peak_memory_bytes: int
    train_examples_per_s: float | None


@dataclass(frozen=True)
class Efficiency:
    """One model on one device."""

    device: str
    device_kind: str
    threads: int
    memory_kind: str
    examples_per_s: float
    """Geometric mean over the profiled tasks of eval-batch examples/s."""
    latency_p50_ms: float
    """Geometric mean over the profiled tasks of the batch-1 latency p50."""
    peak_memory_bytes: int | None
    weights_bytes: int | None
    n_tasks: int
    measured_at: str
    tasks: tuple[TaskEfficiency, ...]


def _geomean(values: Sequence[float]) -> float:
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


def _efficiency(profile: ProfileRecord) -> Efficiency:
    tasks = tuple(
        TaskEfficiency(
            task=t.task,
            examples_per_s=t.batch_examples_per_s.median,
            tokens_per_s=t.batch_tokens_per_s.median,
            batch1_examples_per_s=t.batch1_examples_per_s.median,
            latency_p50_ms=t.latency_p50_ms.median,
            latency_p95_ms=t.latency_p95_ms.median,
            peak_memory_bytes=t.inference_peak_memory_bytes,
            train_examples_per_s=t.train_examples_per_s.median if t.train_examples_per_s else None,
        )
        for t in sorted(profile.tasks, key=lambda t: t.task)
    )
    return Efficiency(
        device=profile.device,
        device_kind=profile.device_kind,
        threads=profile.threads,
        memory_kind=profile.memory_kind,
        examples_per_s=_geomean([t.examples_per_s for t in tasks]),
        latency_p50_ms=_geomean([t.latency_p50_ms for t in tasks]),
        peak_memory_bytes=profile.peak_memory_bytes,
        weights_bytes=profile.weights_bytes,
        n_tasks=len(tasks),
        measured_at=profile.measured_at.isoformat(),
        tasks=tasks,
    )


def model_efficiency(
    submission: SubmissionRecord, profiles: Iterable[ProfileRecord]
) -> dict[str, Efficiency]:
    """device → the submission's efficiency there (sorted by device)."""
    sha = submission.checkpoint_sha256
    mine = [
        p
        for p in profiles
        if (p.checkpoint_sha256 == sha if sha else p.submission == submission.name) and p.tasks
    ]
    return {p.device: _efficiency(p) for p in sorted(mine, key=lambda p: p.device)}


def reference_device(efficiencies: Iterable[Mapping[str, Efficiency]]) -> str | None:
    counts: dict[str, int] = {}
    for by_device in efficiencies:
        for device in by_device:
            counts[device] = counts.get(device, 0) + 1
    return min(counts, key=lambda d: (-counts[d], d)) if counts else None


def efficiency_json(efficiency: Efficiency) -> dict[str, Any]:
    document = asdict(efficiency)
    document["tasks"] = {t.pop("task"): t for t in document["tasks"]}
    return document
