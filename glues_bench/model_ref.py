"""`ModelRef`: where a checkpoint lives and how to load it — the one loading rule `finetune` follows.

Built from a manifest (`Submission.model_ref()`), so the manifest decides: no pickle unless it says
`allow_pickle: true`, for local folders and hub ids alike; remote code only with `trust_remote_code`.
It is a module of its own, below `train/` (which takes it) and the submissions layer (which builds it),
so that fine-tuning never imports manifests and reading manifests never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelRef:
    """A checkpoint to load: a local directory (absolute) or a hub id pinned to `revision`."""

    checkpoint: str
    revision: str | None = None
    tokenizer: str | None = None
    """A separate tokenizer (directory or hub id); None: the checkpoint's own."""
    tokenizer_revision: str | None = None
    trust_remote_code: bool = False
    allow_pickle: bool = False
    """False: safetensors only. True: `pytorch_model.bin` is accepted (transformers reads it with
    `weights_only=True`) when no safetensors file exists."""

    @classmethod
    def of(cls, model: ModelRef | str | Path) -> ModelRef:
        """A path or hub id alone means: that checkpoint, safetensors only, no remote code."""
        return model if isinstance(model, ModelRef) else cls(str(model))

    def config_kwargs(self) -> dict[str, Any]:
        """For `AutoConfig.from_pretrained(self.checkpoint, **these)`."""
        return {"revision": self.revision, "trust_remote_code": self.trust_remote_code}

    def model_kwargs(self) -> dict[str, Any]:
        """For `AutoModel*.from_pretrained(self.checkpoint, **these)`."""
        # True makes transformers raise rather than fall back to a pickle; None lets it prefer safetensors
        # and fall back to pytorch_model.bin.
        return {**self.config_kwargs(), "use_safetensors": None if self.allow_pickle else True}

    def tokenizer_source(self) -> str:
        return self.tokenizer if self.tokenizer is not None else self.checkpoint

    def tokenizer_kwargs(self) -> dict[str, Any]:
        """For `AutoTokenizer.from_pretrained(self.tokenizer_source(), **these)`."""
        revision = self.revision if self.tokenizer is None else self.tokenizer_revision
        return {"revision": revision, "trust_remote_code": self.trust_remote_code}
