"""The JSON contract: `glues-bench leaderboard --json` and the site's `index.json`. Written, never read
back: pages and tables are rendered from the typed board, not from this document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from glues_bench.board.board import Leaderboard
from glues_bench.board.efficiency import efficiency_json
from glues_bench.board.selection import TaskResult
from glues_bench.tasks import all_tasks

__all__ = ["leaderboard_json", "task_result_json"]


def task_result_json(result: TaskResult) -> dict[str, Any]:
    return {
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
        "rows": [
            {
                "rank": row.rank,
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
                "tasks": {
                    t: task_result_json(row.tasks[t]) if t in row.tasks else None for t in board.task_names
                },
                "efficiency": {device: efficiency_json(e) for device, e in row.efficiency.items()},
            }
            for row in board.rows
        ],
    }
