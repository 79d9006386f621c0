"""`glues-bench register PATH_OR_HUB_ID --name NAME`: measure a checkpoint and write its manifest."""

from __future__ import annotations

from pathlib import Path

import typer

from glues_bench.cli.app import app
from glues_bench.cli.options import DEFAULT_SUBMISSIONS_DIR, SubmissionsDir


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
    submissions_dir: SubmissionsDir = DEFAULT_SUBMISSIONS_DIR,
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
    if submission.display_name:
        typer.echo(f"  display name {submission.display_name}")
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
    submissions_dir: SubmissionsDir = DEFAULT_SUBMISSIONS_DIR,
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Also check every checkpoint's files: re-hash the weights (a hub id's cached snapshot too) and "
        "compare with the manifest, refuse pickles a manifest does not allow, and count a local checkpoint "
        "that is not on this machine as a failure.",
    ),
) -> None:
    """Validate every manifest in the submissions folder and list the registered models.

    Every manifest is checked and every problem is reported, one line each on stderr, before the command exits
    with code 2 if any failed. Without --verify, a local checkpoint that is not on this machine is listed as
    missing and is not a failure."""
    from glues_bench.errors import GluesError, SubmissionError
    from glues_bench.submissions import CheckpointNotFound, load_manifest, verify_weights

    if not Path(submissions_dir).is_dir():
        raise GluesError(f"--submissions-dir {submissions_dir}: not a directory")
    paths = sorted(
        p
        for p in Path(submissions_dir).glob("*.y*ml")
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )
    if not paths:
        typer.echo(f"no submissions in {submissions_dir}/: register one with `glues-bench register`")
        return
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for path in paths:
        missing = ""
        try:
            try:
                sub = load_manifest(path)
            except CheckpointNotFound:
                if verify:
                    raise
                sub, missing = load_manifest(path, check_files=False), "  (checkpoint not on this machine)"
            if sub.name in seen:
                raise SubmissionError(
                    f"submission name {sub.name!r} is registered twice: {seen[sub.name]} and {path}"
                )
            seen[sub.name] = path
            if verify:
                verify_weights(sub)
        except SubmissionError as exc:
            problems.append(str(exc))
            typer.echo(f"error: {exc}", err=True)
            continue
        where = f"{sub.checkpoint}@{sub.revision[:12]}" if sub.revision else sub.checkpoint
        typer.echo(
            f"{sub.name:24} {sub.family:12} {sub.origin:9} {sub.architecture:12} "
            f"{sub.params_total:>13,} params  {where}{missing}"
        )
    if problems:
        raise SubmissionError(
            f"{len(problems)} of {len(paths)} manifest(s) in {submissions_dir}/ failed the checks above"
        )
