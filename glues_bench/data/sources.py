"""Reading a hub source by its declared kind, the declared quirk filters, and official-count checks.

`datasets` >= 4 refuses dataset scripts and huggingface_hub >= 1 refuses bare ids, so every hub source
in a spec is a namespaced repo of one of three kinds (`HubKind`): parquet on the repo's main branch,
the hub's parquet conversion branch read through the generic parquet builder, or raw release files
read with the project's own readers (SQAC's JSON; also the way around the SQuAD-es script, which
strips contexts without moving answer offsets).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glues_bench.data.formats import FORMAT_TASK_TYPE, READERS, Columns
from glues_bench.errors import RowCountDrift, SpecError
from glues_bench.tasks.spec import HubSource, Quirk, ResolvedTask

log = logging.getLogger(__name__)

HUB_ROOT = "hf://datasets"
"""Where hub repos are read from. The tests point it at a local folder laid out as `<owner>/<name>` (and
`<owner>/<name>@<revision>/` for parquet conversions), so every kind runs through the real code path."""

CONVERT_BRANCH = "refs/convert/parquet"


def parquet_convert_files(hub: HubSource, root: str | None = None) -> str:
    """The glob the generic parquet builder reads for a `parquet_convert` source."""
    root = root or HUB_ROOT
    # A branch name holds '/', which must be URL-encoded inside an hf:// path; a sha needs nothing.
    revision = hub.revision or CONVERT_BRANCH.replace("/", "%2F")
    return f"{root}/{hub.path}@{revision}/{hub.config}/{hub.split}/*.parquet"


def load_hub_dataset(hub: HubSource) -> Any:
    """A `datasets.Dataset` for a `parquet` or `parquet_convert` source (network errors propagate)."""
    import datasets

    if hub.kind == "parquet":
        location = hub.path if HUB_ROOT == "hf://datasets" else f"{HUB_ROOT}/{hub.path}"
        return datasets.load_dataset(location, hub.config, split=hub.split, revision=hub.revision)
    if hub.kind == "parquet_convert":
        files = parquet_convert_files(hub)
        return datasets.load_dataset("parquet", data_files={hub.split: files}, split=hub.split)
    raise SpecError(f"{hub.path}: kind {hub.kind} is not a datasets source")


def download_hub_file(hub: HubSource, filename: str) -> Path:
    """One file of a `raw_files` source, through the hub cache (`hf_hub_download`)."""
    if HUB_ROOT != "hf://datasets":
        local = Path(HUB_ROOT) / hub.path / filename
        if not local.is_file():
            raise FileNotFoundError(f"{local}: not found")
        return local
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(hub.path, filename, repo_type="dataset", revision=hub.revision))


def read_raw_files(hub: HubSource, task: ResolvedTask, limit: int | None) -> Columns:
    """The `raw_files` of a hub source read by the reader of their declared format."""
    assert hub.format is not None  # the spec validator guarantees it for raw_files
    if FORMAT_TASK_TYPE[hub.format] != task.task_type:
        raise SpecError(f"task {task.name}: hub format {hub.format} does not yield {task.task_type}")
    paths = [download_hub_file(hub, name) for name in hub.files]
    labels = frozenset(task.labels)
    parts = [READERS[hub.format](path, labels, limit) for path in paths]
    return {name: [value for part in parts for value in part[name]] for name in parts[0]}


# --- quirks ---------------------------------------------------------------------------------------------

PLACEHOLDER = "NS"


def _keep_nonempty_sentence(columns: Columns, i: int) -> bool:
    return bool(columns["tokens"][i])


def _keep_pawsx_pair(columns: Columns, i: int) -> bool:
    pair = (columns["text"][i], columns["text_pair"][i] or "")
    return all(side.strip() and side.strip() != PLACEHOLDER for side in pair)


_COLUMN_QUIRKS = {
    "drop-empty-sentences-v1": _keep_nonempty_sentence,
    "drop-pawsx-placeholders-v1": _keep_pawsx_pair,
}


def drop_unlabelled(dataset: Any, origin: str) -> tuple[Any, int]:
    """Hub rows whose ClassLabel is -1 removed (quirk `drop-unlabelled-v1`), and how many there were."""
    from datasets import ClassLabel

    if "label" not in dataset.column_names or not isinstance(dataset.features["label"], ClassLabel):
        return dataset, 0
    keep = [i for i, label in enumerate(dataset["label"]) if label >= 0]
    dropped = len(dataset) - len(keep)
    if dropped:
        log.info("%s: dropping %d unlabelled (-1) rows", origin, dropped)
        dataset = dataset.select(keep)
    return dataset, dropped


def apply_quirks(columns: Columns, quirks: tuple[Quirk, ...]) -> tuple[Columns, dict[str, int]]:
    """The rows the declared column quirks keep, and how many each dropped (0 counts are recorded too)."""
    dropped: dict[str, int] = {}
    for quirk in quirks:
        keep_row = _COLUMN_QUIRKS.get(quirk)
        if keep_row is None:  # drop-unlabelled-v1 acts on the hub dataset, before label names exist;
            dropped[quirk] = 0  # local readers refuse unknown labels, so nothing is left to drop here
            continue
        n_rows = len(next(iter(columns.values())))
        kept = [i for i in range(n_rows) if keep_row(columns, i)]
        dropped[quirk] = n_rows - len(kept)
        if len(kept) != n_rows:
            columns = {name: [values[i] for i in kept] for name, values in columns.items()}
    return columns, dropped


# --- official counts --------------------------------------------------------------------------------


class RowCountWarning(UserWarning):
    """A split's row count differs from its official count (a warning unless --strict)."""


@dataclass
class SplitReport:
    """What loading a split found beyond its rows: quirk drops and count checks, as short notes."""

    dropped: dict[str, int] = field(default_factory=dict)
    """Rows each declared quirk removed (0 included: the policy was applied)."""
    checked: dict[str, tuple[int, int]] = field(default_factory=dict)
    """(rows found, official rows) per checked file or hub source."""
    notes: list[str] = field(default_factory=list)

    def suffix(self) -> str:
        """` [..]` annotations appended to a split's source, so the run's provenance records them."""
        parts = [f"{quirk}: dropped {n}" for quirk, n in self.dropped.items() if n] + self.notes
        return "".join(f" [{p}]" for p in parts)


def check_rows(origin: str, found: int, official: int | None, strict: bool, report: SplitReport) -> None:
    """Warn (or raise under `strict`) when `found` rows differ from the `official` count."""
    if official is None:
        return
    report.checked[origin] = (found, official)
    if found == official:
        return
    message = f"{origin}: {found} rows, but the official count is {official} (the data has drifted)"
    if strict:
        raise RowCountDrift(message + "; rerun without --strict to accept it")
    warnings.warn(message, RowCountWarning, stacklevel=3)
    report.notes.append(f"rows {found} ≠ official {official}")
