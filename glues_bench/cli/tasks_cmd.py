"""`glues-bench tasks [NAME]`: list the registry or show one spec."""

from __future__ import annotations

import json

import typer

from glues_bench.cli.app import app


@app.command("tasks")
def tasks(
    name: str = typer.Argument(None, help="A task name or alias; omit to list all tasks."),
    as_json: bool = typer.Option(False, "--json", help="Print the spec(s) as JSON."),
) -> None:
    """List the GLUES tasks, or show one task's full spec (sources, labels, metrics, grids, variants)."""
    from rich.console import Console
    from rich.table import Table

    from glues_bench.tasks import all_tasks, get_task

    console = Console()
    if name is None:
        specs = list(all_tasks().values())
        if as_json:
            print(json.dumps([s.model_dump(mode="json") for s in specs], indent=2, ensure_ascii=False))
            return
        table = Table(title="GLUES tasks")
        for column in ("name", "type", "labels", "score", "variants", "aliases"):
            table.add_column(column)
        for s in specs:
            variants = ", ".join(v.name + ("*" if v.name == s.default_variant else "") for v in s.variants)
            table.add_row(
                s.name,
                s.task_type,
                str(len(s.labels)) if s.labels else "-",
                " + ".join(s.score_metrics),
                variants,
                ", ".join(s.aliases),
            )
        console.print(table)
        console.print("* default variant. `glues-bench tasks NAME` shows one task.")
        return
    spec = get_task(name)
    if as_json:
        print(json.dumps(spec.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{spec.name}[/bold] v{spec.version} — {spec.title}")
    console.print(spec.description)
    console.print(f"type: {spec.task_type}" + (" (pairs)" if spec.pair else ""))
    if spec.labels:
        console.print(f"labels ({len(spec.labels)}): {' '.join(spec.labels)}")
    console.print(f"metrics: {', '.join(spec.metrics)}; score = mean of {', '.join(spec.score_metrics)}")
    console.print(f"max_seq_length: {spec.max_seq_length}")
    for variant in spec.variants:
        mark = " (default)" if variant.name == spec.default_variant else ""
        console.print(f"variant [bold]{variant.name}[/bold]{mark}: {variant.description}")
        resolved = spec.resolve(variant.name)
        for split, source in resolved.splits.items():
            local = " | ".join(source.local.paths) if source.local else "-"
            hub = (
                f"{source.hub.path}/{source.hub.config or ''}:{source.hub.split} ({source.hub.kind})"
                if source.hub
                else "-"
            )
            console.print(f"  {split:5}  local: {local}   hub: {hub}")
    for grid_name, grid in spec.grids.items():
        console.print(
            f"grid {grid_name}: batch {list(grid.batch_sizes)} × lr {list(grid.learning_rates)}"
            f" × epochs {list(grid.epochs)} = {len(grid.configs())} configs"
        )
    research = " (research use only)" if spec.research_only else ""
    console.print(f"citation: {spec.citation}\nlicence: {spec.licence}{research}")
    for release in spec.downloads:
        console.print(f"download: {release.url} ({release.cited})")
