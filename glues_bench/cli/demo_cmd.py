"""`glues-bench demo`: the whole pipeline offline on a tiny in-house model."""

from __future__ import annotations

from pathlib import Path

import typer

from glues_bench.cli.app import app


@app.command("demo")
def demo(
    out: Path = typer.Option(
        Path("glues-bench-demo"), "--out", help="Folder for the demo's model, DB and site."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Delete --out first and start over."),
    progress: bool = typer.Option(
        None, "--progress/--no-progress", help="Show progress bars (default: only when stderr is a terminal)."
    ),
) -> None:
    """Offline end-to-end demo (no network, no GPU, about a minute on 2 cores).

    Builds a Spanish SentencePiece vocabulary and a tiny ALBERT from the shipped demo slices, registers
    it, imports the paper's reported results, fine-tunes on POS, PAWS-X and TAR→XQuAD slices with the quick
    grid, and builds the leaderboard site. Re-running reuses what is already done.
    """
    import os
    import sys
    import time

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    from glues_bench.cli.summary import print_run_summary
    from glues_bench.demo import run_demo

    hf_logging.set_verbosity_error()  # the "newly initialised head" report is expected here
    hf_logging.disable_progress_bar()
    started = time.perf_counter()
    if progress is None:
        progress = sys.stderr.isatty()  # piped to a file: no bars
    result = run_demo(out, fresh=fresh, progress=progress)
    print_run_summary(result.summaries)
    from glues_bench.cli.run_cmd import exit_status
    from glues_bench.cli.store_cmd import leaderboard

    leaderboard(as_json=False, db=result.db_url, reference=None)  # BETO cased when the paper's rows are in
    print(f"\ndemo finished in {time.perf_counter() - started:.0f} s")
    print(f"open the leaderboard: file://{result.site_index.resolve()}")
    code = exit_status(result.summaries)
    if code:
        raise typer.Exit(code)
