"""What a model costs to run: inference speed and latency, peak memory, size on disk, fine-tuning speed.

`profile_model` measures one registered checkpoint on each task's real test inputs: a seeded random
sample of the test split (so the token lengths follow the split's own distribution), encoded by the
task's head exactly as evaluation encodes it (truncated or windowed at the spec's maximum length). For
each task it times

- batch 1: every feature of an example through the model alone, one example after another (what a
  service answering single requests pays): examples/s, tokens/s, latency p50/p95 per example;
- the eval batch size: the product's own `predict_features` (length-sorted batches of
  `EVAL_BATCH_SIZE`, dynamic padding): examples/s and tokens/s;
- fine-tuning: a few optimiser steps of the product's step (forward, backward, clipping, AdamW) on
  length-grouped batches of the task's quick-grid batch size: examples/s. The steps train on the
  sampled test examples' labels, only to have real shapes; the weights are thrown away;
- peak memory: RSS of this process on CPU (the kernel's high-water mark, reset before each task), or
  `torch.cuda.max_memory_allocated` on GPU, for inference and for fine-tuning separately.

A warm-up pass precedes every timing and is not counted; every figure is repeated and reported as the
median with its min-max over the repeats. Timing is wall clock, synchronised on GPU; on a busy machine
pass `--threads` and more `--repeats`. Nothing here touches the store: the CLI stores the result.
"""

from __future__ import annotations

import contextlib
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from glues_bench.errors import DataError

DEFAULT_REPEATS = 3
DEFAULT_SAMPLE = 64
"""Test examples per task for the batched measurement (one or two eval batches)."""
DEFAULT_BATCH1_SAMPLE = 16
"""Of those, how many are timed one example at a time (the latency percentiles' population per repeat)."""
DEFAULT_TRAIN_STEPS = 3
SAMPLE_SEED = 0
MEMORY_KINDS = ("rss", "cuda_max_allocated")


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements and their range."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no measurements")
        return cls(statistics.median(values), min(values), max(values))


@dataclass(frozen=True)
class TaskProfile:
    """One task's measurements (rates per second of wall time; latencies in milliseconds)."""

    task: str
    task_type: str
    n_examples: int
    """Test examples sampled (the batched measurement's population)."""
    n_features: int
    mean_tokens: float
    """Mean tokens per feature, after truncation/windowing at `max_length`."""
    max_length: int
    eval_batch_size: int
    batch1_examples: int
    batch1_examples_per_s: Spread
    batch1_tokens_per_s: Spread
    latency_p50_ms: Spread
    latency_p95_ms: Spread
    batch_examples_per_s: Spread
    batch_tokens_per_s: Spread
    inference_peak_memory_bytes: int
    train_batch_size: int | None = None
    train_steps: int | None = None
    train_examples_per_s: Spread | None = None
    train_peak_memory_bytes: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskProfile:
        values = dict(data)
        for key, value in data.items():
            if isinstance(value, dict):  # every nested mapping is a Spread
                values[key] = Spread(**value)
        return cls(**values)


@dataclass(frozen=True)
class ModelProfile:
    """One checkpoint on one device: what `Store.put_profile` stores under (checkpoint_sha256, device)."""

    checkpoint_sha256: str
    device: str
    """`provenance.describe_device`: e.g. `cpu:x86_64 ×2 threads` or `cuda:NVIDIA H200`."""
    device_kind: str
    threads: int
    memory_kind: str
    """`rss` (CPU: resident set of the process) or `cuda_max_allocated` (GPU: tensors only)."""
    weights_bytes: int | None
    """None only in hand-made profiles; `profile_model` always measures it."""
    repeats: int
    library_versions: dict[str, str]
    tasks: tuple[TaskProfile, ...] = field(default_factory=tuple)

    @property
    def peak_memory_bytes(self) -> int | None:
        """The largest inference peak over tasks."""
        return max((t.inference_peak_memory_bytes for t in self.tasks), default=None)


@dataclass(frozen=True)
class ProfileOptions:
    device: str = "cpu"
    threads: int | None = None
    repeats: int = DEFAULT_REPEATS
    sample: int = DEFAULT_SAMPLE
    batch1_sample: int = DEFAULT_BATCH1_SAMPLE
    train_steps: int = DEFAULT_TRAIN_STEPS


def profile_model(
    submission: Any,
    test_splits: Sequence[tuple[Any, Any]],
    options: ProfileOptions = ProfileOptions(),
    *,
    echo: Callable[[str], None] = print,
) -> ModelProfile:
    """Profile `submission` (a `submissions.Submission`) on each (ResolvedTask, test Dataset) pair."""
    import torch

    from glues_bench.provenance import library_versions, resolve_device

    if options.repeats < 1 or options.sample < 1 or options.batch1_sample < 1 or options.train_steps < 0:
        raise DataError("profile: --repeats, --sample and --batch1-sample must be ≥ 1, --train-steps ≥ 0")
    if not test_splits:
        raise DataError("profile: no task with test data to measure on")
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    device = resolve_device(options.device)
    tasks = []
    for task, dataset in test_splits:
        echo(f"profiling {submission.name} on {task.name} ({device})")
        tasks.append(profile_task(submission, task, dataset, device, options))
    return ModelProfile(
        checkpoint_sha256=submission.weights_sha256,
        device=device_description(device),
        device_kind=device,
        threads=torch.get_num_threads(),
        memory_kind="cuda_max_allocated" if device == "cuda" else "rss",
        weights_bytes=weights_bytes(submission),
        repeats=options.repeats,
        library_versions=library_versions(),
        tasks=tuple(tasks),
    )


def profile_task(submission, task, dataset, device: str, options: ProfileOptions) -> TaskProfile:
    import torch
    import transformers

    from glues_bench.train import HEADS
    from glues_bench.train.finetune import EVAL_BATCH_SIZE, effective_max_length, load_config

    head = HEADS[task.task_type]
    if len(dataset) == 0:
        raise DataError(f"task {task.name}: the test split is empty")
    sample = dataset.select(sample_indices(len(dataset), options.sample))
    ref = submission.model_ref()  # the manifest's loading rule, exactly as `finetune` follows it
    config = load_config(task, ref)
    tokenizer = transformers.AutoTokenizer.from_pretrained(ref.tokenizer_source(), **ref.tokenizer_kwargs())
    transformers.set_seed(SAMPLE_SEED)
    model = getattr(transformers, head.auto_class).from_pretrained(
        ref.checkpoint, config=config, **ref.model_kwargs()
    )
    model.to(device).eval()
    max_length = effective_max_length(task.spec.max_seq_length, tokenizer, config)
    encoded = head.encode(task, sample, tokenizer, max_length, training=False)
    features = encoded.features
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    lengths = [len(f["input_ids"]) for f in features]
    by_example = features_by_example(encoded.sources)
    single = list(by_example.values())[: options.batch1_sample]

    peak = PeakMemory(device)
    peak.reset()
    batch1_rates, batch1_tokens, p50s, p95s = [], [], [], []
    batch_rates, batch_tokens = [], []
    with torch.inference_mode():
        time_one_example(model, features, single[0], pad_id, device)  # warm-up, not counted
        for _ in range(options.repeats):
            latencies = [time_one_example(model, features, rows, pad_id, device) for rows in single]
            tokens = sum(lengths[i] for rows in single for i in rows)
            batch1_rates.append(len(single) / sum(latencies))
            batch1_tokens.append(tokens / sum(latencies))
            p50s.append(1000 * percentile(latencies, 50))
            p95s.append(1000 * percentile(latencies, 95))
    time_predict(head, model, features, tokenizer, device)  # warm-up at the eval batch size
    for _ in range(options.repeats):
        seconds = time_predict(head, model, features, tokenizer, device)
        batch_rates.append(encoded.n_examples / seconds)
        batch_tokens.append(sum(lengths) / seconds)
    inference_peak = peak.read()

    train_fields: dict[str, Any] = {}
    if options.train_steps > 0:
        train_fields = time_training(head, task, model, sample, tokenizer, max_length, device, options, peak)
    return TaskProfile(
        task=task.name,
        task_type=task.task_type,
        n_examples=encoded.n_examples,
        n_features=len(features),
        mean_tokens=sum(lengths) / len(lengths),
        max_length=max_length,
        eval_batch_size=EVAL_BATCH_SIZE,
        batch1_examples=len(single),
        batch1_examples_per_s=Spread.of(batch1_rates),
        batch1_tokens_per_s=Spread.of(batch1_tokens),
        latency_p50_ms=Spread.of(p50s),
        latency_p95_ms=Spread.of(p95s),
        batch_examples_per_s=Spread.of(batch_rates),
        batch_tokens_per_s=Spread.of(batch_tokens),
        inference_peak_memory_bytes=inference_peak,
        **train_fields,
    )


def time_training(head, task, model, sample, tokenizer, max_length, device, options, peak) -> dict[str, Any]:
    """Examples/s of the product's optimiser step; {} when the sample has nothing to train on (QA
    questions without a non-empty answer)."""
    import torch

    from glues_bench.train.batching import collate, train_batches
    from glues_bench.train.finetune import (
        MAX_GRAD_NORM,
        autocast_for,
        parameter_groups,
        to_device,
    )

    try:
        features = head.encode(task, sample, tokenizer, max_length, training=True).features
    except DataError:
        return {}
    batch_size = task.spec.grids["quick"].batch_sizes[0]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    lengths = [len(f["input_ids"]) for f in features]
    generator = torch.Generator().manual_seed(SAMPLE_SEED)
    batches: list[list[int]] = []
    needed = 1 + options.repeats * options.train_steps  # one warm-up step
    while len(batches) < needed:
        batches += train_batches(lengths, batch_size, generator)
    optimizer = torch.optim.AdamW(parameter_groups(model, 0.01), lr=1e-5, fused=device == "cuda")
    model.train()
    peak.reset()

    def step(indices: list[int]) -> float:
        batch = to_device(collate([features[i] for i in indices], pad_id), device)
        synchronize(device)
        started = time.perf_counter()
        with autocast_for(device):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)
        return time.perf_counter() - started

    step(batches[0])
    rates = []
    for r in range(options.repeats):
        chosen = batches[1 + r * options.train_steps : 1 + (r + 1) * options.train_steps]
        seconds = sum(step(indices) for indices in chosen)
        rates.append(sum(len(indices) for indices in chosen) / seconds)
    model.eval()
    return {
        "train_batch_size": batch_size,
        "train_steps": options.train_steps,
        "train_examples_per_s": Spread.of(rates),
        "train_peak_memory_bytes": peak.read(),
    }


def time_one_example(model, features, rows: list[int], pad_id: int, device: str) -> float:
    """Seconds to run every feature of one example through the model, one at a time."""
    from glues_bench.train.batching import collate
    from glues_bench.train.finetune import autocast_for, to_device

    batches = [to_device(collate([features[i]], pad_id), device) for i in rows]
    synchronize(device)
    started = time.perf_counter()
    for batch in batches:
        with autocast_for(device):
            model(**batch)
    synchronize(device)
    return time.perf_counter() - started


def time_predict(head, model, features, tokenizer, device: str) -> float:
    from glues_bench.train.finetune import predict_features

    synchronize(device)
    started = time.perf_counter()
    predict_features(head, model, features, tokenizer, device, False)
    synchronize(device)
    return time.perf_counter() - started


def sample_indices(n: int, size: int) -> list[int]:
    """A seeded random sample (sorted): the split's length distribution, not its first (often short) rows."""
    if n <= size:
        return list(range(n))
    return sorted(random.Random(SAMPLE_SEED).sample(range(n), size))


def features_by_example(sources: Sequence[Any]) -> dict[int, list[int]]:
    """Feature indices of each example, in example order (QA and long sentences have several)."""
    grouped: dict[int, list[int]] = {}
    for index, source in enumerate(sources):
        grouped.setdefault(int(getattr(source, "example", source)), []).append(index)
    return grouped


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def device_description(device: str) -> str:
    """What a profile is keyed by: the GPU's name, or the CPU's model name and torch's thread count.

    More specific than `provenance.describe_device` (which says `x86_64` for every PC): two machines
    with different processors must never share a profile."""
    import platform

    import torch

    if device == "cuda":
        return f"cuda:{torch.cuda.get_device_name(0)}"
    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = " ".join(line.split(":", 1)[1].split())
                break
    return f"cpu:{name} ×{torch.get_num_threads()} threads"


def synchronize(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


class PeakMemory:
    """Peak memory since the last `reset`: the kernel's RSS high-water mark on CPU, CUDA's on GPU."""

    def __init__(self, device: str) -> None:
        self.device = device

    def reset(self) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
            return
        # Linux: "5" resets VmHWM to the current RSS (proc(5), clear_refs); elsewhere the figure is the
        # process's lifetime peak.
        with contextlib.suppress(OSError):
            Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")

    def read(self) -> int:
        if self.device == "cuda":
            import torch

            return int(torch.cuda.max_memory_allocated())
        try:
            for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux


def weights_bytes(submission) -> int:
    """Size on disk of the weight files (a hub checkpoint: those of its cached snapshot)."""
    from glues_bench.submissions import checkpoint_directory, find_weight_files

    _, paths = find_weight_files(checkpoint_directory(submission), allow_pickle=submission.allow_pickle)
    return sum(path.stat().st_size for path in paths)
