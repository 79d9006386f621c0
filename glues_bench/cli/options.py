"""Options several commands share, written once: a type with its `typer.Option`, the default at each use.

`def run(db: DbUrl = None, submissions_dir: SubmissionsDir = DEFAULT_SUBMISSIONS_DIR)`: the same flag reads
and explains itself the same in every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_SUBMISSIONS_DIR = Path("submissions")

SubmissionsDir = Annotated[Path, typer.Option("--submissions-dir", help="Where manifests live.")]
DbUrl = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL (default: $GLUES_BENCH_DB, else your own sqlite:///results/glues_bench.db).",
    ),
]
Device = Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Local data laid out as the original releases (see README; glues_bench/demo_data works "
        "offline); hub when omitted.",
    ),
]
Threads = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="torch CPU threads (default: one per core; 1 is faster for tiny models or on a busy machine).",
    ),
]
