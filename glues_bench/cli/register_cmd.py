"""`glues-bench register PATH_OR_HUB_ID --name NAME`: measure a checkpoint and write its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glues_bench.cli.app import app

DEFAULT_SUBMISSIONS_DIR = Path("submissions")


@app.command("register")
def register(
    source: str = typer.Argument(
        ..., help="A local Hugging Face model directory, or a hub id (with --revision)."
    ),
    name: str = typer.Option(..., "--name", help="Leaderboard name; the manifest is written as NAME.yaml."),
    family: str = typer.Option("other", "--family", help="Model family: ALBETO, DistilBETO, BETO, …"),
    origin: str = typer.Option("external", "--origin", help="in-house (trained here) or external."),
    revision: str = typer.Option(None, "--revision", help="Hub commit sha (40 hex) — required for hub ids."),
    licence: str = typer.Option(None, "--licence", help="The checkpoint's licence, e.g. cc-by-4.0."),
    notes: str = typer.Option("", "--notes", help="Free text shown on the model page."),
    display_name: str = typer.Option(None, "--display-name", help="Shown on the site instead of NAME."),
    large: bool = typer.Option(
        False, "--large", help="Fine-tune with the paper's large-model grid (paper-large)."
    ),
    trust_remote_code: bool = typer.Option(
        False,
        "--trust-remote-code",
        help="Run the checkpoint's own Python code when loading it (trusted only).",
    ),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Accept pytorch_model.bin when no safetensors file exists (weights_only).",
    ),
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where manifests live.")] = (
        DEFAULT_SUBMISSIONS_DIR
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing manifest with the same name."),
) -> None:
    """Register a checkpoint: load config and tokenizer, count parameters, hash the weights, write a manifest.

    Parameter counts are read from the safetensors headers; the non-embedding count leaves out the vocabulary,
    position and token-type embedding tables (Kaplan et al., 2020).
    """
    from transformers.utils import logging as hf_logging

    from glues_bench.errors import SubmissionError
    from glues_bench.submissions import RegisterRequest, register_checkpoint

    hf_logging.set_verbosity_error()  # a failure is reported once, in our own line, not also as a log record

    if origin not in ("in-house", "external"):
        raise SubmissionError(f"--origin {origin!r}: expected in-house or external")
    request = RegisterRequest(
        source=source,
        name=name,
        revision=revision,
        family=family,
        origin=origin,
        licence=licence,
        notes=notes,
        display_name=display_name,
        large=large,
        trust_remote_code=trust_remote_code,
        allow_pickle=allow_pickle,
    )
    submission, path = register_checkpoint(request, submissions_dir, force=force)
    where = (
        f"{submission.checkpoint}@{submission.revision}"
        if submission.is_hub
        else submission.resolve_checkpoint()
    )
    typer.echo(f"registered {submission.name}: {path}")
    typer.echo(f"  checkpoint   {where} ({submission.architecture})")
    typer.echo(
        f"  parameters   {submission.params_total:,} total, {submission.params_non_embedding:,} non-embedding"
    )
    typer.echo(f"  weights      {submission.weights_file} sha256 {submission.weights_sha256}")
    if submission.trust_remote_code:
        typer.echo(
            "  warning      trust_remote_code is on: loading this model runs code from its directory",
            err=True,
        )


@app.command("submissions")
def submissions(
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where manifests live.")] = (
        DEFAULT_SUBMISSIONS_DIR
    ),
    verify: bool = typer.Option(
        False, "--verify", help="Re-hash local weights and compare with the manifests."
    ),
) -> None:
    """Validate every manifest in the submissions folder and list the registered models.

    A local checkpoint that is not on this machine is listed as missing (an error with --verify)."""
    from glues_bench.submissions import CheckpointNotFound, load_manifest, load_submissions, verify_weights

    # Validates every manifest and catches duplicate names; files are checked per model below.
    registered = load_submissions(submissions_dir, check_files=False)
    if not registered:
        typer.echo(f"no submissions in {submissions_dir}/: register one with `glues-bench register`")
        return
    for path in sorted(p for p in Path(submissions_dir).glob("*.y*ml") if not p.name.startswith(".")):
        missing = ""
        try:
            sub = load_manifest(path)
        except CheckpointNotFound:
            if verify:
                raise
            sub, missing = load_manifest(path, check_files=False), "  (checkpoint not on this machine)"
        where = f"{sub.checkpoint}@{sub.revision[:12]}" if sub.revision else sub.checkpoint
        where += missing
        if verify:
            verify_weights(sub)
        typer.echo(
            f"{sub.name:24} {sub.family:12} {sub.origin:9} {sub.architecture:12} "
            f"{sub.params_total:>13,} params  {where}"
        )
