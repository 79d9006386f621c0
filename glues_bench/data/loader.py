"""Load one split of a task: local files first, then the hub, always in the schema of `schema.py`.

Which files, which format and which hub copy all come from the resolved task spec; nothing here knows
a task by name. Every split carries a fingerprint of its content, so a run records exactly what it saw
whether the rows came from a file or from the hub.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset

from glues_bench.data import hub
from glues_bench.data.formats import FORMAT_TASK_TYPE, READERS, Columns
from glues_bench.data.schema import FEATURES
from glues_bench.data.sources import SplitReport, apply_quirks, check_rows, drop_unlabelled, read_raw_files
from glues_bench.errors import DataError, DataUnavailable, GluesError, SpecError, UnknownName
from glues_bench.tasks.spec import SPLITS, LocalSource, ResolvedTask, SplitSource


@dataclass(frozen=True)
class LoadedSplit:
    """One split in our schema, with a sha256 of its content and where it came from."""

    dataset: Dataset
    fingerprint: str
    source: str
    files: tuple[Path, ...] = ()
    report: SplitReport = field(default_factory=SplitReport)


def load_split(
    task: ResolvedTask,
    split: str,
    data_dir: Path | None = None,
    limit: int | None = None,
    strict: bool = False,
    *,
    hub_fallback: bool = True,
) -> LoadedSplit:
    """The `split` (train/dev/test) of `task`, first `limit` examples only when `limit` is set.

    With `data_dir`, the first existing file of the split's local `paths` is read, followed by every
    existing `extra_paths` file. Otherwise, or when none of `paths` exists, the hub copy is loaded, unless
    `hub_fallback` is False (`run --data-dir` without `--hub`): then the hub is not even described.
    The split's declared quirks are applied and counted; without `limit`, row counts are checked
    against the official counts the spec declares (a warning, or `RowCountDrift` under `strict`).
    Both are recorded in the split's `source`, which the run's provenance keeps.
    """
    if split not in SPLITS:
        raise UnknownName("split", split, SPLITS)
    if limit is not None and limit < 1:
        raise GluesError(f"--limit {limit}: must be a positive number of examples")
    source = task.splits[split]
    tried: list[str] = []
    if source.local is not None and data_dir is not None:
        files = local_files(data_dir, source.local)
        if files:
            report = SplitReport()
            columns = _read_files(task, source, data_dir, files, limit, strict, report)
            origin = ", ".join(str(f) for f in files)
            return _finish(task, columns, limit, origin + report.suffix(), files, report)
        tried += [str(data_dir / p) for p in source.local.paths]
    if source.hub is not None and not hub_fallback:
        why = "the hub is not tried with --data-dir unless --hub is given"
        raise DataUnavailable(_unavailable(task, split, tried, why))
    if source.hub is not None:
        origin = hub.describe(source.hub)
        try:
            columns, report = _read_hub(task, source, limit, strict)
        except OSError as exc:  # network down, offline mode, not found: all mean "not available here"
            tried.append(origin)
            reason = ": ".join([exc.__class__.__name__, *str(exc).splitlines()[:1]])
            raise DataUnavailable(_unavailable(task, split, tried, reason)) from exc
        return _finish(task, columns, limit, origin + report.suffix(), (), report)
    if source.local is not None and data_dir is None:
        tried += [f"<--data-dir>/{p}" for p in source.local.paths]
    raise DataUnavailable(_unavailable(task, split, tried, source.note or "no hub copy in the task spec"))


def _read_hub(
    task: ResolvedTask, source: SplitSource, limit: int | None, strict: bool
) -> tuple[Columns, SplitReport]:
    hub_source = source.hub
    assert hub_source is not None
    origin = hub.describe(hub_source)
    report = SplitReport()
    dataset = None
    if hub_source.kind != "raw_files":
        dataset = hub.fetch(hub_source)
        if "drop-unlabelled-v1" in source.quirks:
            dataset, report.dropped["drop-unlabelled-v1"] = drop_unlabelled(dataset, origin)
    else:
        hub.warn_unpinned(hub_source)

    def read(read_limit: int | None) -> tuple[Columns, dict[str, int]]:
        if dataset is None:
            columns = read_raw_files(hub_source, task, read_limit)
        else:
            rows = dataset if read_limit is None else dataset.select(range(min(read_limit, len(dataset))))
            columns = hub.to_columns(rows, task, origin)
        return apply_quirks(columns, source.quirks)

    columns, dropped = read(limit)
    if limit is not None and any(dropped.values()) and _n_rows(columns) < limit:
        columns, dropped = read(None)  # quirks dropped rows: read all so that `limit` good rows come back
    for quirk, n in dropped.items():
        report.dropped[quirk] = report.dropped.get(quirk, 0) + n
    if limit is None:
        check_rows(origin, _n_rows(columns), hub_source.rows, strict, report)
    return columns, report


def read_gold_file(task: ResolvedTask, path: Path) -> Dataset:
    """One file in the format of the task's local source, e.g. a gold file for `glues-bench score`; read
    through the split's quirks exactly as `load_split` reads it, so ids name the same rows a run scored."""
    source = next((s for s in (task.splits[n] for n in ("test", "dev", "train")) if s.local), None)
    if source is None or source.local is None:
        raise DataError(f"task {task.name} ({task.variant}) has no local file format; cannot read {path}")
    parts, _ = _filter_parts(_read_parts(task, source.local, (path,), None), source)
    return _finish(task, _concatenate(parts, (path,)), None, str(path), (path,)).dataset


def local_files(data_dir: Path, local: LocalSource) -> tuple[Path, ...]:
    """The first existing of `paths` plus every existing `extra_paths`; empty when no `paths` exists."""
    main = next((data_dir / p for p in local.paths if (data_dir / p).is_file()), None)
    if main is None:
        return ()
    files = [main]
    for extra in (data_dir / p for p in local.extra_paths):
        # Two layouts of the same treebank may both be present (or symlinked): read each file once.
        if extra.is_file() and all(not os.path.samefile(extra, f) for f in files):
            files.append(extra)
    return tuple(files)


def fingerprint(columns: Columns) -> str:
    """sha256 over the rows as canonical JSON lines (sorted keys): same content, same fingerprint."""
    names = sorted(columns)
    digest = hashlib.sha256()
    for values in zip(*(columns[n] for n in names), strict=True):
        row = dict(zip(names, values, strict=True))
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def dataset_fingerprint(dataset: Dataset) -> str:
    """`fingerprint` of a dataset already in our schema (e.g. to compare a hub copy with a file)."""
    return fingerprint(dataset.to_dict())


def _read_files(
    task: ResolvedTask,
    source: SplitSource,
    data_dir: Path,
    files: tuple[Path, ...],
    limit: int | None,
    strict: bool,
    report: SplitReport,
) -> Columns:
    local = source.local
    assert local is not None
    parts = _read_parts(task, local, files, limit)
    filtered, dropped = _filter_parts(parts, source)
    if limit is not None and any(dropped.values()) and sum(map(_n_rows, filtered)) < limit:
        # Quirks dropped rows from a limited read: read everything so that `limit` good rows come back.
        parts = _read_parts(task, local, files, None)
        filtered, dropped = _filter_parts(parts, source)
    parts = filtered
    report.dropped.update(dropped)
    if limit is None:
        # Official counts are per file: a split may concatenate a 2nd treebank when it is present.
        for path, part in zip(files, parts, strict=True):
            official = local.rows.get(path.relative_to(data_dir).as_posix())
            check_rows(str(path), _n_rows(part), official, strict, report)
    return _concatenate(parts, files)


def _filter_parts(parts: list[Columns], source: SplitSource) -> tuple[list[Columns], dict[str, int]]:
    """Each file's rows through the split's quirks, and the total each quirk dropped."""
    total: dict[str, int] = {}
    filtered = []
    for part in parts:
        kept, dropped = apply_quirks(part, source.quirks)
        filtered.append(kept)
        for quirk, n in dropped.items():
            total[quirk] = total.get(quirk, 0) + n
    return filtered, total


def _read_parts(
    task: ResolvedTask, local: LocalSource, files: tuple[Path, ...], limit: int | None
) -> list[Columns]:
    """One reader result per file; with `limit`, reading stops once that many rows are in."""
    produced = FORMAT_TASK_TYPE[local.format]
    if produced != task.task_type:
        raise SpecError(f"task {task.name}: format {local.format} yields {produced}, not {task.task_type}")
    reader = READERS[local.format]
    labels = frozenset(task.labels)
    parts: list[Columns] = []
    remaining = limit
    for path in files:
        part = reader(path, labels, remaining)
        parts.append(part)
        if remaining is not None:
            remaining -= _n_rows(part)
            if remaining <= 0:
                break  # the limit is reached: later files are not even opened
    return parts


def _concatenate(parts: list[Columns], files: tuple[Path, ...]) -> Columns:
    columns = {name: [value for part in parts for value in part[name]] for name in parts[0]}
    if "id" in columns:
        _check_unique_ids(columns["id"], files)
    return columns


def _n_rows(columns: Columns) -> int:
    return len(next(iter(columns.values())))


def _check_unique_ids(ids: list[str], files: tuple[Path, ...]) -> None:
    seen: set[str] = set()
    for question_id in ids:
        if question_id in seen:
            raise DataError(f"{', '.join(map(str, files))}: question id {question_id!r} appears twice")
        seen.add(question_id)


def _finish(
    task: ResolvedTask,
    columns: Columns,
    limit: int | None,
    source: str,
    files: tuple[Path, ...],
    report: SplitReport | None = None,
) -> LoadedSplit:
    """Cut to `limit`, number the examples (QA keeps its own ids), fingerprint and build the Dataset."""
    if limit is not None:
        columns = {name: values[:limit] for name, values in columns.items()}
    if "id" not in columns:
        n_examples = len(next(iter(columns.values())))
        columns = {"id": [str(i) for i in range(n_examples)], **columns}
    features = FEATURES[task.task_type]
    columns = {name: columns[name] for name in features}
    dataset = Dataset.from_dict(columns, features=features)
    return LoadedSplit(
        dataset=dataset,
        fingerprint=fingerprint(columns),
        source=source,
        files=files,
        report=report or SplitReport(),
    )


def _unavailable(task: ResolvedTask, split: str, tried: list[str], why: str) -> str:
    looked = f"tried {', '.join(tried)}" if tried else "no source to try"
    return f"task {task.name} ({task.variant}) split {split}: no data found; {looked} ({why})"
