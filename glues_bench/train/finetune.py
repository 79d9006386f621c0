"""Fine-tune one checkpoint on one task with one hyper-parameter config and seed; predict dev and test.

A plain loop that reads top to bottom: config → data → model → optimiser → loop → evaluate. The task
type picks a head (`HEADS`) that encodes examples and decodes outputs; nothing here looks at a task's
name. Metrics are not computed here: the runner scores the returned predictions.

Choices that match HF `Trainer` defaults, so numbers are comparable with the ALBETO code: AdamW
(betas 0.9/0.999, eps 1e-8), weight decay on everything but biases and normalisation weights, linear
warm-up over ceil(warmup_ratio × steps) then linear decay to 0, gradient norm clipped at 1.0.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from glues_bench.errors import DataError
from glues_bench.model_ref import ModelRef
from glues_bench.tasks.spec import HParams, ResolvedTask, TaskType
from glues_bench.train.batching import collate, eval_batches, number_of_batches, train_batches
from glues_bench.train.heads import (
    Encoded,
    Head,
    SequenceClassificationHead,
    TokenClassificationHead,
)
from glues_bench.train.qa import ExtractiveQAHead

HEADS: dict[TaskType, Head] = {
    "token_classification": TokenClassificationHead(),
    "sequence_classification": SequenceClassificationHead(),
    "extractive_qa": ExtractiveQAHead(),
}

EVAL_BATCH_SIZE = 64  # no gradients at evaluation: a bigger batch costs little memory
MAX_GRAD_NORM = 1.0  # HF Trainer's default
LOSS_LOG_EVERY = 50  # steps between progress-bar loss updates (each one is a GPU sync)


@dataclass(frozen=True)
class FinetuneResult:
    dev_predictions: dict[str, Any]
    test_predictions: dict[str, Any] | None
    train_loss: list[float]
    """The loss of every optimiser step, in order."""
    epoch_loss: list[float]
    """Mean training loss per epoch."""
    n_train_steps: int
    n_train_examples: int
    n_train_features: int
    seconds: float
    """Wall time of the training loop alone."""
    predict_seconds: float
    device: str
    max_seq_length: int
    batching: dict[str, int] | None = None
    """batch_size, micro_batch_size, accumulation_steps, oom_retries (see `BatchPlan`)."""


def finetune(
    task: ResolvedTask,
    model_ref: ModelRef | str | Path,
    train: Any,
    dev: Any,
    hparams: HParams,
    seed: int,
    *,
    device: str = "cpu",
    test: Any | None = None,
    progress: bool = True,
    max_seq_length: int | None = None,
    max_device_batch: int | None = None,
) -> FinetuneResult:
    """Fine-tune the checkpoint `model_ref` names on `train` and return predictions for `dev` (and `test`).

    `model_ref` says where the checkpoint and its tokenizer are and how they may be loaded (a bare path
    or hub id: safetensors only, no remote code). `train`, `dev` and `test` are `datasets.Dataset`s in the
    schema of `glues_bench.data.schema` for the task's type. `device` is cpu, cuda or auto. The same seed
    on the same device gives the same losses and predictions. `max_device_batch` caps how many examples
    go through the model at once: a larger batch is split into micro-batches whose gradients accumulate
    to the same effective batch (see `BatchPlan`); on CUDA out-of-memory training restarts once with half
    the micro-batch. `FinetuneResult.batching` records what was used.
    """
    import transformers

    from glues_bench.provenance import resolve_device

    # -- config
    device = resolve_device(device)
    head = HEADS[task.task_type]
    model_ref = ModelRef.of(model_ref)
    config = load_config(task, model_ref)
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        model_ref.tokenizer_source(), **model_ref.tokenizer_kwargs()
    )
    max_length = effective_max_length(max_seq_length or task.spec.max_seq_length, tokenizer, config)

    # -- data
    encoded = head.encode(task, train, tokenizer, max_length, training=True)
    if not encoded.features:
        raise DataError(f"task {task.name}: the training split has no usable examples")
    lengths = [len(feature["input_ids"]) for feature in encoded.features]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    plan = BatchPlan.for_batch(hparams.batch_size, max_device_batch)
    arguments = (task, model_ref, config, device, encoded, lengths, pad_id)
    trained = None
    try:
        trained = _train(*arguments, hparams, seed, progress, plan)
    except torch.cuda.OutOfMemoryError:
        if plan.micro_batch_size == 1:
            raise
    if trained is None:  # outside the `except`: its traceback no longer holds the failed model's memory
        # Retrying with the same memory need fails again: halve the micro-batch, keep the effective batch.
        plan = BatchPlan(hparams.batch_size, max(1, plan.micro_batch_size // 2), oom_retries=1)
        _free_cuda_memory()
        trained = _train(*arguments, hparams, seed, progress, plan)
    model, step_losses, epoch_losses, seconds, total_steps = trained

    # -- evaluate
    started = time.perf_counter()
    dev_predictions = predict(head, task, model, tokenizer, dev, max_length, device, progress)
    test_predictions = (
        predict(head, task, model, tokenizer, test, max_length, device, progress)
        if test is not None
        else None
    )
    return FinetuneResult(
        dev_predictions=dev_predictions,
        test_predictions=test_predictions,
        train_loss=step_losses,
        epoch_loss=epoch_losses,
        n_train_steps=total_steps,
        n_train_examples=encoded.n_examples,
        n_train_features=len(encoded.features),
        seconds=seconds,
        predict_seconds=time.perf_counter() - started,
        device=device,
        max_seq_length=max_length,
        batching=plan.describe(),
    )


@dataclass(frozen=True)
class BatchPlan:
    """How one optimiser step's batch goes through the model: whole, or in micro-batches of at most
    `micro_batch_size` whose gradients accumulate (the effective batch stays `batch_size`)."""

    batch_size: int
    micro_batch_size: int
    oom_retries: int = 0

    @classmethod
    def for_batch(cls, batch_size: int, max_device_batch: int | None) -> BatchPlan:
        if max_device_batch is not None and max_device_batch < 1:
            raise ValueError(f"max_device_batch {max_device_batch}: must be at least 1")
        return cls(batch_size, min(batch_size, max_device_batch or batch_size))

    @property
    def accumulation_steps(self) -> int:
        return number_of_batches(self.batch_size, self.micro_batch_size)

    def describe(self) -> dict[str, int]:
        return {
            "batch_size": self.batch_size,
            "micro_batch_size": self.micro_batch_size,
            "accumulation_steps": self.accumulation_steps,
            "oom_retries": self.oom_retries,
        }


def _train(
    task, model_ref: ModelRef, config, device, encoded, lengths, pad_id, hparams, seed, progress,
    plan: BatchPlan,
):  # fmt: skip
    """Model → optimiser → loop. Returns the trained model, step and epoch losses, seconds, steps."""
    import transformers
    from tqdm.auto import tqdm

    head = HEADS[task.task_type]
    # -- model (seeded first: the new head's initial weights depend on the seed)
    transformers.set_seed(seed)
    auto_class = getattr(transformers, head.auto_class)
    model = auto_class.from_pretrained(model_ref.checkpoint, config=config, **model_ref.model_kwargs())
    model = model.to(device)

    # -- optimiser
    steps_per_epoch = number_of_batches(len(encoded.features), hparams.batch_size)
    total_steps = steps_per_epoch * hparams.epochs
    optimizer = torch.optim.AdamW(
        parameter_groups(model, hparams.weight_decay), lr=hparams.learning_rate, fused=device == "cuda"
    )
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimizer, math.ceil(hparams.warmup_ratio * total_steps), total_steps
    )

    # -- loop
    generator = torch.Generator().manual_seed(seed)  # batch order: independent of the model's RNG use
    step_losses: list[float] = []
    epoch_losses: list[float] = []
    started = time.perf_counter()
    model.train()
    for epoch in range(hparams.epochs):
        batches = train_batches(lengths, hparams.batch_size, generator)
        # Updated by hand, not by iterating the bar: iteration closes it before the epoch's loss is known.
        bar = tqdm(
            total=len(batches), desc=f"{task.name} epoch {epoch + 1}/{hparams.epochs}", disable=not progress
        )
        losses = []
        for step, indices in enumerate(batches):
            if plan.micro_batch_size >= len(indices):  # the whole batch at once: exactly the plain loop
                batch = to_device(collate([encoded.features[i] for i in indices], pad_id), device)
                with autocast_for(device):
                    loss = model(**batch).loss
                loss.backward()
            else:
                loss = _accumulate(model, encoded.features, indices, plan.micro_batch_size, pad_id, device)
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.detach())
            bar.update(1)
            if progress and step % LOSS_LOG_EVERY == LOSS_LOG_EVERY - 1:  # mean of the last steps
                bar.set_postfix(loss=f"{torch.stack(losses[-LOSS_LOG_EVERY:]).mean().item():.4f}")
        epoch_step_losses = torch.stack(losses).float().cpu().tolist()  # one sync per epoch
        step_losses += epoch_step_losses
        epoch_losses.append(sum(epoch_step_losses) / len(epoch_step_losses))
        if progress:  # the bar ends on the epoch's mean loss, not on whichever batch was logged last
            bar.set_postfix(loss=f"{epoch_losses[-1]:.4f}")
        bar.close()
    return model, step_losses, epoch_losses, time.perf_counter() - started, total_steps


def _accumulate(model, features, indices: list[int], micro: int, pad_id: int, device: str) -> torch.Tensor:
    """Backward over `indices` in micro-batches; the accumulated gradient is that of the whole batch.

    The model's loss is a mean over loss units (examples; labelled tokens for token classification), so
    each micro-batch's loss is weighted by its share of the batch's units. Returns the batch's loss.
    With dropout the masks differ from a whole-batch pass (other tensor shapes draw other random numbers);
    without it the losses and gradients equal the whole batch's up to float rounding.
    """
    chunks = [indices[i : i + micro] for i in range(0, len(indices), micro)]
    batches = [collate([features[i] for i in chunk], pad_id) for chunk in chunks]
    units = [_loss_units(batch) for batch in batches]
    total_units = sum(units)
    total = torch.zeros((), device=device)
    for batch, n_units in zip(batches, units, strict=True):
        if n_units == 0:  # e.g. a micro-batch of sub-token-only features: contributes nothing
            continue
        with autocast_for(device):
            loss = model(**to_device(batch, device)).loss * (n_units / total_units)
        loss.backward()
        total = total + loss.detach()
    return total


def _loss_units(batch: dict[str, torch.Tensor]) -> int:
    """What the model's mean loss divides by: labelled tokens (token labels) or examples."""
    labels = batch.get("labels")
    if labels is not None and labels.dim() == 2:
        from glues_bench.train.batching import IGNORE_INDEX

        return int((labels != IGNORE_INDEX).sum())
    return len(batch["input_ids"])


def _free_cuda_memory() -> None:
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def predict(
    head: Head, task, model, tokenizer, dataset, max_length: int, device: str, progress: bool
) -> dict:
    """Predictions for every example of `dataset`, in the `glues-bench score` format."""
    encoded: Encoded = head.encode(task, dataset, tokenizer, max_length, training=False)
    outputs = predict_features(head, model, encoded.features, tokenizer, device, progress, task.name)
    return head.decode(task, dataset, encoded, outputs)


@torch.inference_mode()
def predict_features(
    head: Head, model, features: Sequence[dict], tokenizer, device: str, progress: bool, label: str = ""
) -> list[Any]:
    """The head's per-feature outputs, in feature order; batches sorted by length to pad little."""
    from tqdm.auto import tqdm

    model.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    outputs: list[Any] = [None] * len(features)
    batches = eval_batches([len(f["input_ids"]) for f in features], EVAL_BATCH_SIZE)
    for indices in tqdm(batches, desc=f"{label} predict", disable=not progress):
        batch = to_device(collate([features[i] for i in indices], pad_id), device)
        with autocast_for(device):
            model_outputs = model(**batch)
        for i, output in zip(indices, head.feature_outputs(model_outputs, batch), strict=True):
            outputs[i] = output
    return outputs


def load_config(task: ResolvedTask, model_ref: ModelRef):
    """The checkpoint's config with the task's label set written in, so a saved model describes itself."""
    from transformers import AutoConfig

    label_kwargs = {}
    if task.labels:
        label_kwargs = {
            "num_labels": len(task.labels),
            "id2label": dict(enumerate(task.labels)),
            "label2id": {label: i for i, label in enumerate(task.labels)},
        }
    return AutoConfig.from_pretrained(model_ref.checkpoint, **model_ref.config_kwargs(), **label_kwargs)


def effective_max_length(requested: int, tokenizer, config) -> int:
    """The requested length, capped by what the tokenizer and the position embeddings support."""
    limits = [requested]
    if 0 < tokenizer.model_max_length < 1_000_000:  # unset lengths are a huge sentinel
        limits.append(tokenizer.model_max_length)
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        limits.append(positions)
    return min(limits)


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay for weights; none for biases and normalisation layers (HF Trainer's grouping)."""
    decay, no_decay, seen = [], [], set()
    for module in model.modules():
        is_norm = isinstance(module, torch.nn.LayerNorm) or "norm" in type(module).__name__.lower()
        for name, parameter in module.named_parameters(recurse=False):
            if not parameter.requires_grad or id(parameter) in seen:  # tied weights: optimise once
                continue
            seen.add(id(parameter))
            (no_decay if is_norm or name == "bias" else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def autocast_for(device: str):
    """bf16 autocast on CUDA GPUs that support it; full precision on CPU (for bit-exact reruns)."""
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(batch: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}
