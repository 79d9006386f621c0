"""Registered checkpoints: one YAML manifest per model in `submissions/`, validated on load.

A manifest says where a checkpoint lives (a local Hugging Face directory, or a hub id pinned to a commit),
how to load it, and facts `glues-bench register` measured from its files: parameter counts, the weights'
sha256 and `config.model_type`. Runs are keyed on that sha256, so a result always names the exact weights.

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

import difflib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from glues_bench.errors import SubmissionError
from glues_bench.provenance import portable_path

log = logging.getLogger(__name__)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
COMMIT_SHA = r"^[0-9a-f]{40}$"
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE_FILE = "pytorch_model.bin"
PICKLE_INDEX = "pytorch_model.bin.index.json"
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
    "vocab.json",
)
"""Any one of these makes a directory a tokenizer (fast JSON, WordPiece, SentencePiece, BPE)."""

_EMBEDDING_TABLE = re.compile(r"(^|\.)([A-Za-z0-9_]+_embeddings|embed_tokens|embed_positions)\.weight$")
_FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4"})
Origin = Literal["in-house", "external"]
"""`in-house`: pretrained or distilled by this project (ALBETO, DistilBETO); `external`: anyone else's."""

_HASH_CHUNK = 1 << 20  # stream weights in 1 MiB chunks; never hold a file in memory


class CheckpointNotFound(SubmissionError):
    """A manifest's local checkpoint (or tokenizer) directory is not on this machine."""


class Submission(BaseModel):
    """One registered checkpoint. `strict`: `large: "yes"` is an error, not True."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: str = Field(pattern=NAME_PATTERN, description="Leaderboard key; the file is `<name>.yaml`.")
    display_name: str | None = Field(default=None, description="Shown on the site instead of `name`.")
    checkpoint: str = Field(
        min_length=1,
        description="A local HF directory (relative paths: from the manifest's folder), or a hub id.",
    )
    revision: str | None = Field(
        default=None, pattern=COMMIT_SHA, description="Commit sha; set exactly when `checkpoint` is a hub id."
    )
    tokenizer: str | None = Field(default=None, description="Directory or hub id; default: the checkpoint.")
    tokenizer_revision: str | None = Field(
        default=None, pattern=COMMIT_SHA, description="Commit sha; set exactly when `tokenizer` is a hub id."
    )
    family: str = Field(default="other", min_length=1, description="ALBETO, DistilBETO, BETO, … (free text).")
    origin: Origin = "external"
    licence: str | None = None
    notes: str = ""
    large: bool = Field(default=False, description="Fine-tune with the paper's `paper-large` grid.")
    trust_remote_code: bool = Field(default=False, description="Run the checkpoint's own Python code.")
    allow_pickle: bool = Field(
        default=False,
        description="Accept pytorch_model.bin (loaded with weights_only=True) without safetensors.",
    )
    # Measured by `glues-bench register`; never written by hand.
    architecture: str = Field(min_length=1, description="config.model_type")
    params_total: int = Field(ge=1)
    params_non_embedding: int = Field(ge=0)
    weights_file: str = Field(min_length=1, description="The weight file, or the index of a sharded one.")
    weights_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the weight files, sorted.")

    _base_dir: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> Submission:
        if self.params_non_embedding > self.params_total:
            raise ValueError(
                f"params_non_embedding {self.params_non_embedding} > params_total {self.params_total}"
            )
        if self.revision is not None and not HUB_ID.match(self.checkpoint):
            raise ValueError(
                f"revision is set, so checkpoint {self.checkpoint!r} must be a hub id (owner/name)"
            )
        if self.tokenizer_revision is not None and (
            self.tokenizer is None or not HUB_ID.match(self.tokenizer)
        ):
            raise ValueError("tokenizer_revision is set, so tokenizer must be a hub id (owner/name)")
        return self

    @property
    def label(self) -> str:
        """What the site shows: `display_name`, else `name`."""
        return self.display_name or self.name

    @property
    def is_hub(self) -> bool:
        return self.revision is not None

    @property
    def base_dir(self) -> Path:
        """Where relative local paths resolve from: the manifest's folder (else the working directory)."""
        return self._base_dir if self._base_dir is not None else Path.cwd()

    def with_base_dir(self, base_dir: Path) -> Submission:
        copy = self.model_copy()
        copy._base_dir = Path(base_dir).resolve()
        return copy

    def resolve_checkpoint(self) -> str:
        """The hub id, or the checkpoint directory as an absolute path."""
        return self.checkpoint if self.is_hub else str(_resolve(self.base_dir, self.checkpoint))

    def load_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `AutoModel*.from_pretrained(resolve_checkpoint(), **load_kwargs())`."""
        return {
            "revision": self.revision,
            "trust_remote_code": self.trust_remote_code,
            # None lets transformers fall back to pytorch_model.bin, which it reads with weights_only=True.
            "use_safetensors": None if self.allow_pickle else True,
        }

    def resolve_tokenizer(self) -> str:
        """The tokenizer's hub id or absolute directory (the checkpoint's when `tokenizer` is unset)."""
        if self.tokenizer is None:
            return self.resolve_checkpoint()
        if self.tokenizer_revision is not None:
            return self.tokenizer
        return str(_resolve(self.base_dir, self.tokenizer))

    def tokenizer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `AutoTokenizer.from_pretrained(resolve_tokenizer(), **these)`."""
        revision = self.revision if self.tokenizer is None else self.tokenizer_revision
        return {"revision": revision, "trust_remote_code": self.trust_remote_code}

    def store_fields(self) -> dict[str, Any]:
        """Keyword arguments for `Store.upsert_submission(**submission.store_fields())`."""
        return {
            "name": self.name,
            "origin": self.origin,
            "family": self.family,
            # Stored (and published) relative to the working directory: no machine's absolute path.
            "checkpoint_path": None if self.is_hub else portable_path(self.resolve_checkpoint()),
            "hub_id": self.checkpoint if self.is_hub else None,
            "hub_revision": self.revision,
            "checkpoint_sha256": self.weights_sha256,
            "params_total": self.params_total,
            "params_non_embedding": self.params_non_embedding,
            "manifest": self.model_dump(mode="json"),
            "licence": self.licence,
            "notes": self.notes or None,
        }


# --- manifests on disk ---------------------------------------------------------------------------------


def load_manifest(path: Path, *, check_files: bool = True) -> Submission:
    """Parse and validate one manifest; with `check_files`, also check a local checkpoint's files exist."""
    path = Path(path)
    label = f"submission {path}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SubmissionError(f"{label}: cannot read ({exc.strerror or exc.__class__.__name__})") from exc
    except yaml.YAMLError as exc:
        raise SubmissionError(f"{label}: not valid YAML ({_yaml_problem(exc)})") from exc
    if not isinstance(raw, dict):
        raise SubmissionError(f"{label}: expected a mapping of keys to values at the top level")
    try:
        submission = Submission.model_validate(raw).with_base_dir(path.parent)
    except ValidationError as exc:
        raise SubmissionError(f"{label}: {_describe_validation_error(exc)}") from exc
    if check_files:
        check_local_files(submission, label)
    return submission


def load_submissions(directory: Path, *, check_files: bool = True) -> dict[str, Submission]:
    """Every manifest (`*.yaml`, `*.yml`) in `directory` by name, sorted; {} when the folder is absent."""
    directory = Path(directory)
    if not directory.is_dir():
        return {}
    found: dict[str, tuple[Path, Submission]] = {}
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        if path.name.startswith("."):
            continue
        submission = load_manifest(path, check_files=check_files)
        if submission.name in found:
            first = found[submission.name][0]
            raise SubmissionError(
                f"submission name {submission.name!r} is registered twice: {first} and {path}"
            )
        found[submission.name] = (path, submission)
    return {name: sub for name, (_, sub) in sorted(found.items())}


def manifest_path(name: str, directory: Path) -> Path:
    return Path(directory) / f"{name}.yaml"


def save_manifest(submission: Submission, directory: Path, *, overwrite: bool = False) -> Path:
    """Write `<directory>/<name>.yaml` (field order, unset optional fields left out); return its path.

    Relative `checkpoint` / `tokenizer` paths are written as they are, so save into the folder they are
    relative to (`register` makes them relative to `directory`).
    """
    path = manifest_path(submission.name, directory)
    if path.exists() and not overwrite:
        raise SubmissionError(f"{path} already exists: pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = submission.model_dump(mode="json", exclude_none=True)
    header = (
        "# glues-bench submission manifest. The fields after `allow_pickle` are measured by `register`.\n"
    )
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a manifest
    return path


def check_local_files(submission: Submission, label: str) -> None:
    """A local checkpoint needs config.json, safetensors weights (or .bin if allowed) and tokenizer files."""
    if not submission.is_hub:
        directory = _existing_dir(submission.base_dir, submission.checkpoint, "checkpoint", label)
        if not (directory / "config.json").is_file():
            raise SubmissionError(f"{label}: no config.json in checkpoint directory {directory}")
        find_weight_files(directory, allow_pickle=submission.allow_pickle, label=label)
    if submission.tokenizer is not None and submission.tokenizer_revision is None:
        tokenizer_dir = _existing_dir(submission.base_dir, submission.tokenizer, "tokenizer", label)
        check_tokenizer_files(tokenizer_dir, label)
    elif submission.tokenizer is None and not submission.is_hub:
        check_tokenizer_files(_resolve(submission.base_dir, submission.checkpoint), label)


def check_tokenizer_files(directory: Path, label: str) -> None:
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        raise SubmissionError(
            f"{label}: no tokenizer files in {directory} (expected one of {', '.join(TOKENIZER_FILES)}); "
            "save the tokenizer there or set `tokenizer:`"
        )


def _existing_dir(base_dir: Path, value: str, field: str, label: str) -> Path:
    directory = _resolve(base_dir, value)
    if directory.is_dir():
        return directory
    if HUB_ID.match(value) and not value.startswith((".", "/", "~")):
        revision_key = "revision" if field == "checkpoint" else "tokenizer_revision"
        raise SubmissionError(
            f"{label}: {field} {value!r} is not a directory ({directory}); "
            "if it is a hub id, pin a revision: "
            f"`{revision_key}: <40-hex commit sha>`"
        )
    raise CheckpointNotFound(f"{label}: {field} directory not found: {directory}")


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return (path if path.is_absolute() else base_dir / path).resolve()


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or exc.__class__.__name__
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return _one_line(f"{where}{problem}")


def _describe_validation_error(exc: ValidationError) -> str:
    """The first problem as `field 'x': message`, naming unknown keys and suggesting the closest field."""
    # An unknown key usually explains a "missing" one too (a typo), so report unknown keys first.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"])
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(field, Submission.model_fields, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {field!r}{hint}{more}"
    if first["type"] == "missing":
        measured = field in _MEASURED_FIELDS
        why = (
            " (measured by `glues-bench register`; register the checkpoint instead of writing it)"
            if measured
            else ""
        )
        return f"field {field!r} is missing{why}{more}"
    message = first["msg"].removeprefix("Value error, ")
    if not field:
        return _one_line(message) + more
    got = repr(first.get("input"))
    got = got if len(got) <= 80 else got[:77] + "..."
    return _one_line(f"field {field!r}: {message} (got {got})") + more


_MEASURED_FIELDS = frozenset(
    {"architecture", "params_total", "params_non_embedding", "weights_file", "weights_sha256"}
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- measuring a checkpoint ----------------------------------------------------------------------------


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
            f"checkpoint: {path} is not a readable safetensors file ({_one_line(str(exc))})"
        ) from exc


def _pickle_shapes(path: Path) -> list[tuple[str, tuple[str, tuple[int, ...]]]]:
    import torch

    try:
        # weights_only refuses arbitrary objects; mmap maps the file instead of reading it into memory.
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises a zoo of types (UnpicklingError, RuntimeError, ...)
        reason = _one_line(str(exc))[:200]
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


def sha256_files(paths: Iterable[Path]) -> str:
    """sha256 of the files' bytes concatenated in the given order, streamed in 1 MiB chunks."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def measure_weights(directory: Path, *, allow_pickle: bool = False) -> WeightFacts:
    weights_file, paths = find_weight_files(directory, allow_pickle=allow_pickle)
    total, non_embedding = count_parameters(tensor_shapes(paths))
    if total == 0:
        raise SubmissionError(f"checkpoint: {directory / weights_file} holds no floating-point tensors")
    return WeightFacts(weights_file, tuple(paths), total, non_embedding, sha256_files(paths))


def verify_weights(submission: Submission) -> None:
    """Re-hash a local checkpoint's weights; raise if they changed since `register` (results would lie)."""
    if submission.is_hub:
        return  # a pinned hub revision cannot change
    directory = Path(submission.resolve_checkpoint())
    _, paths = find_weight_files(
        directory, allow_pickle=submission.allow_pickle, label=f"submission {submission.name}"
    )
    actual = sha256_files(paths)
    if actual != submission.weights_sha256:
        raise SubmissionError(
            f"submission {submission.name}: weights in {directory} changed since registration "
            f"(sha256 {actual[:12]}…, manifest {submission.weights_sha256[:12]}…): "
            "register again with --force"
        )


# --- registering -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterRequest:
    """What `glues-bench register` was asked to record (everything except the measured facts)."""

    source: str
    name: str
    revision: str | None = None
    family: str = "other"
    origin: Origin = "external"
    licence: str | None = None
    notes: str = ""
    display_name: str | None = None
    large: bool = False
    trust_remote_code: bool = False
    allow_pickle: bool = False


def register_checkpoint(
    request: RegisterRequest, submissions_dir: Path, *, force: bool = False
) -> tuple[Submission, Path]:
    """Measure a checkpoint (local directory, or hub id + revision), write its manifest, return both."""
    submissions_dir = Path(submissions_dir)
    if not re.match(NAME_PATTERN, request.name):
        raise SubmissionError(
            f"--name {request.name!r}: use letters, digits, '.', '_' or '-' (first: letter or digit)"
        )
    target = manifest_path(request.name, submissions_dir)
    if target.exists() and not force:
        raise SubmissionError(f"{target} already exists: pass --force to replace it")
    directory, checkpoint = _locate(request, submissions_dir)
    label = f"checkpoint {request.source}"
    if not (directory / "config.json").is_file():
        raise SubmissionError(f"{label}: no config.json in {directory}")
    check_tokenizer_files(directory, label)
    facts = measure_weights(directory, allow_pickle=request.allow_pickle)
    architecture = _load_config_and_tokenizer(directory, request.trust_remote_code, label)
    try:
        submission = Submission(
            name=request.name,
            display_name=request.display_name,
            checkpoint=checkpoint,
            revision=request.revision,
            family=request.family,
            origin=request.origin,
            licence=request.licence,
            notes=request.notes,
            large=request.large,
            trust_remote_code=request.trust_remote_code,
            allow_pickle=request.allow_pickle,
            architecture=architecture,
            params_total=facts.params_total,
            params_non_embedding=facts.params_non_embedding,
            weights_file=facts.weights_file,
            weights_sha256=facts.weights_sha256,
        ).with_base_dir(submissions_dir)
    except ValidationError as exc:
        raise SubmissionError(f"register {request.name}: {_describe_validation_error(exc)}") from exc
    return submission, save_manifest(submission, submissions_dir, overwrite=force)


def _locate(request: RegisterRequest, submissions_dir: Path) -> tuple[Path, str]:
    """(a local directory holding the files, the `checkpoint` value to record)."""
    if request.revision is not None:
        if not re.match(COMMIT_SHA, request.revision):
            raise SubmissionError(f"--revision {request.revision!r}: expected a 40-hex commit sha")
        if not HUB_ID.match(request.source):
            raise SubmissionError(f"{request.source!r}: --revision is for hub ids (owner/name)")
        return _download(request.source, request.revision, request.allow_pickle), request.source
    directory = Path(os.path.expanduser(request.source)).resolve()
    if directory.is_dir():
        return directory, _checkpoint_reference(directory, submissions_dir.resolve())
    if HUB_ID.match(request.source) and not request.source.startswith((".", "/", "~")):
        raise SubmissionError(
            f"{request.source!r} is not a directory; "
            "if it is a hub id, pin a revision: --revision <40-hex commit sha>"
        )
    raise SubmissionError(f"checkpoint directory not found: {directory}")


def _checkpoint_reference(directory: Path, submissions_dir: Path) -> str:
    """Inside the project (the submissions folder's parent): relative, so the repo can move. Else absolute."""
    if directory.is_relative_to(submissions_dir.parent):
        return os.path.relpath(directory, submissions_dir)
    return str(directory)


def _download(repo_id: str, revision: str, allow_pickle: bool) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "*.py"] + (["*.bin"] if allow_pickle else [])
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
    except (HfHubHTTPError, HFValidationError, OSError) as exc:
        reason = _first_line(exc).split(". ")[0]  # the first sentence says enough
        raise SubmissionError(
            f"cannot fetch {repo_id}@{revision[:12]} from the hub ({exc.__class__.__name__}: {reason}); "
            "offline? download it elsewhere and register the local directory"
        ) from exc


def _load_config_and_tokenizer(directory: Path, trust_remote_code: bool, label: str) -> str:
    """Load config and tokenizer as a run would; return config.model_type."""
    from transformers import AutoConfig, AutoTokenizer

    # The checkpoint's own code (trust_remote_code) can fail with any exception: say so in one line.
    expected: tuple[type[BaseException], ...] = (
        (Exception,) if trust_remote_code else (OSError, ValueError, KeyError, TypeError)
    )
    try:
        config = AutoConfig.from_pretrained(directory, trust_remote_code=trust_remote_code)
    except expected as exc:
        raise SubmissionError(
            f"{label}: config.json does not load ({_described(exc, trust_remote_code)})"
        ) from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=trust_remote_code)
    except expected as exc:
        raise SubmissionError(
            f"{label}: the tokenizer does not load ({_described(exc, trust_remote_code)})"
        ) from exc
    vocab_size = getattr(config, "vocab_size", None)
    if isinstance(vocab_size, int) and len(tokenizer) > vocab_size:
        raise SubmissionError(
            f"{label}: the tokenizer has {len(tokenizer)} tokens but config.vocab_size is {vocab_size}: "
            "wrong tokenizer?"
        )
    model_type = getattr(config, "model_type", None)
    if not model_type:
        raise SubmissionError(f"{label}: config.json has no model_type")
    return str(model_type)


def _described(exc: BaseException, remote_code: bool) -> str:
    where = "the checkpoint's own code raised " if remote_code and not isinstance(exc, OSError) else ""
    return f"{where}{exc.__class__.__name__}: {_first_line(exc)}" if where else _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else exc.__class__.__name__)[:200]
