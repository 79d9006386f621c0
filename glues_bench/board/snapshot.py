"""The board of a store snapshot: `board`'s ranked table with `uncertainty`'s CIs and ties attached.

Its own module so that `uncertainty` (which builds on `board`'s rows) and `board` never import each other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from glues_bench.board.board import (
    REFERENCE_MODEL,
    Leaderboard,
    build_leaderboard,
    default_tasks,
    model_entry,
    runs_by_cell,
)
from glues_bench.board.efficiency import reference_device

if TYPE_CHECKING:
    from glues_bench.store.records import ReportedRecord, Snapshot

__all__ = ["leaderboard_from_snapshot"]


def leaderboard_from_snapshot(
    snapshot: Snapshot,
    reference: str = REFERENCE_MODEL,
    *,
    include_limited: bool = False,
) -> Leaderboard:
    """The board of a snapshot: full rows ranked, limited rows in their own unranked section (or ranked
    with the full ones, `include_limited`), the stored baselines as a row, and CIs, tie groups and
    "at chance" flags from the stored unit statistics."""
    tasks = default_tasks()
    cells = runs_by_cell(snapshot.runs)
    reported: dict[str, list[ReportedRecord]] = {}
    for record in snapshot.reported:
        reported.setdefault(record.submission, []).append(record)
    entries = [model_entry(snapshot, s, tasks, cells=cells, reported=reported) for s in snapshot.submissions]
    ranked = [e for e in entries if include_limited or e.protocol == "full"]
    board = build_leaderboard(ranked, reference)
    ranked_names = {e.name for e in ranked}
    limited = [e for e in entries if e.name not in ranked_names]
    if limited:
        # Ratios against the board's reference (a full row: a reported one, by default).
        references = [e for e in ranked if e.name == reference]
        section = build_leaderboard(limited + references, reference).rows
        board = replace(
            board, limited=tuple(replace(r, rank=None) for r in section if r.name not in ranked_names)
        )
    # The efficiency device from every row, limited ones too (as if all were in one table).
    board = replace(
        board,
        include_limited=include_limited,
        efficiency_device=reference_device(e.efficiency for e in entries),
    )
    from glues_bench.board.uncertainty import with_statistics

    return with_statistics(board, snapshot, tasks)
