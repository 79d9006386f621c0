"""The leaderboard logic, in one place: pure functions of a store snapshot. `selection` (one model × task),
`board` (which runs count, the ranked table), `protocol` (full / limited and why), `export` (the JSON
contract), `text` (display formatting), `stats` and `baselines` (confidence intervals, ties, data
baselines) and `uncertainty` (those numbers attached to a board from the stored unit statistics); the last
three are imported as submodules, since they need numpy. Reads store records, never the database; the site
and the CLI render from it."""

from glues_bench.board.board import (
    REFERENCE_MODEL,
    Leaderboard,
    LeaderboardRow,
    ModelEntry,
    build_leaderboard,
    counted_runs,
    counts,
    default_tasks,
    model_average,
    model_entry,
    pareto_front,
    performance_ratio,
    runs_by_cell,
    selected_result,
    size_ratio,
)
from glues_bench.board.export import leaderboard_json, task_result_json
from glues_bench.board.selection import (
    SELECTION_RULE,
    ConfigResult,
    Protocol,
    RunScores,
    Source,
    Stat,
    TaskResult,
    config_result,
    reported_task_result,
    run_scores,
    select_config,
    select_task_result,
    summarize,
    task_score,
)
from glues_bench.board.snapshot import leaderboard_from_snapshot
from glues_bench.board.text import fmt2, format_cell, format_ci, format_params, hparams_key, tie_mark

__all__ = [
    "REFERENCE_MODEL",
    "SELECTION_RULE",
    "ConfigResult",
    "Leaderboard",
    "LeaderboardRow",
    "ModelEntry",
    "Protocol",
    "RunScores",
    "Source",
    "Stat",
    "TaskResult",
    "build_leaderboard",
    "config_result",
    "counted_runs",
    "counts",
    "default_tasks",
    "fmt2",
    "format_cell",
    "format_ci",
    "format_params",
    "hparams_key",
    "leaderboard_from_snapshot",
    "leaderboard_json",
    "model_average",
    "model_entry",
    "pareto_front",
    "performance_ratio",
    "reported_task_result",
    "run_scores",
    "runs_by_cell",
    "select_config",
    "select_task_result",
    "selected_result",
    "size_ratio",
    "summarize",
    "task_result_json",
    "task_score",
    "tie_mark",
]
