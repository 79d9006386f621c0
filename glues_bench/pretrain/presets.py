"""Model sizes (Table 1), pretraining schedules (Table 2) and the distillation config: plain data, importable
without torch, so that the scripts parse their options (and answer `--help`) before their heavy imports."""

from __future__ import annotations

from dataclasses import dataclass

from glues_bench.errors import UnknownName

BETO_CASED = "dccuchile/bert-base-spanish-wwm-cased"
"""The default distillation teacher (a hub id: needs the network or a cache)."""


@dataclass(frozen=True)
class Preset:
    """One model size: architecture (Table 1) and pretraining schedule (Table 2)."""

    name: str
    family: str  # "albert" | "bert"
    layers: int
    hidden: int
    heads: int
    intermediate: int
    embedding: int | None  # ALBERT's factorised embedding size; None for BERT
    vocab_size: int
    paper_params_m: int | None  # Table 1, in millions (None: not a paper model)
    learning_rate: float
    batch_size: int
    warmup_steps: int
    total_steps: int
    weight_decay: float = 0.01
    max_position_embeddings: int = 512

    def warmup_for(self, total_steps: int) -> int:
        """The preset's warm-up, scaled to a shorter (or longer) run in the same proportion."""
        if total_steps == self.total_steps:
            return self.warmup_steps
        return max(1, round(self.warmup_steps * total_steps / self.total_steps))


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("tiny", "albert", 4, 312, 12, 1248, 128, 31_000, 5, 1.25e-3, 2048, 125_000, 8_300_000),
        Preset("base", "albert", 12, 768, 12, 3072, 128, 31_000, 12, 8.83e-4, 960, 53_333, 3_650_000),
        Preset("large", "albert", 24, 1024, 16, 4096, 128, 31_000, 18, 6.25e-4, 512, 12_500, 1_450_000),
        Preset("xlarge", "albert", 24, 2048, 16, 8192, 128, 31_000, 59, 3.12e-4, 128, 6_250, 2_775_000),
        Preset("xxlarge", "albert", 12, 4096, 64, 16384, 128, 31_000, 223, 3.12e-4, 128, 3_125, 1_650_000),
        # In-house teacher for offline distillation demos; its schedule is our choice, not the paper's.
        # vocab_size 0: exactly the tokenizer's (a 31K table would dominate so small a model).
        Preset("bert-mini", "bert", 4, 256, 4, 1024, None, 0, None, 1e-3, 128, 1_000, 100_000),
    )
}
PAPER_PRESETS = ("tiny", "base", "large", "xlarge", "xxlarge")


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise UnknownName("preset", name, PRESETS)
    return PRESETS[name]


@dataclass(frozen=True)
class LossWeights:
    temperature: float = 2.0
    alpha_ce: float = 5.0
    alpha_mlm: float = 2.0
    alpha_cos: float = 1.0
    restrict_ce_to_mask: bool = False  # Sanh's default: distil on every non-pad token


@dataclass(frozen=True, kw_only=True)
class LoopSettings:
    """The loop settings a pretraining and a distillation config share (keyword-only, after each config's
    own fields), read by `loop.loop_config`."""

    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    log_every: int = 1
    device: str | None = None
    bf16: bool | None = None
    progress: bool = True


@dataclass(frozen=True)
class DistillConfig(LoopSettings):
    """A distillation run (stored with checkpoints; a resume must match it)."""

    teacher: str
    seq_len: int = 512
    max_steps: int = 90_000  # DistilBETO's 90k steps (paper, section 3.3)
    micro_batch_size: int = 5
    accumulation: int = 50
    learning_rate: float = 5e-4
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    adam_epsilon: float = 1e-6
    grad_clip: float = 5.0
    student_layers: int | None = None  # None: half the teacher's
    temperature: float = 2.0
    alpha_ce: float = 5.0
    alpha_mlm: float = 2.0
    alpha_cos: float = 1.0
    restrict_ce_to_mask: bool = False
    seed: int = 56  # Sanh et al.'s default

    def loss_weights(self) -> LossWeights:
        return LossWeights(
            self.temperature, self.alpha_ce, self.alpha_mlm, self.alpha_cos, self.restrict_ce_to_mask
        )
