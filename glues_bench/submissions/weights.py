"""A checkpoint's weight files: which they are, how many parameters they hold, their sha256, and checking
that they are still the ones a manifest was registered with (local folders and hub snapshots alike).

Parameter counts come from the safetensors headers (shapes only; no weights are loaded):
- `params_total`: elements of every floating-point tensor stored in the weight files. Integer buffers
  saved by older checkpoints (`embeddings.position_ids`) are not parameters and are skipped; tied weights
  (an MLM decoder tied to the word embeddings) are stored once and so counted once.
- `params_non_embedding`: `params_total` minus the embedding *lookup tables* — tensors owned by a module
  named `*_embeddings` (`word_embeddings`, `position_embeddings`, `token_type_embeddings`, DeBERTa's
  `rel_embeddings`) or `embed_tokens` / `embed_positions`. This is Kaplan et al. (2020)'s convention
  ("excluding all vocabulary and positional embeddings"). The embedding LayerNorm and ALBERT's factorised
  projection `embedding_hidden_mapping_in` (E→H, run on every token) stay in: they are compute, not tables.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from glues_bench.errors import SubmissionError, first_line
from glues_bench.provenance import sha256_files

log = logging.getLogger(__name__)

SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE_FILE = "pytorch_model.bin"
PICKLE_INDEX = "pytorch_model.bin.index.json"

_EMBEDDING_TABLE = re.compile(r"(^|\.)([A-Za-z0-9_]+_embeddings|embed_tokens|embed_positions)\.weight$")
_FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4"})


@dataclass(frozen=True)
class WeightFacts:
    """What `register` measures from a checkpoint's weight files."""

    weights_file: str
    paths: tuple[Path, ...]
    params_total: int
    params_non_embedding: int
    weights_sha256: str


def find_weight_files(
    directory: Path, *, allow_pickle: bool, label: str = "checkpoint"
) -> tuple[str, list[Path]]:
    """(the name recorded as `weights_file`, the weight files sorted by name); safetensors first."""
    if (directory / SAFETENSORS_FILE).is_file():
        return SAFETENSORS_FILE, [directory / SAFETENSORS_FILE]
    if (directory / SAFETENSORS_INDEX).is_file():
        return SAFETENSORS_INDEX, _shards(directory, SAFETENSORS_INDEX, label)
    pickled = next((name for name in (PICKLE_FILE, PICKLE_INDEX) if (directory / name).is_file()), None)
    if pickled is None:
        raise SubmissionError(f"{label}: no {SAFETENSORS_FILE} (or {SAFETENSORS_INDEX}) in {directory}")
    if not allow_pickle:
        raise SubmissionError(
            f"{label}: {directory / pickled} is a pickle and no safetensors file is present: "
            "convert to safetensors "
            "(model.save_pretrained(dir, safe_serialization=True)), or set `allow_pickle: true` to accept it"
        )
    if pickled == PICKLE_FILE:
        return PICKLE_FILE, [directory / PICKLE_FILE]
    return PICKLE_INDEX, _shards(directory, PICKLE_INDEX, label)


def _shards(directory: Path, index_name: str, label: str) -> list[Path]:
    index_path = directory / index_name
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SubmissionError(
            f"{label}: {index_path} is not a valid shard index ({exc.__class__.__name__})"
        ) from exc
    paths = [directory / name for name in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise SubmissionError(f"{label}: {index_path} lists missing shard(s): {', '.join(missing)}")
    return paths


def is_embedding_table(tensor_name: str) -> bool:
    """True for vocabulary / position lookup tables (see the module docstring for the exact rule)."""
    return _EMBEDDING_TABLE.search(tensor_name) is not None


def tensor_shapes(paths: Iterable[Path]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{tensor name: (dtype, shape)} over all files; safetensors headers only, pickles on the meta device."""
    shapes: dict[str, tuple[str, tuple[int, ...]]] = {}
    for path in paths:
        for name, info in (
            _safetensors_shapes(path) if path.suffix == ".safetensors" else _pickle_shapes(path)
        ):
            if name in shapes:
                raise SubmissionError(f"checkpoint: tensor {name!r} is stored twice (again in {path.name})")
            shapes[name] = info
    return shapes


def _safetensors_shapes(path: Path) -> list[tuple[str, tuple[str, tuple[int, ...]]]]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            out = []
            for name in handle.keys():  # noqa: SIM118 - safe_open handles are not iterable
                tensor_slice = handle.get_slice(name)
                out.append((name, (tensor_slice.get_dtype(), tuple(tensor_slice.get_shape()))))
            return out
    except (SafetensorError, OSError) as exc:
        raise SubmissionError(
            f"checkpoint: {path} is not a readable safetensors file ({one_line(str(exc))})"
        ) from exc


def _pickle_shapes(path: Path) -> list[tuple[str, tuple[str, tuple[int, ...]]]]:
    import torch

    try:
        # weights_only refuses arbitrary objects; mmap maps the file instead of reading it into memory.
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises a zoo of types (UnpicklingError, RuntimeError, ...)
        reason = one_line(str(exc))[:200]
        raise SubmissionError(f"checkpoint: cannot read {path} with weights_only=True ({reason})") from exc
    if not isinstance(state, dict):
        raise SubmissionError(f"checkpoint: {path} does not hold a state dict")
    by_view: dict[tuple, tuple[str, tuple[str, tuple[int, ...]]]] = {}
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        # A pickled state dict stores tied weights under every name: count each storage view once, as an
        # embedding table when any of its names is one (the MLM decoder tied to word_embeddings).
        view = (
            tensor.untyped_storage().data_ptr(),
            tensor.storage_offset(),
            tuple(tensor.shape),
            tensor.stride(),
        )
        if view in by_view and not is_embedding_table(name):
            continue
        dtype = "F32" if tensor.is_floating_point() else str(tensor.dtype)  # only float-ness is used
        by_view[view] = (name, (dtype, tuple(tensor.shape)))
    return list(by_view.values())


def count_parameters(shapes: dict[str, tuple[str, tuple[int, ...]]]) -> tuple[int, int]:
    """(total, non-embedding) over floating-point tensors; integer buffers (position_ids) are skipped."""
    total = embedding = 0
    for name, (dtype, shape) in shapes.items():
        if dtype not in _FLOAT_DTYPES:
            if not name.endswith("_ids"):
                log.warning("not counting non-float tensor %s (%s) as parameters", name, dtype)
            continue
        numel = 1
        for dim in shape:
            numel *= dim
        total += numel
        if is_embedding_table(name):
            embedding += numel
    return total, total - embedding


def measure_weights(directory: Path, *, allow_pickle: bool = False) -> WeightFacts:
    weights_file, paths = find_weight_files(directory, allow_pickle=allow_pickle)
    total, non_embedding = count_parameters(tensor_shapes(paths))
    if total == 0:
        raise SubmissionError(f"checkpoint: {directory / weights_file} holds no floating-point tensors")
    return WeightFacts(weights_file, tuple(paths), total, non_embedding, sha256_files(paths))


def hub_snapshot(repo_id: str, revision: str, *, allow_pickle: bool) -> Path:
    """The local snapshot folder of `repo_id@revision`: the HF cache's, downloaded into it when online.

    Pickled weights are fetched only when the manifest allows them. Offline (`HF_HUB_OFFLINE=1`), the
    cached snapshot is used as it is, so it is checked like any local folder before anything loads it.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "*.py"] + (["*.bin"] if allow_pickle else [])
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
    except (HfHubHTTPError, HFValidationError, LocalEntryNotFoundError, OSError) as exc:
        reason = first_line(exc, 200).split(". ")[0]  # the first sentence says enough
        raise SubmissionError(
            f"cannot fetch {repo_id}@{revision[:12]} from the hub ({exc.__class__.__name__}: {reason}); "
            "offline? download it elsewhere and register the local directory"
        ) from exc


def one_line(text: str) -> str:
    return " ".join(text.split())
