"""`glues-bench score TASK GOLD_FILE PREDICTIONS_FILE`: score a predictions JSON file offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from glues_bench.cli.app import app

if TYPE_CHECKING:
    from glues_bench.metrics import ScoreResult


@app.command("score")
def score(
    task_name: Annotated[
        str, typer.Argument(metavar="TASK", help="A task name or alias (see `glues-bench tasks`).")
    ],
    gold_file: Annotated[
        Path,
        typer.Argument(
            metavar="GOLD_FILE", help="A gold file in the task's original format (e.g. esp.testa)."
        ),
    ],
    predictions_file: Annotated[
        Path,
        typer.Argument(
            metavar="PREDICTIONS_FILE",
            help='JSON object: QA {question_id: answer}; otherwise by example position, {"0": label} '
            'or {"0": ["B-PER", "O"]}.',
        ),
    ],
    variant: Annotated[
        str | None,
        typer.Option(help="Task variant (default: the spec's). For QA, `squad-en` scores like HF `squad`."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    albeto_subtoken: Annotated[
        str | None,
        typer.Option(
            "--albeto-subtoken",
            metavar="TOKENIZER",
            help="POS/NER only: score every sub-token of TOKENIZER (a directory or hub id) with the word's "
            "tag, as the ALBETO code did, to compare with published numbers. Not the harness's metric.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help="Score against the first N gold examples only, as `run --limit N` did: a number stored "
            "from a --limit run is reproduced from its predictions file with the same --limit (the run's "
            "provenance records it under details.scored_subset).",
        ),
    ] = None,
    rows: Annotated[
        str | None,
        typer.Option(
            "--rows",
            metavar="START:END",
            help="Score against gold rows START to END (0-based, END excluded, either may be omitted), after "
            "--limit: the selection part of a dev split that `run` cut into train and selection, e.g. 240: .",
        ),
    ] = None,
) -> None:
    """Score PREDICTIONS_FILE against GOLD_FILE with TASK's metrics, in percent.

    A gold example without a prediction counts as wrong. Example ids keep their position in the gold file,
    also with --limit and --rows.
    """
    from glues_bench.data import read_gold_file
    from glues_bench.errors import DataError
    from glues_bench.metrics import load_predictions, score_predictions
    from glues_bench.tasks import get_task

    task = get_task(task_name).resolve(variant)
    if not gold_file.is_file():
        raise DataError(f"gold file not found: {gold_file}")
    predictions = load_predictions(predictions_file)
    gold = _subset(read_gold_file(task, gold_file), limit, rows)
    if albeto_subtoken is None:
        result = score_predictions(task, gold, predictions)
    else:
        counts = _subtoken_counts(albeto_subtoken, gold)
        result = score_predictions(task, gold, predictions, token_mode="subtoken", subtoken_counts=counts)
    if as_json:
        payload = {
            "task": task.name,
            "variant": task.variant,
            "n_examples": result.n_examples,
            "n_missing": result.n_missing,
            "metrics": result.metrics,
            "score": result.score,
        }
        if albeto_subtoken is not None:  # only then: the default output is the documented fixed shape
            payload["token_mode"] = "subtoken"
        print(json.dumps(payload, ensure_ascii=False))
        return
    _print_table(task.name, task.variant, task.spec.score_metrics, result)


def _subset(gold, limit: int | None, rows: str | None):
    """The gold rows `run` scored: the first `limit`, then `rows` START:END of those."""
    from glues_bench.errors import GluesError

    n_rows = len(gold) if limit is None else min(limit, len(gold))
    start, end = 0, n_rows
    if rows is not None:
        first, sep, last = rows.partition(":")
        try:
            start = int(first) if first.strip() else 0
            end = int(last) if last.strip() else n_rows
        except ValueError:
            sep = ""
        if not sep or not 0 <= start < end <= n_rows:
            raise GluesError(f"--rows {rows!r}: expected START:END with 0 <= START < END <= {n_rows}")
    if (start, end) == (0, len(gold)):
        return gold
    return gold.select(range(start, end))


def _subtoken_counts(tokenizer_name: str, gold) -> list[list[int]]:
    """How many pieces the tokenizer cuts each gold word into (a word that vanishes counts as one)."""
    from transformers import AutoTokenizer

    from glues_bench.errors import GluesError

    if "tokens" not in gold.column_names:
        raise GluesError("--albeto-subtoken applies to token classification tasks (pos, ner) only")
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_name)
    except OSError as exc:
        raise GluesError(f"--albeto-subtoken {tokenizer_name}: cannot load a tokenizer there") from exc
    return [[max(1, len(tokenizer.tokenize(word))) for word in words] for words in gold["tokens"]]


def _print_table(task_name: str, variant: str, score_metrics: tuple[str, ...], result: ScoreResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{task_name} ({variant})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result.metrics.items():
        table.add_row(name, f"{value:.2f}")
    table.add_row(
        f"[bold]score[/bold] (mean of {', '.join(score_metrics)})", f"[bold]{result.score:.2f}[/bold]"
    )
    console = Console()
    console.print(table)
    missing = f", {result.n_missing} without a prediction (scored as wrong)" if result.n_missing else ""
    console.print(f"{result.n_examples} examples{missing}")
