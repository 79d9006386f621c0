"""The training loop shared by ALBETO pretraining and DistilBETO distillation.

Reading order = running order: (resume) -> for each optimiser step: accumulate micro-batches under
autocast -> clip -> step -> schedule -> log -> checkpoint. A checkpoint holds everything the next step
depends on -- weights, optimiser and scheduler state, the data stream's position and the torch, numpy
and python RNG states (dropout draws from torch's) -- so a run killed after checkpoint k and resumed
produces the same losses for steps k+1.. as a run that never stopped.

Checkpoint layout (`<out>/checkpoints/step-0000100/`): `model.safetensors` (the trainable module's
state), `training_state.pt` (optimiser, scheduler, stream, RNG; loaded with `weights_only=True`) and
`state.json` (step, tokens so far, run config). A checkpoint directory is written under a temporary
name and renamed, so a kill mid-write never leaves a half checkpoint that `latest_checkpoint` would pick.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from glues_bench.errors import PretrainError
from glues_bench.pretrain.presets import LoopSettings

log = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
LOG_FILE = "log.jsonl"
_CHECKPOINT_PREFIX = "step-"


class Objective(Protocol):
    """A model plus the loss it is trained on."""

    trainable: nn.Module  # optimised and checkpointed

    def to(self, device: torch.device) -> Objective: ...

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(total loss to back-propagate, named components to log)."""
        ...


class BatchSource(Protocol):
    def next_batch(self, size: int) -> dict[str, torch.Tensor]: ...
    def state_dict(self) -> dict[str, int]: ...
    def load_state_dict(self, state: dict[str, int]) -> None: ...


@dataclass(frozen=True)
class LoopConfig:
    """How long to train and how often to log and checkpoint."""

    max_steps: int  # optimiser steps
    micro_batch_size: int  # sequences per forward pass
    accumulation: int = 1  # micro-batches per optimiser step
    grad_clip: float | None = 1.0  # global-norm clipping (ALBERT/BERT: 1.0; DistilBERT: 5.0)
    checkpoint_every: int = 1000  # steps; the last step is always checkpointed
    keep_checkpoints: int = 2
    log_every: int = 1  # steps per JSONL record
    bf16: bool | None = None  # None: bf16 autocast when training on CUDA
    device: str | None = None  # None: cuda when available, else cpu
    progress: bool = True  # tqdm bar

    def __post_init__(self) -> None:
        for name in ("max_steps", "micro_batch_size", "accumulation", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise PretrainError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def batch_size(self) -> int:
        return self.micro_batch_size * self.accumulation


@dataclass
class LoopResult:
    """What a run did: losses per optimiser step (only those run by this call), throughput, where it saved."""

    losses: dict[int, float] = field(default_factory=dict)
    components: dict[int, dict[str, float]] = field(default_factory=dict)
    start_step: int = 0
    end_step: int = 0
    tokens: int = 0  # non-padding tokens processed by this call
    tokens_before: int = 0  # processed by earlier sessions of the run (from the checkpoint resumed)
    seconds: float = 0.0
    last_checkpoint: Path | None = None

    @property
    def tokens_total(self) -> int:
        return self.tokens_before + self.tokens

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def final_loss(self, window: int = 20) -> float:
        """Mean loss of the last `window` steps (a single step is noisy)."""
        recent = [self.losses[s] for s in sorted(self.losses)[-window:]]
        return float(np.mean(recent)) if recent else math.nan


def linear_schedule(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """ALBERT's schedule: linear warm-up to the peak, then linear (polynomial power 1) decay to 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def resolve_device(requested: str | None) -> torch.device:
    """None means auto: CUDA when available (the same rule as fine-tuning)."""
    from glues_bench.provenance import resolve_device as resolve_device_name

    return torch.device(resolve_device_name(requested or "auto"))


def loop_config(config: Any, max_steps: int, accumulation: int) -> LoopConfig:
    """The loop settings a pretraining or distillation config carries: its `LoopSettings` as they are, plus
    the batch size and gradient clipping both name alike but default differently."""
    return LoopConfig(
        max_steps=max_steps,
        micro_batch_size=config.micro_batch_size,
        accumulation=accumulation,
        grad_clip=config.grad_clip,
        **{setting.name: getattr(config, setting.name) for setting in fields(LoopSettings)},
    )


def train(
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    stream: BatchSource,
    config: LoopConfig,
    out_dir: Path,
    run_config: Mapping[str, Any],
    resume_from: Path | None = None,
) -> LoopResult:
    """Train until `config.max_steps` optimiser steps; resume from a checkpoint when given one.

    `run_config` (JSON-able) is stored with every checkpoint; resuming with a different one is refused,
    except for the keys in `RESUMABLE_CHANGES` (more steps, a new output directory).
    """
    device = resolve_device(config.device)
    objective.to(device)
    bf16 = device.type == "cuda" if config.bf16 is None else config.bf16
    out_dir.mkdir(parents=True, exist_ok=True)
    step = tokens_before = 0
    if resume_from is not None:
        step, tokens_before = load_checkpoint(
            resume_from, objective.trainable, optimizer, scheduler, stream, run_config, device
        )
        _truncate_log(out_dir / LOG_FILE, step)
        log.info("resumed from %s at step %d", resume_from, step)
    result = LoopResult(start_step=step, end_step=step, tokens_before=tokens_before)
    trainable = objective.trainable
    trainable.train()
    bar = _progress_bar(config, step)
    started = time.perf_counter()
    with open(out_dir / LOG_FILE, "a", encoding="utf-8") as log_file:
        while step < config.max_steps:
            step_started = time.perf_counter()
            loss, components, tokens = _optimizer_step(objective, optimizer, stream, config, device, bf16)
            scheduler.step()
            step += 1
            elapsed = time.perf_counter() - step_started
            result.losses[step], result.components[step] = loss, components
            result.tokens += tokens
            result.end_step = step
            if step % config.log_every == 0 or step == config.max_steps:
                record = {
                    "step": step,
                    "loss": loss,
                    **components,
                    "lr": scheduler.get_last_lr()[0],
                    "tokens": tokens,
                    "tokens_per_s": round(tokens / elapsed, 1),
                    "elapsed_s": round(time.perf_counter() - started, 2),
                }
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens / elapsed:,.0f}")
            if step % config.checkpoint_every == 0 or step == config.max_steps:
                result.last_checkpoint = save_checkpoint(
                    out_dir,
                    step,
                    result.tokens_total,
                    trainable,
                    optimizer,
                    scheduler,
                    stream,
                    run_config,
                    config.keep_checkpoints,
                )
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - started
    return result


def _optimizer_step(
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    stream: BatchSource,
    config: LoopConfig,
    device: torch.device,
    bf16: bool,
) -> tuple[float, dict[str, float], int]:
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    components: dict[str, float] = {}
    tokens = 0
    for _ in range(config.accumulation):
        batch = {k: v.to(device) for k, v in stream.next_batch(config.micro_batch_size).items()}
        tokens += int(batch["attention_mask"].sum())
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            loss, parts = objective.loss(batch)
        (loss / config.accumulation).backward()
        total += float(loss.detach()) / config.accumulation
        for name, value in parts.items():
            components[name] = components.get(name, 0.0) + float(value.detach()) / config.accumulation
    if not math.isfinite(total):
        raise PretrainError(f"loss became {total}; lower the learning rate or check the data")
    if config.grad_clip:
        torch.nn.utils.clip_grad_norm_(objective.trainable.parameters(), config.grad_clip)
    optimizer.step()
    return total, components, tokens


def _progress_bar(config: LoopConfig, step: int):
    if not config.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.max_steps, initial=step, desc="train", unit="step", dynamic_ncols=True)


# ---- checkpoints -------------------------------------------------------------------------------------

RESUMABLE_CHANGES = frozenset({"max_steps", "out_dir", "progress", "checkpoint_every", "log_every"})


def checkpoint_name(step: int) -> str:
    return f"{_CHECKPOINT_PREFIX}{step:07d}"


def list_checkpoints(out_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = out_dir / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [
        p for p in root.iterdir() if p.name.startswith(_CHECKPOINT_PREFIX) and (p / "state.json").is_file()
    ]
    return sorted(found, key=lambda p: int(p.name.removeprefix(_CHECKPOINT_PREFIX)))


def latest_checkpoint(out_dir: Path) -> Path | None:
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


def save_checkpoint(
    out_dir: Path,
    step: int,
    tokens_total: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    stream: BatchSource,
    run_config: Mapping[str, Any],
    keep: int,
) -> Path:
    from safetensors.torch import save_model

    root = out_dir / CHECKPOINTS_DIR
    final = root / checkpoint_name(step)
    tmp = root / f".tmp-{checkpoint_name(step)}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))  # handles tied weights
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "stream": stream.state_dict(),
            "rng": capture_rng_state(),
        },
        tmp / "training_state.pt",
    )
    state = {"step": step, "tokens_total": tokens_total, "run_config": dict(run_config)}
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in list_checkpoints(out_dir)[:-keep]:
        shutil.rmtree(old)
    return final


def load_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    stream: BatchSource,
    run_config: Mapping[str, Any],
    device: torch.device,
) -> tuple[int, int]:
    """Restore everything in place; return the checkpoint's (step, tokens processed so far)."""
    from safetensors.torch import load_model

    state_file = path / "state.json"
    if not state_file.is_file():
        raise PretrainError(f"{path}: not a checkpoint (no state.json)")
    saved = json.loads(state_file.read_text())
    _check_same_run(saved["run_config"], run_config, path)
    load_model(model, str(path / "model.safetensors"), device=str(device))
    training_state = torch.load(path / "training_state.pt", map_location=device, weights_only=True)
    optimizer.load_state_dict(training_state["optimizer"])
    scheduler.load_state_dict(training_state["scheduler"])
    stream.load_state_dict(training_state["stream"])
    restore_rng_state(training_state["rng"])  # last: building the model above consumed random numbers
    return int(saved["step"]), int(saved["tokens_total"])


def _check_same_run(saved: Mapping[str, Any], current: Mapping[str, Any], path: Path) -> None:
    keys = (set(saved) | set(current)) - RESUMABLE_CHANGES
    differing = sorted(k for k in keys if saved.get(k) != current.get(k))
    if differing:
        details = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {current.get(k)!r}" for k in differing)
        raise PretrainError(f"{path}: cannot resume a different run ({details})")


def capture_rng_state() -> dict[str, Any]:
    """torch (CPU and CUDA), numpy's global and python's global generator states, as plain tensors/ints."""
    np_state = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].cpu().numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate(
        (python_state["version"], tuple(python_state["internal"].tolist()), python_state["gauss"])
    )
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _truncate_log(path: Path, step: int) -> None:
    """Drop records written after the checkpoint by the run that was killed, so the log has no duplicates."""
    if not path.is_file():
        return
    kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in kept))


def read_log(out_dir: Path) -> list[dict[str, Any]]:
    path = out_dir / LOG_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
