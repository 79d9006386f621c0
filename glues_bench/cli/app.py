"""The Typer app every command module registers on. Heavy imports stay inside command bodies."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="glues-bench",
    help="Benchmark leaderboard harness for Spanish encoders on GLUES (ALBETO/DistilBETO, LREC 2022).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown help: a docstring's hard line breaks join into paragraphs instead of cutting sentences.
    rich_markup_mode="markdown",
)


@app.callback()
def _root() -> None:
    """Fine-tune registered checkpoints on the 8 GLUES tasks, store results with provenance, build a site."""
