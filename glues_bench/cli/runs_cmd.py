"""`glues-bench runs list | release | verify`: look after the runs in the store.

`list` shows running runs with their claim (owner, last heartbeat, lease); `release` marks stuck ones
failed so the next `run` redoes them; `verify` re-hashes every stored predictions file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from glues_bench.cli.app import app
from glues_bench.cli.store_cmd import DB_HELP  # one wording of --db for every command

runs_app = typer.Typer(
    help="List running runs and their leases, release stuck ones, verify stored prediction files.",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def list_runs(db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None) -> None:
    """Show every running run: id, model, task, config, owner, last heartbeat and whether its lease holds.

    A run whose lease has expired was left by a process that stopped; the next `run` of the same key
    redoes it, and `runs release --expired` marks all of them failed at once.
    """
    from glues_bench.store import open_store
    from glues_bench.store.store import lease_is_live

    with open_store(db, create=False) as store:
        running = store.running_runs()
    if not running:
        print("no running runs")
        return
    for run in running:
        state = "live" if lease_is_live(run) else "EXPIRED"
        heartbeat = run.heartbeat_at.isoformat(timespec="seconds") if run.heartbeat_at else "never"
        print(
            f"{run.id}\t{run.submission}\t{run.task}[{run.variant}]\tseed {run.seed}\t"
            f"{run.owner or f'pid {run.pid} on {run.host}'}\theartbeat {heartbeat}\tlease {state}"
        )


@runs_app.command("release")
def release(
    run_ids: Annotated[list[int] | None, typer.Argument(help="Run ids to release (see `runs list`).")] = None,
    expired: Annotated[
        bool, typer.Option("--expired", help="Release every running run whose lease has expired.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also release runs whose lease still holds. Only when you know their process is gone: a "
            "live process would lose its result.",
        ),
    ] = False,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
) -> None:
    """Mark stuck running runs failed, so the next `run` redoes them. Give run ids, or --expired."""
    from glues_bench.errors import GluesError
    from glues_bench.store import open_store

    if not run_ids and not expired:
        raise GluesError("runs release: give run ids or --expired")
    if run_ids and expired:
        raise GluesError("runs release: give run ids or --expired, not both")
    with open_store(db, create=False) as store:
        wanted = None if expired else list(run_ids or [])
        if wanted is not None:
            running = {r.id for r in store.running_runs()}
            missing = [i for i in wanted if i not in running]
            if missing:
                raise GluesError(f"runs release: not running: {', '.join(map(str, missing))}")
        released = store.release_runs(
            wanted, include_live=force, reason="released by `glues-bench runs release`"
        )
    kept = [] if wanted is None else [i for i in wanted if i not in released]
    print(f"released {len(released)} run(s){': ' + ', '.join(map(str, released)) if released else ''}")
    if kept:
        raise GluesError(
            f"runs {', '.join(map(str, kept))} still hold a live lease; pass --force if their process is gone"
        )


@runs_app.command("verify")
def verify(
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
    root: Annotated[
        Path, typer.Option("--root", help="Folder that relative prediction paths are relative to.")
    ] = Path("."),
) -> None:
    """Re-hash every stored predictions file of every done run; exit 1 if any is missing or changed."""
    from glues_bench.store import open_store
    from glues_bench.store.store import file_sha256

    with open_store(db, create=False) as store:
        snapshot = store.snapshot()
    checked, bad = 0, []
    for run in snapshot.runs:
        if run.status != "done":
            continue
        for artefact in run.predictions:
            checked += 1
            path = Path(artefact.path)
            path = path if path.is_absolute() else root / path
            if not path.is_file():
                bad.append(f"run {run.id} {artefact.split}: {path} is missing")
            elif file_sha256(path) != artefact.sha256:
                bad.append(f"run {run.id} {artefact.split}: {path} does not match its stored sha256")
    for line in bad:
        print(line, file=sys.stderr)
    print(f"checked {checked} predictions file(s): {checked - len(bad)} ok, {len(bad)} bad")
    if bad:
        raise SystemExit(1)  # a script can trust it: 1 = some file is missing or changed
