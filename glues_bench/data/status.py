"""`glues-bench data status`: per task and split, what a data dir holds and whether it is verified."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from glues_bench.data.fetch import Lock, sha256_of
from glues_bench.data.loader import load_split, local_files
from glues_bench.errors import GluesError
from glues_bench.tasks.spec import SPLITS, TaskSpec


@dataclass
class SplitStatus:
    task: str
    variant: str
    split: str
    found: bool
    files: list[str]
    rows: int | None
    official_rows: int | None
    fingerprint: str | None
    pinned: bool  # every file has a sha256 in the spec
    verified: bool | None  # every file matches its pin or lock entry; None: nothing to check against
    licence: str
    research_only: bool
    fetch: str | None  # the command that gets what is missing
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _pins(spec: TaskSpec) -> dict[str, str | None]:
    return {m.path: m.sha256 for release in spec.downloads for m in release.files}


def _official_rows(official: Mapping[str, int], files: Sequence[str]) -> int | None:
    """The official count of all the files a split reads (a 2nd treebank may join the 1st); None unless
    every file has one."""
    if not files or any(f not in official for f in files):
        return None
    return sum(official[f] for f in files)


def split_status(spec: TaskSpec, variant: str, split: str, data_dir: Path, lock: Lock) -> SplitStatus:
    task = spec.resolve(variant)
    source = task.splits[split]
    files = local_files(data_dir, source.local) if source.local is not None else ()
    relative = [f.relative_to(data_dir).as_posix() for f in files]
    pins = _pins(spec)
    fetchable = any(p in pins for p in (source.local.paths if source.local else ()))
    status = SplitStatus(
        task=spec.name,
        variant=variant,
        split=split,
        found=bool(files),
        files=relative,
        rows=None,
        official_rows=_official_rows(source.local.rows, relative) if source.local else None,
        fingerprint=None,
        pinned=bool(files) and all(pins.get(r) is not None for r in relative),
        verified=None,
        licence=spec.licence,
        research_only=spec.research_only,
        fetch=None,
    )
    if not files:
        status.fetch = (
            f"glues-bench data fetch {spec.name} --data-dir {data_dir}"
            if fetchable
            else f"no public download: {source.note or spec.licence}"
        )
        return status
    expected = [lock.expected(r, pins.get(r)) for r in relative]
    if all(e is not None for e in expected):
        status.verified = all(sha256_of(f) == e for f, e in zip(files, expected, strict=True))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # drift shows as rows vs official_rows
            loaded = load_split(task, split, data_dir)
    except GluesError as exc:
        status.error = str(exc)
        return status
    status.rows = len(loaded.dataset)
    status.fingerprint = loaded.fingerprint
    return status


def data_status(specs: list[TaskSpec], data_dir: Path, all_variants: bool = False) -> list[SplitStatus]:
    """Every split of every spec (default variant, or each variant whose splits differ)."""
    lock = Lock(data_dir)
    rows = []
    for spec in specs:
        variants = [spec.default_variant]
        if all_variants:
            variants += [v.name for v in spec.variants if v.splits and v.name != spec.default_variant]
        for variant in variants:
            rows += [split_status(spec, variant, split, data_dir, lock) for split in SPLITS]
    return rows
