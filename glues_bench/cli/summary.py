"""The table printed at the end of `glues-bench run` and `glues-bench demo`."""

from __future__ import annotations


def print_run_summary(summaries: list) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="glues-bench run")
    # Fits 80 columns: the run counts share one column, and only model and task names may wrap; the config
    # key (bs16-lr5e-05-ep1), the scores and the time stay whole.
    for column in ("model", "task", "runs", "best config (dev)", "dev", "test", "time"):
        wraps = column in ("model", "task")
        table.add_column(column, no_wrap=not wraps, overflow="fold", justify="left" if wraps else "right")
    notes = []
    for s in summaries:
        best = s.best or {}
        test = best.get("test_mean")
        test_text = "-" if test is None else f"{test:.2f}"
        if best.get("test_sd") is not None:
            test_text += f" ± {best['test_sd']:.2f}"
        table.add_row(
            escape(s.submission),  # a name like "[red]x" or the "[default]" variant is text, not markup
            escape(f"{s.task}[{s.variant}]"),
            f"{s.n_jobs}: {s.ran}/{s.skipped}/{s.failed}",
            best.get("hparams_key", "-"),
            "-" if best.get("dev_mean") is None else f"{best['dev_mean']:.2f}",
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
