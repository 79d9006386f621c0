"""The table printed at the end of `glues-bench run` and `glues-bench demo`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glues_bench.runner import TaskSummary


def print_run_summary(summaries: Sequence[TaskSummary]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from glues_bench.board import fmt2, hparams_key

    table = Table(title="glues-bench run")
    # Fits 80 columns: the run counts share one column, and only model and task names may wrap; the config
    # key (bs16-lr5e-05-ep1), the scores and the time stay whole.
    for column in ("model", "task", "runs", "best config (dev)", "dev", "test", "time"):
        wraps = column in ("model", "task")
        table.add_column(column, no_wrap=not wraps, overflow="fold", justify="left" if wraps else "right")
    notes = []
    for s in summaries:
        best = s.best
        test_text = "-" if best is None or best.score is None else fmt2(best.score)
        if best is not None and best.sd is not None:
            test_text += f" ± {fmt2(best.sd)}"
        table.add_row(
            escape(s.submission),  # a name like "[red]x" or the "[default]" variant is text, not markup
            escape(f"{s.task}[{s.variant}]"),
            f"{s.n_jobs}: {s.ran}/{s.skipped}/{s.failed}",
            "-" if best is None else hparams_key(best.hparams) or best.config_key or "-",
            "-" if best is None or best.dev_score is None else fmt2(best.dev_score),
            test_text,
            _duration(getattr(s, "seconds", 0.0)),
        )
        if s.note:
            notes.append(f"{s.submission} × {s.task}: {s.note}")
    console = Console()
    console.print(table)
    console.print(
        "runs: configs × seeds: ran now/skipped (already stored)/failed; dev, test: the task's score in % "
        "(QA: mean of F1 and EM); time: wall time per task."
    )
    for note in notes:
        console.print(f"[yellow]note[/yellow] {note}")


def _duration(seconds: float) -> str:
    """`42s`, `3m05s`, `1h02m`: short enough for the summary's last column."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
