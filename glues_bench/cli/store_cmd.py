"""`glues-bench leaderboard | build-site | import-reported`: read and publish the results store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from glues_bench.cli.app import app

if TYPE_CHECKING:
    from glues_bench.board import Leaderboard, TaskResult

DB_HELP = (
    "SQLAlchemy URL, e.g. sqlite:///results.db or postgresql://user@host/db (a bare path is refused); "
    "default $GLUES_BENCH_DB, else your own sqlite:///results/glues_bench.db (the committed board is "
    "sqlite:///leaderboard/glues_bench.db)."
)
DEFAULT_SITE_DIR = Path("results") / "site"  # the committed leaderboard/site is rebuilt on purpose only
REFERENCE_HELP = (
    "Model whose params and average are the size/performance reference (default: BETO cased, as in the "
    "paper); a name that is not on the board is refused."
)
DEFAULT_REFERENCE = "BETO cased"
INCLUDE_LIMITED_HELP = (
    "Rank limited results (a --limit or --train-limit run, one trained on part of dev, or one seed) "
    "together with the full ones, each with its badge; by default they are listed, unranked, in a section "
    "of their own."
)


@app.command("import-reported")
def import_reported(
    file: Annotated[
        Path, typer.Argument(help="A reported-results YAML file, e.g. leaderboard/reported_results.yaml.")
    ],
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
) -> None:
    """Load published results (e.g. the paper's Tables 3-5) as `reported` rows; re-importing is a no-op."""
    from glues_bench.store import open_store

    with open_store(db) as store:
        summary = store.import_reported(file)
    print(
        f"{summary.models} models from {file}: {summary.added} values added, {summary.updated} updated, "
        f"{summary.removed} removed, {summary.unchanged} unchanged"
    )


@app.command("leaderboard")
def leaderboard(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the leaderboard as JSON (unrounded numbers).")
    ] = False,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
    reference: Annotated[str | None, typer.Option("--reference", help=REFERENCE_HELP)] = None,
    include_limited: Annotated[bool, typer.Option("--include-limited", help=INCLUDE_LIMITED_HELP)] = False,
) -> None:
    """Show the main table: rank, params, size and performance ratios, average and the 8 task scores, then the
    limited results and the data baseline."""
    from glues_bench.board import leaderboard_from_snapshot, leaderboard_json, leaderboard_text
    from glues_bench.store import open_store

    with open_store(db, create=False) as store:
        snapshot = store.snapshot(provenance=False)  # the table needs scores and keys, not provenance
    reference = _reference(snapshot, reference)
    board = leaderboard_from_snapshot(snapshot, reference, include_limited=include_limited)
    if as_json:
        document = leaderboard_json(board, snapshot.last_updated)
        print(leaderboard_text(document), end="")
        return
    _print_table(board)


def _reference(snapshot, reference: str | None) -> str:
    """The default reference may be absent (a board of one's own runs); a named one must be on the board."""
    from glues_bench.errors import UnknownName

    if reference is None:
        return DEFAULT_REFERENCE
    names = [submission.name for submission in snapshot.submissions]
    if reference not in names:
        raise UnknownName("--reference model", reference, names)
    return reference


def _print_table(board: Leaderboard) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # piped or captured: print full rows instead of squeezing to 80 columns
        console = Console(width=240)
    sections = [(f"GLUES leaderboard (reference: {board.reference})", board.rows)]
    if board.limited:
        sections.append(("Limited results (not ranked: see the protocol column)", board.limited))
    if board.baseline is not None:
        sections.append(("Baselines from the data (chance level)", (board.baseline,)))
    for title, rows in sections:
        console.print(_table(board, title, rows))
    console.print(
        "QA cells: F1 / EM; measured cells: mean ± sd over seeds (sd needs 2+ seeds); ≈ tied with the "
        "column's best (paired bootstrap, 95%); ! at chance (CI overlaps the baseline's)."
    )


def _cell_text(result: TaskResult | None) -> str:
    from glues_bench.board import format_cell

    if result is None:
        return format_cell(result)
    marks = ("≈" if result.tied_with_best else "") + ("!" if result.at_chance else "")
    return format_cell(result) + (f" {marks}" if marks else "")


def _table(board: Leaderboard, title: str, rows):
    from rich.table import Table
    from rich.text import Text

    from glues_bench.board import fmt2
    from glues_bench.tasks import all_tasks

    table = Table(title=title)
    for column in ("#", "model", "origin", "protocol", "params", "size×", "perf×", "avg"):
        table.add_column(column, justify="right" if column not in ("model", "origin") else "left")
    specs = all_tasks()
    for task in board.task_names:
        table.add_column(specs[task].paper_column, justify="right")
    total = len(board.task_names)
    for row in rows:
        rank = "" if row.rank is None else str(row.rank)
        if row.rank_range is not None and row.rank_range[0] != row.rank_range[1]:
            rank = f"{row.rank_range[0]}–{row.rank_range[1]}"
        cells = [
            rank,
            row.display_name or row.name,
            row.origin,
            row.protocol if row.protocol == "full" else "limited: " + "; ".join(row.limited_reasons),
            row.params_display or "—",
            fmt2(row.size_ratio),
            fmt2(row.performance_ratio),
            fmt2(row.average) if row.complete else f"{row.n_tasks}/{total}",
        ]
        cells += [_cell_text(row.tasks.get(task)) for task in board.task_names]
        # Text(), not str: a model name like "[red]x" must print as itself, not as rich markup.
        table.add_row(*(Text(c) for c in cells), style=None if row.complete else "dim")
    return table


@app.command("build-site")
def build_site(
    out: Annotated[Path, typer.Option("--out", help="Output folder (rebuilt in place).")] = DEFAULT_SITE_DIR,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
    reference: Annotated[str | None, typer.Option("--reference", help=REFERENCE_HELP)] = None,
    include_limited: Annotated[bool, typer.Option("--include-limited", help=INCLUDE_LIMITED_HELP)] = False,
) -> None:
    """Write the static leaderboard site (index, one page per task, model and run, JSON twins, CSV and JSON
    downloads of every table)."""
    from glues_bench.site import build_site as build
    from glues_bench.store import open_store

    with open_store(db, create=False) as store:
        snapshot = store.snapshot()
    reference = _reference(snapshot, reference)
    written = build(snapshot, out, reference=reference, include_limited=include_limited)
    print(f"wrote {len(written)} files to {out} (open {out / 'index.html'})")
