"""The table printed at the end of `glues-bench run` and `glues-bench demo`."""

from __future__ import annotations


def print_run_summary(summaries: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="glues-bench run")
    for column in ("model", "task", "runs", "ran", "skipped", "failed", "best config (dev)", "dev", "test"):
        table.add_column(column)
    notes = []
    for s in summaries:
        best = s.best or {}
        test = best.get("test_mean")
        test_text = "-" if test is None else f"{test:.2f}"
        if best.get("test_sd") is not None:
            test_text += f" ± {best['test_sd']:.2f}"
        table.add_row(
            s.submission,
            f"{s.task}[{s.variant}]",
            str(s.n_jobs),
            str(s.ran),
            str(s.skipped),
            str(s.failed),
            best.get("hparams_key", "-"),
            "-" if best.get("dev_mean") is None else f"{best['dev_mean']:.2f}",
            test_text,
        )
        if s.note:
            notes.append(f"{s.submission} × {s.task}: {s.note}")
    console = Console()
    console.print(table)
    for note in notes:
        console.print(f"[yellow]note[/yellow] {note}")
