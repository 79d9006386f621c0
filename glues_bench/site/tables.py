"""Every table of the site as a download: a CSV and a JSON file next to its page (`index.leaderboard.csv`,
`tasks/xnli.selected.json`, …), with unrounded numbers. The JSON is `{"title", "columns": [name, …], "rows":
[[value, …], …]}`, the shape of the page twins' tables.

The index's tables are written from the JSON contract's rows (`leaderboard --json`), so a downloaded CSV
row holds exactly the numbers of the document: floats as `repr` (they read back to the same double),
booleans as `true`/`false`, missing values empty.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DataTable",
    "Download",
    "csv_text",
    "download_links",
    "leaderboard_table",
    "table_files",
]


@dataclass(frozen=True)
class DataTable:
    name: str  # part of the file name: <page stem>.<name>.csv
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Download:
    """Links (relative to the page) to one table's CSV and JSON files."""

    title: str
    csv: str
    json: str


def download_links(page_path: str, tables: Iterable[tuple[str, str]]) -> tuple[Download, ...]:
    """(name, title) pairs → links beside the page at `page_path` (e.g. `tasks/xnli.html`)."""
    stem = page_path.rsplit("/", 1)[-1].removesuffix(".html")
    return tuple(Download(title, f"{stem}.{name}.csv", f"{stem}.{name}.json") for name, title in tables)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v) for v in value)
    return str(value)


def csv_text(table: DataTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([_cell(v) for v in row] for row in table.rows)
    return buffer.getvalue()


def table_files(page_path: str, tables: Sequence[DataTable]) -> dict[str, str]:
    """{site-relative path: text} of every table's CSV and JSON, beside the page."""
    base = page_path.removesuffix(".html")
    files = {}
    for table in tables:
        files[f"{base}.{table.name}.csv"] = csv_text(table)
        # The shape of the page twins' tables: the column names once, then one list of values per row.
        rows = [list(row) for row in table.rows]
        document = {"title": table.title, "columns": list(table.columns), "rows": rows}
        # One line, as the page twins: `indent` switches json to its pure-Python encoder and doubles the size.
        files[f"{base}.{table.name}.json"] = (
            json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        )
    return files


ROW_COLUMNS = (
    "rank", "rank_range", "name", "display_name", "origin", "protocol", "limited_reasons", "family", "params",
    "size_ratio", "performance_ratio", "average", "average_ci95", "average_tied_with_best", "n_tasks",
)  # fmt: skip
CELL_COLUMNS = ("score", "sd", "n_seeds", "ci95", "tied_with_best", "at_chance", "protocol")


def leaderboard_table(
    name: str, title: str, rows: Sequence[Mapping[str, Any]], task_names: Sequence[str]
) -> DataTable:
    """A table of the JSON contract's rows: the row fields, then per task its cell's fields (`xnli.score`,
    `xnli.ci95`, …); lists (CIs, rank ranges, reasons) are `; `-joined in the CSV."""
    columns = ROW_COLUMNS + tuple(f"{t}.{c}" for t in task_names for c in CELL_COLUMNS)
    out = []
    for row in rows:
        values = [row.get(c) for c in ROW_COLUMNS]
        for task in task_names:
            cell = row["tasks"].get(task) or {}
            values += [cell.get(c) for c in CELL_COLUMNS]
        out.append(tuple(values))
    return DataTable(name, title, columns, tuple(out))
