"""The JSON contract: `glues-bench leaderboard --json` and the site's `index.json`. Written, never read
back: pages and tables are rendered from the typed board, not from this document."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from glues_bench.board.board import Leaderboard, LeaderboardRow
from glues_bench.board.efficiency import efficiency_json
from glues_bench.board.selection import TaskResult
from glues_bench.tasks import all_tasks

__all__ = ["leaderboard_json", "leaderboard_text", "task_result_json"]


def task_result_json(result: TaskResult) -> dict[str, Any]:
    """One cell. Measured cells carry `ci95` ([low, high], null with a `ci_note` saying why), `n_seeds`,
    `tied_with_best` (null: not in a tie test) and `at_chance`; every cell its `protocol`."""
    extra: dict[str, Any] = {"protocol": result.protocol}
    if result.protocol == "limited":
        extra["limited_reasons"] = list(result.limited_reasons)
    if result.source == "measured":
        extra.update(
            ci95=list(result.ci95) if result.ci95 is not None else None,
            ci_note=result.ci_note,
            tied_with_best=result.tied_with_best,
            at_chance=result.at_chance,
        )
    if result.source == "baseline":
        extra.update(ci95=list(result.ci95) if result.ci95 is not None else None, note=result.note)
    return extra | {
        "source": result.source,
        "score": result.score,
        "sd": result.sd,
        "n_seeds": result.n_seeds,
        "metrics": dict(result.metrics),
        "metrics_sd": dict(result.metrics_sd),
        "score_metrics": list(result.score_metrics),
        "dev_score": result.dev_score,
        "config_key": result.config_key,
        "hparams": dict(result.hparams) if result.hparams is not None else None,
        "run_ids": list(result.run_ids),
    }


def leaderboard_json(board: Leaderboard, last_updated: datetime | None) -> dict[str, Any]:
    """The `glues-bench leaderboard --json` document (also the site's index.json)."""
    from glues_bench import __version__

    specs = all_tasks()
    return {
        "harness_version": __version__,
        "last_updated": last_updated.isoformat() if last_updated else None,
        "reference": {
            "name": board.reference,
            "params": board.reference_params,
            "average": board.reference_average,
        },
        "efficiency_device": board.efficiency_device,
        "tasks": [
            {"name": t, "column": specs[t].paper_column, "score_metrics": list(specs[t].score_metrics)}
            for t in board.task_names
        ],
        "include_limited": board.include_limited,
        "rows": [_row_json(row, board) for row in board.rows]
        + ([_row_json(board.baseline, board)] if board.baseline is not None else []),
        "limited_rows": [_row_json(row, board) for row in board.limited],
    }


def _row_json(row: LeaderboardRow, board: Leaderboard) -> dict[str, Any]:
    extra: dict[str, Any] = {"protocol": row.protocol}
    if row.protocol == "limited":
        extra["limited_reasons"] = list(row.limited_reasons)
    return extra | {
        "rank": row.rank,
        "rank_range": list(row.rank_range) if row.rank_range is not None else None,
        "display_name": row.display_name,
        "average_ci95": list(row.average_ci95) if row.average_ci95 is not None else None,
        "average_tied_with_best": row.average_tied_with_best,
        "name": row.name,
        "family": row.family,
        "origin": row.origin,
        "params": row.params,
        "params_display": row.params_display,
        "size_ratio": row.size_ratio,
        "performance_ratio": row.performance_ratio,
        "average": row.average,
        "n_tasks": row.n_tasks,
        "n_tasks_total": len(board.task_names),
        "complete": row.complete,
        "tasks": {t: task_result_json(row.tasks[t]) if t in row.tasks else None for t in board.task_names},
        "efficiency": {device: efficiency_json(e) for device, e in row.efficiency.items()},
    }


def leaderboard_text(document: dict[str, Any]) -> str:
    """The document as `glues-bench leaderboard --json` prints it and the site's index.json holds it."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
