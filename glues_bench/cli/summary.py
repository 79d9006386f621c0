"""The table printed at the end of `glues-bench run` and `glues-bench demo`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glues_bench.runner import TaskSummary


def print_run_summary(summaries: Sequence[TaskSummary]) -> None:
    from rich.console import Console
    from rich.table import Table

    from glues_bench.board import fmt2, hparams_key

    table = Table(title="glues-bench run")
    for column in ("model", "task", "runs", "ran", "skipped", "failed", "best config (dev)", "dev", "test"):
        table.add_column(column)
    notes = []
    for s in summaries:
        best = s.best
        test_text = "-" if best is None or best.score is None else fmt2(best.score)
        if best is not None and best.sd is not None:
            test_text += f" ± {fmt2(best.sd)}"
        table.add_row(
            s.submission,
            f"{s.task}[{s.variant}]",
            str(s.n_jobs),
            str(s.ran),
            str(s.skipped),
            str(s.failed),
            "-" if best is None else hparams_key(best.hparams) or best.config_key or "-",
            "-" if best is None or best.dev_score is None else fmt2(best.dev_score),
            test_text,
        )
        if s.note:
            notes.append(f"{s.submission} × {s.task}: {s.note}")
    console = Console()
    console.print(table)
    for note in notes:
        console.print(f"[yellow]note[/yellow] {note}")
