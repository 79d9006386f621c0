"""`glues-bench register`: measure a checkpoint (local directory or hub id + revision), write its manifest."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from glues_bench.errors import SubmissionError, first_line
from glues_bench.submissions.manifest import (
    COMMIT_SHA,
    HUB_ID,
    Origin,
    Submission,
    check_name,
    check_tokenizer_files,
    describe_validation_error,
    manifest_path,
    save_manifest,
)
from glues_bench.submissions.weights import hub_snapshot, measure_weights


@dataclass(frozen=True)
class RegisterRequest:
    """What `glues-bench register` was asked to record (everything except the measured facts)."""

    source: str
    """A local checkpoint directory or a hub id (owner/name)."""
    name: str
    revision: str | None = None
    """For a hub id: the 40-hex commit to download (a branch or tag is refused; it can move)."""
    family: str = "other"
    origin: Origin = "external"
    licence: str | None = None
    notes: str = ""
    display_name: str | None = None
    large: bool = False
    trust_remote_code: bool = False
    allow_pickle: bool = False


def refuse_existing_manifest(name: str, submissions_dir: Path, *, force: bool) -> Path:
    """The manifest path for `name`, after checking the name; refuses to replace a manifest without force.

    Called before any work, so a long training run or download never ends on a refusal.
    """
    try:
        check_name(name)
    except ValueError as exc:
        raise SubmissionError(str(exc)) from None
    target = manifest_path(name, submissions_dir)
    if target.exists() and not force:
        raise SubmissionError(f"{target} already exists: pass --force to replace it")
    return target


def register_checkpoint(
    request: RegisterRequest, submissions_dir: Path, *, force: bool = False
) -> tuple[Submission, Path]:
    """Measure a checkpoint (local directory, or hub id + revision), write its manifest, return both."""
    submissions_dir = Path(submissions_dir)
    refuse_existing_manifest(request.name, submissions_dir, force=force)
    directory, checkpoint = _locate(request, submissions_dir)
    label = f"checkpoint {request.source}"
    if not (directory / "config.json").is_file():
        raise SubmissionError(f"{label}: no config.json in {directory}")
    check_tokenizer_files(directory, label)
    facts = measure_weights(directory, allow_pickle=request.allow_pickle)
    architecture = _load_config_and_tokenizer(directory, request.trust_remote_code, label)
    # Every field of the request but its source, and every measured fact but the file paths, is a manifest
    # field of the same name.
    recorded = {key: value for key, value in asdict(request).items() if key != "source"}
    measured = {key: value for key, value in asdict(facts).items() if key != "paths"}
    try:
        submission = Submission(
            **recorded, **measured, checkpoint=checkpoint, architecture=architecture
        ).with_base_dir(submissions_dir)
    except ValidationError as exc:
        raise SubmissionError(f"register {request.name}: {describe_validation_error(exc)}") from exc
    return submission, save_manifest(submission, submissions_dir, overwrite=force)


def _locate(request: RegisterRequest, submissions_dir: Path) -> tuple[Path, str]:
    """(a local directory holding the files, the `checkpoint` value to record)."""
    if request.revision is not None:
        if not re.match(COMMIT_SHA, request.revision):
            raise SubmissionError(f"--revision {request.revision!r}: expected a 40-hex commit sha")
        if not HUB_ID.match(request.source):
            raise SubmissionError(f"{request.source!r}: --revision is for hub ids (owner/name)")
        snapshot = hub_snapshot(request.source, request.revision, allow_pickle=request.allow_pickle)
        return snapshot, request.source
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


def _described(exc: BaseException, remote_code: bool) -> str:
    if remote_code and not isinstance(exc, OSError):
        return f"the checkpoint's own code raised {exc.__class__.__name__}: {first_line(exc, 200)}"
    return first_line(exc, 200)


def _load_config_and_tokenizer(directory: Path, trust_remote_code: bool, label: str) -> str:
    """Load config and tokenizer as a run would; return config.model_type."""
    from transformers import AutoConfig, AutoTokenizer

    # The checkpoint's own code (trust_remote_code) can fail with any exception: say so in one line.
    expected: tuple[type[BaseException], ...] = (
        (Exception,) if trust_remote_code else (OSError, ValueError, KeyError, TypeError)
    )

    def load(auto_class: Any, what: str) -> Any:
        try:
            return auto_class.from_pretrained(directory, trust_remote_code=trust_remote_code)
        except expected as exc:
            reason = _described(exc, trust_remote_code)
            raise SubmissionError(f"{label}: {what} does not load ({reason})") from exc

    config = load(AutoConfig, "config.json")
    tokenizer = load(AutoTokenizer, "the tokenizer")
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
