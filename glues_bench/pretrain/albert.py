"""ALBETO: ALBERT pretrained on Spanish with masked-LM + sentence-order prediction (paper, section 3.2).

The five presets are the paper's Table 1 architectures and Table 2 optimisation. Heads and
intermediate sizes are ALBERT's base/large/xlarge/xxlarge (Lan et al., 2020) and Chinese ALBERT-tiny's
(the paper: "ALBETO tiny has the same size and configuration as Chinese ALBERT tiny"). Parameter counts
of `AlbertForPreTraining` with the 31K vocabulary round to Table 1: 5.42M, 11.94M, 17.98M, 59.15M,
223.29M -> 5M / 12M / 18M / 59M / 223M.

`bert-mini` is not from the paper: a small BERT (MLM only, same data and masking) used here as a
stand-in teacher for distillation when BETO itself cannot be downloaded.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn
from torch.nn import functional as F

from glues_bench.errors import PretrainError
from glues_bench.pretrain.instances import InstanceStream, TokenizedDocument
from glues_bench.pretrain.loop import LoopResult, linear_schedule, loop_config, train
from glues_bench.pretrain.masking import IGNORE_INDEX, MaskingConfig, max_predictions_for
from glues_bench.pretrain.presets import (  # noqa: F401 - re-exported
    PAPER_PRESETS,
    PRESETS,
    LoopSettings,
    Preset,
    get_preset,
)
from glues_bench.train.finetune import parameter_groups

log = logging.getLogger(__name__)


def model_config(preset: Preset, vocab_size: int | None = None, **special_ids: int):
    """The transformers config of a preset; `vocab_size` never shrinks below the preset's (Table 1 counts)."""
    from transformers import AlbertConfig, BertConfig

    vocab = max(preset.vocab_size, vocab_size or 0)
    common = {
        "vocab_size": vocab,
        "hidden_size": preset.hidden,
        "num_hidden_layers": preset.layers,
        "num_attention_heads": preset.heads,
        "intermediate_size": preset.intermediate,
        "max_position_embeddings": preset.max_position_embeddings,
        **special_ids,
    }
    if preset.family == "albert":
        # ALBERT v2 defaults: gelu_new, no dropout in the encoder; the SOP head has classifier dropout.
        return AlbertConfig(embedding_size=preset.embedding, **common)
    return BertConfig(**common)


def build_model(preset: Preset, vocab_size: int | None = None, **special_ids: int) -> nn.Module:
    """`AlbertForPreTraining` (MLM + SOP heads) or, for BERT presets, `BertForMaskedLM`."""
    from transformers import AlbertForPreTraining, BertForMaskedLM

    config = model_config(preset, vocab_size, **special_ids)
    return AlbertForPreTraining(config) if preset.family == "albert" else BertForMaskedLM(config)


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (tied embeddings counted once), as `model.parameters()` yields them."""
    return sum(p.numel() for p in model.parameters())


_Objective = TypeVar("_Objective", bound="_EncoderObjective")


class _EncoderObjective:
    """What both objectives share: the model they train, moved as one, and its encoder run on a batch."""

    def __init__(self, model: nn.Module) -> None:
        self.trainable = model

    def to(self: _Objective, device: torch.device) -> _Objective:
        self.trainable.to(device)
        return self

    @staticmethod
    def _encode(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> Any:
        return encoder(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"],
        )


class AlbertObjective(_EncoderObjective):
    """MLM (on masked positions only: the vocabulary projection of unmasked tokens is wasted work) + SOP."""

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model = self.trainable
        outputs = self._encode(model.albert, batch)
        mlm = _masked_lm_loss(model.predictions, outputs.last_hidden_state, batch["labels"])
        sop_logits = model.sop_classifier(outputs.pooler_output)
        sop = F.cross_entropy(sop_logits.float(), batch["sentence_order_label"])
        return mlm + sop, {"mlm": mlm, "sop": sop}


class BertMlmObjective(_EncoderObjective):
    """Masked-LM only (BERT without next-sentence prediction, as RoBERTa and the DistilBERT teacher use)."""

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model = self.trainable
        outputs = self._encode(model.bert, batch)
        mlm = _masked_lm_loss(model.cls, outputs.last_hidden_state, batch["labels"])
        return mlm, {"mlm": mlm}


def _masked_lm_loss(head: nn.Module, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    selected = labels != IGNORE_INDEX
    logits = head(hidden[selected])
    return F.cross_entropy(logits.float(), labels[selected])


def objective_for(preset: Preset, model: nn.Module):
    return AlbertObjective(model) if preset.family == "albert" else BertMlmObjective(model)


@dataclass(frozen=True)
class PretrainConfig(LoopSettings):
    """Everything that defines a pretraining run (stored with checkpoints; a resume must match it)."""

    preset: str
    seq_len: int = 512
    max_steps: int | None = None  # None: the preset's total steps
    micro_batch_size: int = 32
    accumulation: int | None = None  # None: enough micro-batches to reach the preset's batch size
    learning_rate: float | None = None  # None: the preset's
    warmup_steps: int | None = None  # None: the preset's, scaled to max_steps
    seed: int = 0
    short_seq_prob: float = 0.1
    max_ngram: int = 3
    grad_clip: float = 1.0

    def resolved(self) -> dict[str, Any]:
        """The run's effective numbers (preset defaults filled in)."""
        preset = get_preset(self.preset)
        steps = self.max_steps or preset.total_steps
        accumulation = self.accumulation or max(1, -(-preset.batch_size // self.micro_batch_size))
        return {
            "max_steps": steps,
            "accumulation": accumulation,
            "batch_size": self.micro_batch_size * accumulation,
            "learning_rate": self.learning_rate or preset.learning_rate,
            "warmup_steps": self.warmup_steps if self.warmup_steps is not None else preset.warmup_for(steps),
        }


@dataclass
class PretrainResult:
    model_dir: Path
    loop: LoopResult
    n_parameters: int
    resolved: dict[str, Any]


def make_optimizer(model: nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.Optimizer:
    """LAMB (You et al., 2019), as ALBERT and ALBETO; betas/eps are ALBERT's."""
    import torch_optimizer

    return torch_optimizer.Lamb(
        parameter_groups(model, weight_decay), lr=learning_rate, betas=(0.9, 0.999), eps=1e-6
    )


def pretrain(
    documents: Sequence[TokenizedDocument],
    tokenizer,
    config: PretrainConfig,
    out_dir: Path,
    resume_from: Path | None = None,
    extra_run_config: dict[str, Any] | None = None,
) -> PretrainResult:
    """Pretrain a preset on tokenised documents; write checkpoints under `out_dir` and the final model
    (HF format, safetensors, with the tokenizer) to `out_dir/model`."""
    preset = get_preset(config.preset)
    resolved = config.resolved()
    if config.seq_len > preset.max_position_embeddings:
        raise PretrainError(
            f"--seq-len {config.seq_len} exceeds the model's {preset.max_position_embeddings} positions"
        )
    torch.manual_seed(config.seed)
    model = build_model(
        preset,
        len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        **(
            {"bos_token_id": tokenizer.cls_token_id, "eos_token_id": tokenizer.sep_token_id}
            if preset.family == "albert"
            else {}
        ),
    )
    masking = MaskingConfig(
        max_predictions=max_predictions_for(config.seq_len),
        max_ngram=config.max_ngram if preset.family == "albert" else 1,
    )
    stream = InstanceStream(
        documents,
        tokenizer,
        config.seq_len,
        masking,
        pairs=preset.family == "albert",
        seed=config.seed,
        short_seq_prob=config.short_seq_prob,
    )
    optimizer = make_optimizer(model, resolved["learning_rate"], preset.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, linear_schedule(resolved["warmup_steps"], resolved["max_steps"])
    )
    settings = loop_config(config, resolved["max_steps"], resolved["accumulation"])
    run_config = {**asdict(config), **resolved, "out_dir": str(out_dir), **(extra_run_config or {})}
    result = train(
        objective_for(preset, model),
        optimizer,
        scheduler,
        stream,
        settings,
        out_dir,
        run_config,
        resume_from,
    )
    model_dir = export_model(
        model, tokenizer, out_dir / "model", summary=training_summary(result, run_config)
    )
    return PretrainResult(model_dir, result, count_parameters(model), resolved)


def training_summary(result: LoopResult, run_config: dict[str, Any]) -> dict[str, Any]:
    device = run_config.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    hardware = (
        torch.cuda.get_device_name(0)
        if device.startswith("cuda")
        else f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} thread(s)"
    )
    return {
        "steps": result.end_step,
        "steps_this_session": result.end_step - result.start_step,
        "tokens": result.tokens_total,
        "tokens_this_session": result.tokens,
        "seconds_this_session": round(result.seconds, 1),
        "tokens_per_second": round(result.tokens_per_second, 1),
        "final_loss": round(result.final_loss(), 4),
        "hardware": hardware,
        "run_config": run_config,
    }


def export_model(model: nn.Module, tokenizer, directory: Path, summary: dict[str, Any]) -> Path:
    """HF-format checkpoint (config + safetensors) and the tokenizer files, loadable by `AutoModelFor*`."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    (directory / "training_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return directory
