"""Load one split of a task: local files first, then the hub, always in the schema of `schema.py`.

Which files, which format and which hub copy all come from the resolved task spec; nothing here knows
a task by name. Every split carries a fingerprint of its content, so a run records exactly what it saw
whether the rows came from a file or from the hub.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset

from glues_bench.data import hub
from glues_bench.data.formats import FORMAT_TASK_TYPE, READERS, Columns
from glues_bench.data.schema import FEATURES
from glues_bench.errors import DataError, DataUnavailable, GluesError, SpecError, UnknownName
from glues_bench.tasks.spec import SPLITS, LocalSource, ResolvedTask


@dataclass(frozen=True)
class LoadedSplit:
    """One split in our schema, with a sha256 of its content and where it came from."""

    dataset: Dataset
    fingerprint: str
    source: str
    files: tuple[Path, ...] = ()


def load_split(
    task: ResolvedTask, split: str, data_dir: Path | None = None, limit: int | None = None
) -> LoadedSplit:
    """The `split` (train/dev/test) of `task`, first `limit` examples only when `limit` is set.

    With `data_dir`, the first existing file of the split's local `paths` is read, followed by every
    existing `extra_paths` file. Otherwise, or when none of `paths` exists, the hub copy is loaded.
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
            columns = _read_files(task, source.local, files)
            return _finish(task, columns, limit, ", ".join(str(f) for f in files), files)
        tried += [str(data_dir / p) for p in source.local.paths]
    if source.hub is not None:
        origin = hub.describe(source.hub)
        try:
            dataset = hub.fetch(source.hub)
        except OSError as exc:  # network down, offline mode, not found: all mean "not available here"
            tried.append(origin)
            reason = ": ".join([exc.__class__.__name__, *str(exc).splitlines()[:1]])
            raise DataUnavailable(_unavailable(task, split, tried, reason)) from exc
        if limit is not None:
            dataset = dataset.select(range(min(limit, len(dataset))))
        return _finish(task, hub.to_columns(dataset, task, origin), limit, origin, ())
    if source.local is not None and data_dir is None:
        tried += [f"<--data-dir>/{p}" for p in source.local.paths]
    raise DataUnavailable(_unavailable(task, split, tried, source.note or "no hub copy in the task spec"))


def read_gold_file(task: ResolvedTask, path: Path) -> Dataset:
    """One file in the format of the task's local source, e.g. a gold file for `glues-bench score`."""
    local = next((s.local for s in (task.splits[n] for n in ("test", "dev", "train")) if s.local), None)
    if local is None:
        raise DataError(f"task {task.name} ({task.variant}) has no local file format; cannot read {path}")
    return _finish(task, _read_files(task, local, (path,)), None, str(path), (path,)).dataset


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


def _read_files(task: ResolvedTask, local: LocalSource, files: tuple[Path, ...]) -> Columns:
    produced = FORMAT_TASK_TYPE[local.format]
    if produced != task.task_type:
        raise SpecError(f"task {task.name}: format {local.format} yields {produced}, not {task.task_type}")
    reader = READERS[local.format]
    labels = frozenset(task.labels)
    parts = [reader(path, labels) for path in files]
    columns = {name: [value for part in parts for value in part[name]] for name in parts[0]}
    if "id" in columns:
        _check_unique_ids(columns["id"], files)
    return columns


def _check_unique_ids(ids: list[str], files: tuple[Path, ...]) -> None:
    seen: set[str] = set()
    for question_id in ids:
        if question_id in seen:
            raise DataError(f"{', '.join(map(str, files))}: question id {question_id!r} appears twice")
        seen.add(question_id)


def _finish(
    task: ResolvedTask, columns: Columns, limit: int | None, source: str, files: tuple[Path, ...]
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
    return LoadedSplit(dataset=dataset, fingerprint=fingerprint(columns), source=source, files=files)


def _unavailable(task: ResolvedTask, split: str, tried: list[str], why: str) -> str:
    looked = f"tried {', '.join(tried)}" if tried else "no source to try"
    return f"task {task.name} ({task.variant}) split {split}: no data found; {looked} ({why})"
