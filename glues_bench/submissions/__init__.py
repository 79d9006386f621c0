"""Registered checkpoints, in three parts:

- `manifest`: the `Submission` model (one YAML manifest per model in `submissions/`), loading and saving
  manifests, and `Submission.model_ref()`, the `ModelRef` that fine-tuning loads the checkpoint with;
- `weights`: a checkpoint's weight files — which they are, parameter counts from safetensors headers,
  sha256, hub snapshots;
- `verify`: `verify_weights`, a submission's files checked against its manifest (no pickle unless
  allowed, hashes as registered; hub snapshots too), above both `manifest` and `weights`;
- `register`: the `glues-bench register` flow, which measures a checkpoint and writes its manifest.
"""

from __future__ import annotations

from glues_bench.submissions.manifest import (
    NAME_MAX_LENGTH,
    TOKENIZER_FILES,
    CheckpointNotFound,
    Submission,
    check_local_files,
    check_name,
    check_tokenizer_files,
    load_manifest,
    load_submissions,
    manifest_path,
    save_manifest,
)
from glues_bench.submissions.register import RegisterRequest, refuse_existing_manifest, register_checkpoint
from glues_bench.submissions.verify import checkpoint_directory, verify_weights
from glues_bench.submissions.weights import (
    WeightFacts,
    count_parameters,
    find_weight_files,
    hub_snapshot,
    is_embedding_table,
    measure_weights,
    sha256_files,
    tensor_shapes,
)

__all__ = [
    "NAME_MAX_LENGTH",
    "TOKENIZER_FILES",
    "CheckpointNotFound",
    "RegisterRequest",
    "Submission",
    "WeightFacts",
    "check_local_files",
    "check_name",
    "check_tokenizer_files",
    "checkpoint_directory",
    "count_parameters",
    "find_weight_files",
    "hub_snapshot",
    "is_embedding_table",
    "load_manifest",
    "load_submissions",
    "manifest_path",
    "measure_weights",
    "refuse_existing_manifest",
    "register_checkpoint",
    "save_manifest",
    "sha256_files",
    "tensor_shapes",
    "verify_weights",
]
