"""DistilBETO: a 6-layer student distilled from BETO with Sanh et al.'s (2019) triple loss (paper, 3.3).

Student: BETO's architecture without token-type embeddings, without the pooler and with half the
layers -- i.e. a `DistilBertForMaskedLM` built from the teacher's `BertConfig`. It starts from the
teacher's embeddings and evenly spaced teacher layers: `round(linspace(0, L-1, L/2))`, which for a
12-layer teacher gives 0,2,4,7,9,11 -- the exact list of Sanh et al.'s `extract_distilbert.py` -- and
the teacher's MLM head (their `--vocab_transform`).

Loss = alpha_ce * T² * KL(student/T || teacher/T) over the non-pad tokens (Sanh's default; or only
the masked ones) + alpha_mlm * masked-LM cross-entropy + alpha_cos * (1 - cos) between the last hidden
states of non-pad tokens. Defaults are Sanh et al.'s `train.py` (T=2, 5/2/1, AdamW lr 5e-4, eps 1e-6,
no weight decay, 5% warm-up, gradient norm 5, micro-batch 5 x 50 accumulation). Masking is token-level
80/10/10 at 15%; Sanh's extra rare-token smoothing of the masking probabilities is not implemented.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from glues_bench.errors import PretrainError
from glues_bench.pretrain.albert import count_parameters, export_model, training_summary
from glues_bench.pretrain.instances import InstanceStream, TokenizedDocument
from glues_bench.pretrain.loop import LoopResult, linear_schedule, loop_config, train
from glues_bench.pretrain.masking import IGNORE_INDEX, MaskingConfig, max_predictions_for
from glues_bench.pretrain.presets import BETO_CASED, DistillConfig, LossWeights  # noqa: F401 - re-exported
from glues_bench.train.finetune import parameter_groups

log = logging.getLogger(__name__)


# DistilBERT's name for each BERT config field the student copies from its teacher.
STUDENT_FROM_TEACHER = {
    "vocab_size": "vocab_size",
    "max_position_embeddings": "max_position_embeddings",
    "n_heads": "num_attention_heads",
    "dim": "hidden_size",
    "hidden_dim": "intermediate_size",
    "dropout": "hidden_dropout_prob",
    "attention_dropout": "attention_probs_dropout_prob",
    "activation": "hidden_act",
    "initializer_range": "initializer_range",
    "pad_token_id": "pad_token_id",
}


def student_config(teacher_config, n_layers: int | None = None):
    """A `DistilBertConfig` of the teacher's width and vocabulary with `n_layers` (default: half) layers."""
    from transformers import DistilBertConfig

    copied = {ours: getattr(teacher_config, theirs) for ours, theirs in STUDENT_FROM_TEACHER.items()}
    layers = n_layers or max(1, teacher_config.num_hidden_layers // 2)
    return DistilBertConfig(sinusoidal_pos_embds=False, n_layers=layers, **copied)


def teacher_layers_for(n_teacher: int, n_student: int) -> list[int]:
    """Evenly spaced teacher layers, first and last included: 12 -> 6 gives [0, 2, 4, 7, 9, 11]."""
    if not 1 <= n_student <= n_teacher:
        raise PretrainError(f"cannot initialise {n_student} student layers from {n_teacher} teacher layers")
    if n_student == 1:
        return [0]
    return [int(i) for i in np.round(np.linspace(0, n_teacher - 1, n_student))]


# DistilBERT name <- BERT name, for one transformer layer.
_LAYER_MAP = {
    "attention.q_lin": "attention.self.query",
    "attention.k_lin": "attention.self.key",
    "attention.v_lin": "attention.self.value",
    "attention.out_lin": "attention.output.dense",
    "sa_layer_norm": "attention.output.LayerNorm",
    "ffn.lin1": "intermediate.dense",
    "ffn.lin2": "output.dense",
    "output_layer_norm": "output.LayerNorm",
}


def student_state_from_teacher(
    teacher_state: dict[str, torch.Tensor], layers: Sequence[int]
) -> dict[str, torch.Tensor]:
    """Sanh et al.'s extraction: embeddings, the chosen layers, the MLM head.

    One change: BERT adds the token-type-0 embedding to every single-segment input, and the student has
    no token types, so that vector is folded into the position table instead of being dropped. A
    student given all of the teacher's layers then computes exactly the teacher's function.
    """
    type_zero = teacher_state["bert.embeddings.token_type_embeddings.weight"][0]
    state = {
        f"distilbert.embeddings.{name}": teacher_state[f"bert.embeddings.{name}"]
        for name in ("word_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias")
    }
    state["distilbert.embeddings.position_embeddings.weight"] = (
        teacher_state["bert.embeddings.position_embeddings.weight"] + type_zero
    )
    for student_index, teacher_index in enumerate(layers):
        for student_name, teacher_name in _LAYER_MAP.items():
            for kind in ("weight", "bias"):
                state[f"distilbert.transformer.layer.{student_index}.{student_name}.{kind}"] = teacher_state[
                    f"bert.encoder.layer.{teacher_index}.{teacher_name}.{kind}"
                ]
    for kind in ("weight", "bias"):
        state[f"vocab_transform.{kind}"] = teacher_state[f"cls.predictions.transform.dense.{kind}"]
        state[f"vocab_layer_norm.{kind}"] = teacher_state[f"cls.predictions.transform.LayerNorm.{kind}"]
    state["vocab_projector.weight"] = teacher_state["bert.embeddings.word_embeddings.weight"]  # tied
    state["vocab_projector.bias"] = teacher_state["cls.predictions.bias"]
    return {name: tensor.detach().clone() for name, tensor in state.items()}


def build_student(teacher: nn.Module, n_layers: int | None = None) -> nn.Module:
    """A `DistilBertForMaskedLM` initialised from the teacher (`BertForMaskedLM`)."""
    from transformers import DistilBertForMaskedLM

    config = student_config(teacher.config, n_layers)
    student = DistilBertForMaskedLM(config)
    layers = teacher_layers_for(teacher.config.num_hidden_layers, config.n_layers)
    missing, unexpected = student.load_state_dict(
        student_state_from_teacher(teacher.state_dict(), layers), strict=False
    )
    if unexpected or any(not name.startswith("vocab_projector.weight") for name in missing):
        raise PretrainError(f"teacher/student mismatch: missing {missing}, unexpected {unexpected}")
    student.tie_weights()
    log.info("student initialised from teacher layers %s", layers)
    return student


def load_teacher(name_or_path: str, revision: str | None = None):
    """(BertForMaskedLM, tokenizer) from a hub id (e.g. BETO) or a local directory."""
    from transformers import AutoTokenizer, BertForMaskedLM

    try:
        teacher = BertForMaskedLM.from_pretrained(name_or_path, revision=revision)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, revision=revision)
    except OSError as exc:  # offline, not found, not a BERT checkpoint
        raise PretrainError(f"teacher {name_or_path!r}: cannot load ({exc})") from exc
    if teacher.config.model_type != "bert":
        raise PretrainError(f"teacher {name_or_path!r} is a {teacher.config.model_type}, expected bert")
    return teacher, tokenizer


def triple_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    student_hidden: torch.Tensor,
    teacher_hidden: torch.Tensor,
    labels: torch.Tensor,
    attention_mask: torch.Tensor,
    weights: LossWeights,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Sanh et al.'s distillation loss; returns (weighted total, unweighted components)."""
    keep = attention_mask.bool()
    ce_rows = (labels != IGNORE_INDEX) if weights.restrict_ce_to_mask else keep
    t = weights.temperature
    loss_ce = F.kl_div(
        F.log_softmax(student_logits[ce_rows].float() / t, dim=-1),
        F.softmax(teacher_logits[ce_rows].float() / t, dim=-1),
        reduction="batchmean",
    ) * (t**2)
    masked = labels != IGNORE_INDEX
    loss_mlm = F.cross_entropy(student_logits[masked].float(), labels[masked])
    student_rows, teacher_rows = student_hidden[keep].float(), teacher_hidden[keep].float()
    target = student_rows.new_ones(student_rows.size(0))
    loss_cos = F.cosine_embedding_loss(student_rows, teacher_rows, target)
    total = weights.alpha_ce * loss_ce + weights.alpha_mlm * loss_mlm + weights.alpha_cos * loss_cos
    return total, {"ce": loss_ce, "mlm": loss_mlm, "cos": loss_cos}


class DistillationObjective:
    """Student trains; teacher runs frozen in eval mode, without gradients."""

    def __init__(self, student: nn.Module, teacher: nn.Module, weights: LossWeights) -> None:
        self.trainable = student
        self.teacher = teacher.eval().requires_grad_(False)
        self.weights = weights

    def to(self, device: torch.device) -> DistillationObjective:
        self.trainable.to(device)
        self.teacher.to(device)
        return self

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        student = self.trainable(**inputs, output_hidden_states=True)
        with torch.no_grad():
            teacher = self.teacher(**inputs, output_hidden_states=True)
        return triple_loss(
            student.logits,
            teacher.logits,
            student.hidden_states[-1],
            teacher.hidden_states[-1],
            batch["labels"],
            batch["attention_mask"],
            self.weights,
        )


@dataclass
class DistillResult:
    model_dir: Path
    loop: LoopResult
    n_parameters: int
    teacher_layers: list[int]


def distill(
    documents: Sequence[TokenizedDocument],
    tokenizer,
    teacher: nn.Module,
    config: DistillConfig,
    out_dir: Path,
    resume_from: Path | None = None,
    extra_run_config: dict[str, Any] | None = None,
) -> DistillResult:
    """Distil `teacher` into a DistilBERT student; the final model (with the teacher's tokenizer) goes to
    `out_dir/model`."""
    if config.seq_len > teacher.config.max_position_embeddings:
        raise PretrainError(
            f"--seq-len {config.seq_len} exceeds the teacher's "
            f"{teacher.config.max_position_embeddings} positions"
        )
    torch.manual_seed(config.seed)
    student = build_student(teacher, config.student_layers)
    layers = teacher_layers_for(teacher.config.num_hidden_layers, student.config.n_layers)
    masking = MaskingConfig(
        max_predictions=max_predictions_for(config.seq_len), max_ngram=1, whole_word=False
    )
    stream = InstanceStream(documents, tokenizer, config.seq_len, masking, pairs=False, seed=config.seed)
    optimizer = torch.optim.AdamW(
        parameter_groups(student, config.weight_decay),
        lr=config.learning_rate,
        eps=config.adam_epsilon,
        betas=(0.9, 0.98),
    )
    warmup = max(1, round(config.warmup_ratio * config.max_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(warmup, config.max_steps))
    settings = loop_config(config, config.max_steps, config.accumulation)
    run_config = {
        **asdict(config),
        "batch_size": config.micro_batch_size * config.accumulation,
        "teacher_layers": layers,
        "out_dir": str(out_dir),
        **(extra_run_config or {}),
    }
    objective = DistillationObjective(student, teacher, config.loss_weights())
    result = train(objective, optimizer, scheduler, stream, settings, out_dir, run_config, resume_from)
    # DistilBERT has no token types: make the saved tokenizer stop producing them.
    tokenizer.model_input_names = ["input_ids", "attention_mask"]
    model_dir = export_model(
        student, tokenizer, out_dir / "model", summary=training_summary(result, run_config)
    )
    return DistillResult(model_dir, result, count_parameters(student), layers)
