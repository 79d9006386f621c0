"""`glues-bench data fetch|mirror|status|prepare`: get the GLUES data, check it, mirror it offline."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from glues_bench.cli.app import app
from glues_bench.errors import GluesError

data_app = typer.Typer(
    help=(
        "Get the original public GLUES releases into a data dir, check what a data dir holds, and build "
        "mirrors for machines without internet. The data dir layout is the one `glues-bench run --data-dir` "
        "reads."
    ),
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")

MIRROR_OPTION_HELP = (
    "Fetch from a mirror instead of the original URLs: an http(s) base URL or a folder, both laid out as "
    "`<task>/<file name>` (what `glues-bench data mirror` writes). Checksums are verified the same way."
)


def _specs(tasks: list[str] | None):
    from glues_bench.tasks import all_tasks, get_task

    return [get_task(t) for t in tasks] if tasks else list(all_tasks().values())


@data_app.command("fetch")
def fetch(
    tasks: list[str] = typer.Argument(None, help="Task names or aliases; omit for every task."),
    data_dir: Path = typer.Option(..., "--data-dir", help="Where the files go (created if missing)."),
    mirror: str = typer.Option(None, "--mirror", help=MIRROR_OPTION_HELP),
) -> None:
    """Download each task's original public release, verify every file's sha256 and unpack it into the
    --data-dir layout.

    Each task's licence is printed before its download. Files pinned in the task spec are verified against
    their pin; files without a pin are recorded in glues-bench.lock.json in the data dir on first download and
    verified against it afterwards. Interrupted downloads resume on the next run, files already present and
    verified are not downloaded again, and a file only appears under its final name once it is complete and
    verified. Exits 1 when any file could not be fetched (each failure is one line naming the URL). MLDoc
    cannot be downloaded (Reuters RCV2 licence): see `glues-bench data prepare --help`.
    """
    from glues_bench.data.fetch import fetch_tasks

    if mirror is not None and not mirror.startswith(("http://", "https://")) and not Path(mirror).is_dir():
        raise GluesError(f"--mirror {mirror}: neither an http(s) URL nor a directory")
    if data_dir.exists() and not data_dir.is_dir():
        raise GluesError(f"--data-dir {data_dir}: not a directory")
    report = fetch_tasks(
        _specs(tasks), data_dir, mirror, echo=typer.echo, echo_error=lambda line: typer.echo(line, err=True)
    )
    typer.echo(
        f"downloaded {len(report.downloaded)} file(s), placed {len(report.placed)}, "
        f"already present {len(report.present)}, failed {len(report.failed)}"
    )
    if report.failed:
        raise SystemExit(1)  # not typer.Exit: click swallows its code outside standalone mode


@data_app.command("mirror")
def mirror(
    mirror_dir: Path = typer.Argument(..., help="The mirror folder to write (`<task>/<file name>`)."),
    data_dir: Path = typer.Option(..., "--data-dir", help="A data dir filled by `data fetch`."),
    tasks: list[str] = typer.Option(None, "--task", help="Only these tasks (repeatable); default all."),
) -> None:
    """Write a mirror tree from a data dir, for `glues-bench data fetch --mirror` on machines without
    internet.

    The layout is `<task>/<file name>`, one entry per download the task spec lists; archives are re-packed
    from the files present (their members are what gets verified, so re-packed archives pass). Serve the
    folder over HTTP (e.g. `python -m http.server`) or copy it to a shared file system.
    """
    from glues_bench.data.fetch import write_mirror

    if not data_dir.is_dir():
        raise GluesError(f"--data-dir {data_dir}: not a directory")
    written = write_mirror(_specs(tasks), data_dir, mirror_dir)
    for name in written:
        typer.echo(f"wrote {mirror_dir / name}")
    typer.echo(f"{len(written)} file(s) in {mirror_dir}")


@data_app.command("status")
def status(
    tasks: list[str] = typer.Argument(None, help="Task names or aliases; omit for every task."),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The data dir to inspect."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per split, as a list."),
    all_variants: bool = typer.Option(False, "--all-variants", help="Also variants with their own splits."),
) -> None:
    """Show, per task and split, whether its file is in the data dir, the file used, its rows (and the
    official count), content fingerprint, whether the file is pinned and verified, the licence, and the
    command that would fetch what is missing.
    """
    from glues_bench.data.status import data_status

    if not data_dir.is_dir():
        raise GluesError(
            f"--data-dir {data_dir}: not a directory (`glues-bench data fetch --data-dir` fills one)"
        )
    rows = data_status(_specs(tasks), data_dir, all_variants)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"GLUES data in {data_dir}")
    for column in ("task", "split", "found", "rows / official", "file", "verified", "fingerprint"):
        table.add_column(column)
    for r in rows:
        rows_text = (
            "-" if r.rows is None else f"{r.rows}" + (f" / {r.official_rows}" if r.official_rows else "")
        )
        verified = {True: "yes", False: "MISMATCH", None: "no pin"}[r.verified] if r.found else "-"
        file_text = ", ".join(r.files) if r.found else ""
        name = r.task if r.variant == _default_variant(r.task) else f"{r.task} ({r.variant})"
        found = "yes" if r.found and not r.error else ("ERROR" if r.error else "missing")
        table.add_row(name, r.split, found, rows_text, file_text, verified, (r.fingerprint or "")[:12])
    Console().print(table)
    for r in rows:
        if r.error:
            typer.echo(f"{r.task} {r.split}: {r.error}")
    fetchable = sorted(
        {r.task for r in rows if not r.found and r.fetch and r.fetch.startswith("glues-bench")}
    )
    if fetchable:
        typer.echo(
            f"to fetch what is missing: glues-bench data fetch {' '.join(fetchable)} --data-dir {data_dir}"
        )
    for r in rows:
        if not r.found and r.fetch and not r.fetch.startswith("glues-bench"):
            typer.echo(f"{r.task} {r.split}: {r.fetch}")
    licences = {r.task: (r.licence, r.research_only) for r in rows}
    for task, (licence, research) in licences.items():
        typer.echo(f"{task}: {licence}" + (" — research use only" if research else ""))


def _default_variant(task: str) -> str:
    from glues_bench.tasks import get_task

    return get_task(task).default_variant


@data_app.command("prepare")
def prepare(
    task: str = typer.Argument(..., help="The task to build locally: mldoc."),
    rcv2: Path = typer.Option(
        None,
        "--rcv2",
        help="Your licensed Reuters RCV2 copy: its root (holding spanish/) or spanish/ itself.",
    ),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The data dir; mldoc/ is written in it."),
    indices: Path = typer.Option(
        None,
        "--indices",
        help="Folder with the MLDoc id lists spanish.train.10000/dev/test (default: DATA_DIR/mldoc/indices, "
        "where `glues-bench data fetch mldoc` puts them).",
    ),
) -> None:
    """Build a task that cannot be downloaded. Only MLDoc needs it: it is generated from Reuters RCV2, which
    its licence does not let anyone redistribute.

    Run `glues-bench data fetch mldoc --data-dir DIR` first (it downloads the MLDoc release's public
    document-id lists), then `glues-bench data prepare mldoc --rcv2 PATH --data-dir DIR`. This writes
    mldoc/spanish.train.10000, spanish.dev and spanish.test as `label<TAB>text` lines, following the MLDoc
    release's procedure. RCV2 itself is licensed by NIST (trec.nist.gov/data/reuters).
    """
    from glues_bench.tasks import get_task

    spec = get_task(task)
    if spec.name != "mldoc":
        raise GluesError(f"{spec.name} needs no preparation: run `glues-bench data fetch {spec.name}`")
    if rcv2 is None:
        raise GluesError(
            "mldoc: --rcv2 PATH is required: MLDoc is built from your own licensed Reuters RCV2 copy "
            "(trec.nist.gov/data/reuters), which nobody may redistribute"
        )
    from glues_bench.data.mldoc import prepare_mldoc

    written = prepare_mldoc(rcv2, indices or data_dir / "mldoc" / "indices", data_dir / "mldoc")
    for name, n_docs in written.items():
        typer.echo(f"wrote {data_dir / 'mldoc' / name}: {n_docs} documents")
