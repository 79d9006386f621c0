"""The frozen, validated shape of a GLUES task spec.

A spec is data: it declares where a task's data lives, its label set, how it is scored and which
hyper-parameters are searched. Loaders, metrics, model heads and the runner all read it; none of them
branch on a task's name. Specs live as YAML files next to this module and are validated on load.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")

TaskType = Literal["token_classification", "sequence_classification", "extractive_qa"]
"""The three fine-tuning heads: one label per word, one label per text (or pair), a span in a context."""

LocalFormat = Literal["conll2002", "conllu", "pawsx_tsv", "xnli_tsv", "mldoc_tsv", "squad_json"]
"""Original on-disk formats; each has one reader in `glues_bench.data.formats`."""

MetricName = Literal["accuracy", "f1", "precision", "recall", "exact_match"]

QAScoring = Literal["es", "squad-en"]
"""`es`: the official MLQA script's Spanish normalisation. `squad-en`: HF `squad` (English), as ALBETO."""

TaggingScheme = Literal["iob2", "plain"]
"""`iob2`: entity-level scoring (seqeval / conlleval). `plain`: one tag per word, scored per word (POS)."""

METRICS_BY_TYPE: dict[TaskType, frozenset[str]] = {
    "token_classification": frozenset({"accuracy", "f1", "precision", "recall"}),
    "sequence_classification": frozenset({"accuracy"}),
    "extractive_qa": frozenset({"f1", "exact_match"}),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


HubKind = Literal["parquet", "parquet_convert", "raw_files"]
"""How a hub copy is read on `datasets` >= 4 (no dataset scripts):

- `parquet`: the repo's own parquet files on its default branch, `datasets.load_dataset(path, config)`;
- `parquet_convert`: the hub's bot-made parquet conversion branch (`refs/convert/parquet`), read with the
  generic parquet builder from `hf://datasets/<path>@<revision>/<config>/<split>/*.parquet`;
- `raw_files`: data files the repo holds as released (`files`), downloaded with `hf_hub_download` and read
  by the project's reader for `format`.
"""

Quirk = Literal["drop-empty-sentences-v1", "drop-unlabelled-v1", "drop-pawsx-placeholders-v1"]
"""Declared, versioned row filters applied to a split whatever its source; the rows each one drops are
counted and recorded with the split (`LoadedSplit.source`). A new behaviour gets a new version suffix.

- `drop-empty-sentences-v1`: token rows with no tokens (CoNLL-2002's hub splits end with one);
- `drop-unlabelled-v1`: sequence rows whose label is missing (`-1` on the hub, HF's "no label" marker);
- `drop-pawsx-placeholders-v1`: sentence pairs where a side is the `NS` placeholder or blank (PAWS-X's
  failed human translations: 38 in es dev_2k, 1 in test_2k, which gives the 1,962 / 1,999 GLUES reports).
"""


class HubSource(_Frozen):
    """A split on the Hugging Face hub; `kind` says how it is read (see `HubKind`)."""

    kind: HubKind
    path: str = Field(
        pattern=r"^[A-Za-z0-9][\w.-]*/[\w.-]+$",
        description="A namespaced repo id (`owner/name`); bare ids do not resolve on huggingface_hub >= 1.",
    )
    config: str | None = None
    split: str
    revision: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{40}$",
        description="A commit sha. None means unpinned: loading warns, and the run records the resolved sha.",
    )
    files: tuple[str, ...] = Field(default=(), description="raw_files: the repo files of this split.")
    format: LocalFormat | None = Field(default=None, description="raw_files: the reader for `files`.")
    rows: int | None = Field(
        default=None, gt=0, description="Official row count after quirks; a different count is drift."
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> HubSource:
        if self.kind == "raw_files":
            if not self.files or self.format is None:
                raise ValueError("raw_files: needs `files` and `format`")
        elif self.files or self.format is not None:
            raise ValueError(f"{self.kind}: `files` and `format` belong to raw_files only")
        if self.kind == "parquet_convert" and not self.config:
            raise ValueError("parquet_convert: needs `config` (the conversion's directory)")
        return self


class LocalSource(_Frozen):
    """A split as the original release ships it, relative to `--data-dir`."""

    format: LocalFormat
    paths: tuple[str, ...] = Field(
        min_length=1, description="Candidate files; the first that exists is read."
    )
    extra_paths: tuple[str, ...] = Field(
        default=(), description="Appended when present (e.g. a 2nd treebank)."
    )
    rows: dict[str, int] = Field(
        default_factory=dict,
        description="Official row count of a file (key: one of paths/extra_paths), after quirks.",
    )

    @model_validator(mode="after")
    def _rows_name_files(self) -> LocalSource:
        unknown = set(self.rows) - set(self.paths) - set(self.extra_paths)
        if unknown:
            raise ValueError(f"rows: {sorted(unknown)} not among paths/extra_paths")
        return self


class SplitSource(_Frozen):
    local: LocalSource | None = None
    hub: HubSource | None = None
    quirks: tuple[Quirk, ...] = ()
    note: str = ""

    @model_validator(mode="after")
    def _has_a_source(self) -> SplitSource:
        if self.local is None and self.hub is None:
            raise ValueError("a split needs a local or a hub source")
        return self


Sha256 = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class ReleaseMember(_Frozen):
    """One file `glues-bench data fetch` places under `--data-dir`."""

    path: str = Field(description="Where it goes, relative to --data-dir (the layout the loaders read).")
    member: str | None = Field(default=None, description="Its name inside the archive; None: not an archive.")
    sha256: str | None = Sha256


class ReleaseFile(_Frozen):
    """A file of a task's original public release: where its authors publish it and what it unpacks to."""

    url: str = Field(pattern=r"^https?://")
    cited: str = Field(min_length=1, description="Where the URL is documented (README, paper, script).")
    archive: Literal["zip", "tar.gz", "tgz"] | None = None
    sha256: str | None = Sha256
    mirror_name: str | None = Field(
        default=None, description="Its name in a mirror's `<task>/` folder; default: the URL's last part."
    )
    files: tuple[ReleaseMember, ...] = Field(min_length=1)

    @property
    def name(self) -> str:
        return self.mirror_name or self.url.rstrip("/").rsplit("/", 1)[-1]

    @model_validator(mode="after")
    def _members(self) -> ReleaseFile:
        if self.archive is None and (len(self.files) != 1 or self.files[0].member is not None):
            raise ValueError("a plain (non-archive) download places exactly one file, without `member`")
        if self.archive is not None and any(f.member is None for f in self.files):
            raise ValueError("every file of an archive needs its `member` name")
        return self


class HParams(_Frozen):
    """One fine-tuning configuration (one cell of a grid)."""

    batch_size: int = Field(gt=0)
    learning_rate: float = Field(gt=0)
    epochs: int = Field(gt=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)

    def key(self) -> str:
        """Stable short id, e.g. `bs32-lr2e-05-ep3`."""
        return f"bs{self.batch_size}-lr{self.learning_rate:g}-ep{self.epochs}"


class Grid(_Frozen):
    """A full-factorial search space."""

    # Each value is checked here, as HParams would check it: a bad grid file fails when read, naming the
    # field (`learning_rates.1`), not later inside the runner.
    batch_sizes: tuple[PositiveInt, ...] = Field(min_length=1)
    learning_rates: tuple[PositiveFloat, ...] = Field(min_length=1)
    epochs: tuple[PositiveInt, ...] = Field(min_length=1)

    def configs(self) -> list[HParams]:
        return [
            HParams(batch_size=b, learning_rate=lr, epochs=e)
            for b, lr, e in itertools.product(self.batch_sizes, self.learning_rates, self.epochs)
        ]


# The paper's search (section 4.2): the same grid for every task; large ALBETOs use smaller learning rates.
PAPER_GRID = Grid(batch_sizes=(16, 32, 64), learning_rates=(1e-5, 2e-5, 3e-5, 5e-5), epochs=(2, 3, 4))
PAPER_LARGE_GRID = Grid(batch_sizes=(16, 32, 64), learning_rates=(1e-6, 2e-6, 3e-6, 5e-6), epochs=(2, 3, 4))
QUICK_GRID = Grid(batch_sizes=(16,), learning_rates=(5e-5,), epochs=(1,))
DEFAULT_GRIDS = {"paper": PAPER_GRID, "paper-large": PAPER_LARGE_GRID, "quick": QUICK_GRID}


class Variant(_Frozen):
    """A named alternative where sources disagree. Recorded with every result."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=1)
    splits: dict[Split, SplitSource] | None = None
    labels: tuple[str, ...] | None = None
    qa_scoring: QAScoring | None = None


class TaskSpec(_Frozen):
    """One GLUES task, declared once."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    task_type: TaskType
    pair: bool = Field(default=False, description="Sequence classification over (text, text_pair).")
    tagging_scheme: TaggingScheme | None = None
    labels: tuple[str, ...] = ()
    metrics: tuple[MetricName, ...] = Field(min_length=1)
    score_metrics: tuple[MetricName, ...] = Field(
        min_length=1, description="The task's single score is the mean of these (QA: F1 and EM, Table 6)."
    )
    splits: dict[Split, SplitSource]
    max_seq_length: int = Field(default=512, gt=0)
    doc_stride: int = Field(default=128, gt=0)
    max_answer_length: int = Field(default=30, gt=0)
    n_best_size: int = Field(default=20, gt=0)
    grids: dict[str, Grid] = Field(default_factory=lambda: dict(DEFAULT_GRIDS))
    variants: tuple[Variant, ...] = Field(min_length=1)
    default_variant: str
    paper_column: str = Field(description="The column header in the paper's tables.")
    citation: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    research_only: bool = Field(default=False, description="The licence allows research use only.")
    downloads: tuple[ReleaseFile, ...] = Field(
        default=(), description="The original public release, for `glues-bench data fetch`."
    )

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        is_qa = self.task_type == "extractive_qa"
        if is_qa and self.labels:
            raise ValueError("labels: extractive QA has no label set")
        if not is_qa and len(self.labels) < 2:
            raise ValueError("labels: needs at least two labels")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels: duplicate label")
        if self.tagging_scheme == "iob2":
            _check_iob2(self.labels)
        if (self.task_type == "token_classification") != (self.tagging_scheme is not None):
            raise ValueError("tagging_scheme: required for token classification, and only there")
        allowed = METRICS_BY_TYPE[self.task_type]
        for metric in self.metrics:
            if metric not in allowed:
                raise ValueError(f"metrics: {metric!r} does not apply to {self.task_type}")
        if not set(self.score_metrics) <= set(self.metrics):
            raise ValueError("score_metrics: must be a subset of metrics")
        if set(self.splits) != set(SPLITS):
            raise ValueError(f"splits: needs exactly {', '.join(SPLITS)}")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variants: duplicate variant name")
        if self.default_variant not in names:
            raise ValueError(f"default_variant: {self.default_variant!r} is not among variants {names}")
        for variant in self.variants:
            if variant.qa_scoring is not None and not is_qa:
                raise ValueError(f"variants: {variant.name!r} sets qa_scoring on a non-QA task")
            if variant.labels is not None and self.tagging_scheme == "iob2":
                _check_iob2(variant.labels)
        if "quick" not in self.grids or "paper" not in self.grids:
            raise ValueError("grids: needs at least 'paper' and 'quick'")
        return self

    def resolve(self, variant: str | None = None) -> ResolvedTask:
        """Apply a variant's overrides; `None` means the default variant."""
        from glues_bench.errors import UnknownName

        name = variant or self.default_variant
        chosen = next((v for v in self.variants if v.name == name), None)
        if chosen is None:
            raise UnknownName(f"variant of task {self.name!r}", name, [v.name for v in self.variants])
        splits = {**self.splits, **(chosen.splits or {})}
        return ResolvedTask(
            spec=self,
            variant=chosen.name,
            labels=chosen.labels if chosen.labels is not None else self.labels,
            splits=splits,
            qa_scoring=chosen.qa_scoring or ("es" if self.task_type == "extractive_qa" else None),
        )


def _check_iob2(labels: tuple[str, ...]) -> None:
    if "O" not in labels:
        raise ValueError("labels: an IOB2 label set needs 'O'")
    for label in labels:
        if label != "O" and not (label[:2] in ("B-", "I-") and len(label) > 2):
            raise ValueError(f"labels: {label!r} is not an IOB2 tag")


@dataclass(frozen=True)
class ResolvedTask:
    """A spec with one variant applied: what loaders, metrics and the runner consume."""

    spec: TaskSpec
    variant: str
    labels: tuple[str, ...]
    splits: dict[str, SplitSource]
    qa_scoring: QAScoring | None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def task_type(self) -> TaskType:
        return self.spec.task_type

    @cached_property
    def spec_hash(self) -> str:
        """sha256 over the spec and the chosen variant: any change that could move a number changes it.

        Left out: how to obtain the data and how much of it to expect (`downloads`, `research_only`,
        official `rows`), which cannot change a loaded row; the data fingerprint covers the rows.
        """
        spec = self.spec.model_dump(mode="json", exclude={"downloads", "research_only"})
        for split in spec["splits"].values():
            _drop_row_counts(split)
        for variant in spec["variants"]:
            for split in (variant.get("splits") or {}).values():
                _drop_row_counts(split)
        payload = json.dumps({"spec": spec, "variant": self.variant}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


def _drop_row_counts(split: dict) -> None:
    for side in ("local", "hub"):
        if split.get(side) is not None:
            split[side].pop("rows", None)
