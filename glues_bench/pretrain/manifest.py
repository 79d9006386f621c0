"""Register an in-house checkpoint as a leaderboard submission (`submissions/<name>.yaml`).

Goes through `glues_bench.submissions.register_checkpoint`, so the manifest carries the measured facts
(parameter counts, weights sha256) every submission has, with `origin: in-house` and the training budget
in `notes`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONLL2002_LICENCE = (
    "research only: trained on CoNLL-2002 esp.train, whose terms allow research use in the context of "
    "the CoNLL-2002 shared task and forbid commercial use"
)


def budget_notes(summary: dict[str, Any], corpus: str, what: str) -> str:
    """One line: what was trained, on what, for how long, on which hardware, reaching which loss."""
    run = summary["run_config"]
    return (
        f"{what}; corpus {corpus}; {summary['steps']} steps of {run.get('batch_size', '?')} sequences x "
        f"{run.get('seq_len')} tokens ({summary['tokens']:,} non-padding tokens); "
        f"{summary['tokens_per_second']:,.0f} tokens/s on {summary['hardware']}; final loss "
        f"{summary['final_loss']:.4f}"
    )


def register_inhouse(
    model_dir: Path,
    name: str,
    family: str,
    notes: str,
    submissions_dir: Path,
    licence: str | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write the manifest of a checkpoint this project trained (replace one only with `force`); its path."""
    from glues_bench.submissions import RegisterRequest, register_checkpoint

    request = RegisterRequest(
        source=str(model_dir), name=name, family=family, origin="in-house", licence=licence, notes=notes
    )
    _, path = register_checkpoint(request, submissions_dir, force=force)
    return path


def refuse_to_overwrite(name: str, submissions_dir: Path, *, force: bool) -> None:
    """Before training: refuse (one line, exit 2) when `<name>.yaml` exists and `--force` was not given, so
    that a script never replaces a committed manifest by accident, nor after hours of training."""
    from glues_bench.submissions import refuse_existing_manifest

    refuse_existing_manifest(name, submissions_dir, force=force)
