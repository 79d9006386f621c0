"""Page contexts: plain JSON-able dicts built from a snapshot. Each page's HTML renders its context and
its `.json` twin is the same context, so the two cannot disagree.

Links in a context are relative to the site root; templates prefix them with `root`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from glues_bench.board import (
    Leaderboard,
    TaskResult,
    counted_runs,
    fmt2,
    format_cell,
    leaderboard_json,
    pareto_front,
    task_result_json,
    task_score,
)
from glues_bench.store.records import RunRecord, Snapshot, SubmissionRecord
from glues_bench.tasks import all_tasks


def model_slug(name: str) -> str:
    """A file name for any model name: readable part + hash (names may hold anything, even markup)."""
    readable = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "model"
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def model_href(name: str) -> str:
    return f"models/{model_slug(name)}.html"


def run_href(run_id: int) -> str:
    return f"runs/{run_id}.html"


def task_href(task: str) -> str:
    return f"tasks/{task}.html"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def hparams_text(hparams: Mapping[str, Any] | None) -> str:
    if not hparams:
        return "—"
    return ", ".join(f"{k}={v}" for k, v in sorted(hparams.items()))


def _split_score(run: RunRecord, split: str) -> float | None:
    spec = all_tasks().get(run.task)
    return task_score(spec.score_metrics, run.metrics.get(split, {})) if spec else None


# -- index ------------------------------------------------------------------------------------------


def index_context(board: Leaderboard, snapshot: Snapshot) -> dict[str, Any]:
    """The main table. `document` is exactly `glues-bench leaderboard --json`; `view` adds display text."""
    document = leaderboard_json(board, snapshot.last_updated)
    best: dict[str, float | None] = {
        "size_ratio": _best([row.size_ratio for row in board.rows]),
        "performance_ratio": _best([row.performance_ratio for row in board.rows]),
        "average": _best([row.average for row in board.rows]),
    }
    for task in board.task_names:
        best[task] = _best([row.tasks[task].score if task in row.tasks else None for row in board.rows])
    total = len(board.task_names)
    rows = []
    for row in board.rows:
        cells = []
        for task in board.task_names:
            result = row.tasks.get(task)
            score = result.score if result else None
            cells.append(
                {
                    "task": task,
                    "text": format_cell(result),
                    "sort": score,
                    "best": score is not None and score == best[task],
                    "title": _cell_title(result),
                }
            )
        rows.append(
            {
                "name": row.name,
                "href": model_href(row.name),
                "rank": row.rank,
                "origin": row.origin,
                "measured": row.origin != "reported",
                "complete": row.complete,
                "params": row.params,
                "params_text": row.params_display or "—",
                "size_ratio_text": fmt2(row.size_ratio),
                "size_ratio": row.size_ratio,
                "size_ratio_best": row.size_ratio is not None and row.size_ratio == best["size_ratio"],
                "performance_ratio_text": fmt2(row.performance_ratio),
                "performance_ratio": row.performance_ratio,
                "performance_ratio_best": row.performance_ratio is not None
                and row.performance_ratio == best["performance_ratio"],
                "average_text": fmt2(row.average) if row.complete else f"{row.n_tasks}/{total}",
                "average": row.average,
                "average_best": row.average is not None and row.average == best["average"],
                "cells": cells,
            }
        )
    return {
        "title": "GLUES leaderboard",
        "document": document,
        "tasks": [{**t, "href": task_href(t["name"])} for t in document["tasks"]],
        "rows": rows,
        # Measured models trained by us: their notes carry the training budget, shown under the table.
        "in_house": [
            {"name": sub.name, "href": model_href(sub.name), "notes": sub.notes or "no notes in the manifest"}
            for sub in snapshot.submissions
            if sub.origin == "in-house"
        ],
    }


def _best(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _cell_title(result: TaskResult | None) -> str:
    if result is None:
        return "no result"
    if result.source == "reported":
        return "reported: " + ", ".join(f"{m}={fmt2(v)}" for m, v in result.metrics.items())
    if result.score is None:
        return f"selected config {result.config_key} has no test score yet (dev {fmt2(result.dev_score)})"
    return (
        f"mean over {result.n_seeds} seed(s) of the config with the best dev score "
        f"({fmt2(result.dev_score)}): {hparams_text(result.hparams)}"
    )


def plot_points(board: Leaderboard) -> list[dict[str, Any]]:
    """Complete models with a parameter count, flagged when on the Pareto front (smaller and better)."""
    rows = [r for r in board.rows if r.average is not None and r.params]
    front = pareto_front([(float(r.params or 0), r.average or 0.0) for r in rows])
    return [
        {
            "name": r.name,
            "params": r.params,
            "average": r.average,
            "reported": r.origin == "reported",
            "on_front": on_front,
        }
        for r, on_front in zip(rows, front, strict=True)
    ]


# -- one task ---------------------------------------------------------------------------------------


def task_context(task: str, board: Leaderboard, snapshot: Snapshot) -> dict[str, Any]:
    spec = all_tasks()[task]
    resolved = spec.resolve()
    counted_ids = {
        r.id for submission in snapshot.submissions for r in counted_runs(snapshot.runs, submission, task)
    }
    selected_ids = {i for row in board.rows if task in row.tasks for i in row.tasks[task].run_ids}
    selected = [
        {
            "name": row.name,
            "href": model_href(row.name),
            "origin": row.origin,
            "text": format_cell(row.tasks[task]),
            "result": task_result_json(row.tasks[task]),
            "hparams_text": hparams_text(row.tasks[task].hparams),
            "dev_text": fmt2(row.tasks[task].dev_score),
            "score": row.tasks[task].score,
        }
        for row in board.rows
        if task in row.tasks
    ]
    selected.sort(key=lambda s: (s["score"] is None, -(s["score"] or 0.0), s["name"]))
    runs = sorted((r for r in snapshot.runs if r.task == task), key=lambda r: (r.submission, r.id))
    return {
        "title": f"{spec.paper_column} — {spec.title}",
        "task": {
            "name": spec.name,
            "version": spec.version,
            "title": spec.title,
            "description": spec.description,
            "paper_column": spec.paper_column,
            "task_type": spec.task_type,
            "metrics": list(spec.metrics),
            "score_metrics": list(spec.score_metrics),
            "default_variant": resolved.variant,
            "variants": [v.name for v in spec.variants],
            "spec_hash": resolved.spec_hash,
            "citation": spec.citation,
            "licence": spec.licence,
        },
        "selected": selected,
        "runs": [
            {
                **run_summary(r),
                "counted": r.id in counted_ids,
                "selected": r.id in selected_ids,
            }
            for r in runs
        ],
    }


def run_summary(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "href": run_href(run.id),
        "model": run.submission,
        "model_href": model_href(run.submission),
        "task": run.task,
        "variant": run.variant,
        "role": run.role,
        "status": run.status,
        "seed": run.seed,
        "hparams": run.hparams,
        "hparams_text": hparams_text(run.hparams),
        "dev_score": _split_score(run, "dev"),
        "test_score": _split_score(run, "test"),
        "dev_text": fmt2(_split_score(run, "dev")),
        "test_text": fmt2(_split_score(run, "test")),
        "finished_at": iso(run.finished_at),
    }


# -- one model --------------------------------------------------------------------------------------


def model_context(submission: SubmissionRecord, board: Leaderboard, snapshot: Snapshot) -> dict[str, Any]:
    row = next(r for r in board.rows if r.name == submission.name)
    tasks = []
    for name, spec in all_tasks().items():
        result: TaskResult | None = row.tasks.get(name)
        tasks.append(
            {
                "name": name,
                "column": spec.paper_column,
                "href": task_href(name),
                "text": format_cell(result),
                "result": task_result_json(result) if result else None,
                "hparams_text": hparams_text(result.hparams) if result else "—",
                "dev_text": fmt2(result.dev_score) if result else "—",
                "configs": [
                    {
                        "config_key": c.config_key,
                        "hparams_text": hparams_text(c.hparams),
                        "seeds": list(c.seeds),
                        "dev_text": _stat_text(c.dev),
                        "test_text": _stat_text(c.test),
                        "chosen": c.config_key == result.config_key,
                        "run_ids": list(c.run_ids),
                    }
                    for c in (result.configs if result else ())
                ],
            }
        )
    reported = [
        {
            "task": r.task,
            "metric": r.metric,
            "value": r.value,
            "variant": r.variant,
            "source": r.source,
            "source_ref": r.source_ref,
        }
        for r in snapshot.reported
        if r.submission == submission.name
    ]
    runs = [run_summary(r) for r in snapshot.runs if r.submission == submission.name]
    return {
        "title": submission.name,
        "submission": {
            "name": submission.name,
            "family": submission.family,
            "origin": submission.origin,
            "checkpoint_path": submission.checkpoint_path,
            "hub_id": submission.hub_id,
            "hub_revision": submission.hub_revision,
            "checkpoint_sha256": submission.checkpoint_sha256,
            "params_total": submission.params_total,
            "params_non_embedding": submission.params_non_embedding,
            "params_as_printed": submission.params_as_printed,
            "licence": submission.licence,
            "notes": submission.notes,
            "manifest": submission.manifest,
            "created_at": iso(submission.created_at),
            "updated_at": iso(submission.updated_at),
        },
        "manifest_text": json.dumps(submission.manifest, indent=2, sort_keys=True, ensure_ascii=False)
        if submission.manifest is not None
        else None,
        "summary": {
            "rank": row.rank,
            "average_text": fmt2(row.average) if row.complete else f"{row.n_tasks}/{len(board.task_names)}",
            "size_ratio_text": fmt2(row.size_ratio),
            "performance_ratio_text": fmt2(row.performance_ratio),
            "params_text": row.params_display or "—",
        },
        "tasks": tasks,
        "reported": reported,
        "runs": runs,
    }


def _stat_text(stat: Any) -> str:
    if stat is None:
        return "—"
    return fmt2(stat.mean) + (f" ± {fmt2(stat.sd)}" if stat.sd is not None else "") + f" (n={stat.n})"


# -- one run ----------------------------------------------------------------------------------------


def run_context(run: RunRecord, page_dir: Path) -> dict[str, Any]:
    """Full provenance of one run; prediction links are relative to the page so the site works from disk."""
    return {
        "title": f"Run {run.id}: {run.submission} on {run.task}",
        "run": {
            **run_summary(run),
            "checkpoint_sha256": run.checkpoint_sha256,
            "task_href": task_href(run.task),
            "spec_version": run.spec_version,
            "spec_hash": run.spec_hash,
            "data_fingerprint": run.data_fingerprint,
            "hparams_hash": run.hparams_hash,
            "error": run.error,
            "attempt": run.attempt,
            "started_at": iso(run.started_at),
            "duration_s": run.duration_s,
            "durations": run.durations,
            "library_versions": run.library_versions,
            "harness_version": run.harness_version,
            "harness_git_sha": run.harness_git_sha,
            "device": run.device,
            "host": run.host,
            "pid": run.pid,
            "selection_rule": run.selection_rule,
            "details": run.details,
            "metrics": run.metrics,
        },
        "details_text": json.dumps(run.details, indent=2, sort_keys=True, ensure_ascii=False)
        if run.details
        else None,
        "predictions": [
            {
                "split": p.split,
                "path": p.path,
                "sha256": p.sha256,
                "href": quote(Path(os.path.relpath(p.path, page_dir)).as_posix()),
            }
            for p in run.predictions
        ],
    }
