"""Registered checkpoints: one YAML manifest per model in `submissions/`, validated on load.

A manifest says where a checkpoint lives (a local Hugging Face directory, or a hub id pinned to a commit),
how to load it, and facts `glues-bench register` measured from its files: parameter counts, the weights'
sha256 and `config.model_type` (see `weights` for how they are measured). Runs are keyed on that sha256,
so a result always names the exact weights. A manifest is `<name>.yaml`: its `name` is its file name.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from glues_bench.errors import CheckpointNotFound, SubmissionError
from glues_bench.model_ref import ModelRef
from glues_bench.provenance import portable_path
from glues_bench.submissions.weights import find_weight_files, one_line

NAME_CHARSET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_MAX_LENGTH = 200
"""The store's `submissions.name` column is varchar(200) (PostgreSQL enforces it); `<name>.yaml` and the
artefact folders then stay well under the 255-byte file-name limit."""
COMMIT_SHA = r"^[0-9a-f]{40}$"
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
    "vocab.json",
)
"""Any one of these makes a directory a tokenizer (fast JSON, WordPiece, SentencePiece, BPE)."""

Origin = Literal["in-house", "external"]
"""`in-house`: pretrained or distilled by this project (ALBETO, DistilBETO); `external`: anyone else's."""


def check_name(name: str) -> str:
    """The one rule for a submission name (the manifest's `name`, `register --name`); returns it."""
    if not NAME_CHARSET.match(name):
        raise ValueError(
            f"name {name[:60]!r}{'…' if len(name) > 60 else ''}: use letters, digits, '.', '_' or '-' "
            "(first a letter or digit)"
        )
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"name {name[:24]!r}…: {len(name)} characters, at most {NAME_MAX_LENGTH} allowed")
    return name


SubmissionName = Annotated[str, AfterValidator(check_name)]


class Submission(BaseModel):
    """One registered checkpoint. `strict`: `large: "yes"` is an error, not True."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: SubmissionName = Field(description="Leaderboard key; the file is `<name>.yaml`.")
    display_name: str | None = Field(
        default=None, min_length=1, description="Shown on the site instead of `name` (stored with the row)."
    )
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

    def resolve_tokenizer(self) -> str:
        """The tokenizer's hub id or absolute directory (the checkpoint's when `tokenizer` is unset)."""
        if self.tokenizer is None:
            return self.resolve_checkpoint()
        if self.tokenizer_revision is not None:
            return self.tokenizer
        return str(_resolve(self.base_dir, self.tokenizer))

    def model_ref(self) -> ModelRef:
        """How `finetune` loads this checkpoint and its tokenizer: the manifest's rule, nothing else."""
        return ModelRef(
            checkpoint=self.resolve_checkpoint(),
            revision=self.revision,
            tokenizer=None if self.tokenizer is None else self.resolve_tokenizer(),
            tokenizer_revision=self.tokenizer_revision,
            trust_remote_code=self.trust_remote_code,
            allow_pickle=self.allow_pickle,
        )

    def store_fields(self) -> dict[str, Any]:
        """Keyword arguments for `Store.upsert_submission(**submission.store_fields())`."""
        return {
            "name": self.name,
            "display_name": self.display_name,
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
        raise SubmissionError(f"{label}: {describe_validation_error(exc)}") from exc
    if submission.name != path.stem:
        raise SubmissionError(
            f"{label}: its name {submission.name!r} differs from its file name: "
            f"rename the file to {submission.name}{path.suffix} or set `name: {path.stem}`"
        )
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
    return one_line(f"{where}{problem}")


def describe_validation_error(exc: ValidationError) -> str:
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
    if not field or field == "name":  # `check_name`'s message quotes the name already
        return one_line(f"field {field!r}: {message}" if field else message) + more
    got = repr(first.get("input"))
    got = got if len(got) <= 80 else got[:77] + "..."
    return one_line(f"field {field!r}: {message} (got {got})") + more


_MEASURED_FIELDS = frozenset(
    {"architecture", "params_total", "params_non_embedding", "weights_file", "weights_sha256"}
)
