"""The Typer app every command module registers on. Heavy imports stay inside command bodies."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="glues-bench",
    help="Benchmark leaderboard harness for Spanish encoders on GLUES (ALBETO/DistilBETO, LREC 2022).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help, not typer's rich/markdown rendering: importing rich costs ~0.1 s on every call,
    # --help included. Click rewraps each paragraph of a docstring (hard line breaks inside a sentence
    # join), so help still reads as paragraphs.
    rich_markup_mode=None,
    # Wrap at the terminal's width, as the rich help did, instead of click's default cap of 80 columns.
    context_settings={"max_content_width": 10_000},
)


@app.callback()
def _root() -> None:
    """Fine-tune registered checkpoints on the 8 GLUES tasks, store results with provenance, build a site."""
