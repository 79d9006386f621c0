"""`build_site(snapshot, out_dir)`: typed pages → Jinja2 (autoescaped) → HTML, plus JSON twins and the plot.

The output is a pure function of the snapshot (and the out dir, which prediction links are relative
to): no clock, sorted keys, a deterministic SVG. Rebuilding replaces the files of the previous build.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from glues_bench import __version__
from glues_bench.board import REFERENCE_MODEL, fmt2, leaderboard_from_snapshot
from glues_bench.errors import SiteError
from glues_bench.site import pages
from glues_bench.site.plots import score_vs_params_svg
from glues_bench.store.records import Snapshot
from glues_bench.tasks import all_tasks

MARKER = ".glues-bench-site"
"""Lists the files the last build wrote; only a folder holding it (or an empty one) is rebuilt."""
PLOT_FILE = "score_vs_params.svg"
STATIC_FILES = ("style.css",)


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("glues_bench.site", "templates"),
        autoescape=True,  # every template is HTML; model names and manifests are untrusted text
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt2"] = fmt2
    env.filters["sortkey"] = lambda v: "" if v is None else repr(float(v))
    env.globals["nav_tasks"] = [{"name": n, "column": s.paper_column} for n, s in all_tasks().items()]
    return env


def build_site(snapshot: Snapshot, out_dir: Path, *, reference: str = REFERENCE_MODEL) -> list[Path]:
    """Write the whole site into `out_dir`; returns the written paths (sorted)."""
    out_dir = Path(out_dir)
    previous = _previous_build(out_dir)
    board = leaderboard_from_snapshot(snapshot, reference)
    files: dict[str, str] = {}
    env = environment()
    harness = {"version": __version__, "reference": board.reference}

    def page(path: str, template: str, content: Any, twin: Any = None) -> None:
        """The page's HTML and its JSON twin, both from `content` (the twin may be a part of it)."""
        root = "../" * path.count("/")
        twin_path = path.removesuffix(".html") + ".json"
        files[path] = env.get_template(template).render(
            **pages.page_fields(content), root=root, json_twin=twin_path.rsplit("/", 1)[-1], harness=harness
        )
        files[twin_path] = _json(pages.page_json(content) if twin is None else twin)

    index = pages.index_page(board, snapshot, PLOT_FILE)
    if index.plot is not None:
        files[PLOT_FILE] = score_vs_params_svg(index.plot_points, board.reference_average)
    # index.json is the leaderboard document itself: byte-identical to `glues-bench leaderboard --json`
    page("index.html", "index.html.j2", index, twin=index.document)
    for task in all_tasks():
        page(f"tasks/{task}.html", "task.html.j2", pages.task_page(task, board, snapshot))
    for submission in snapshot.submissions:
        slug = pages.model_slug(submission.name)
        page(f"models/{slug}.html", "model.html.j2", pages.model_page(submission, board, snapshot))
    runs_dir = (out_dir / "runs").resolve()
    for run in snapshot.runs:
        page(f"runs/{run.id}.html", "run.html.j2", pages.run_page(run, runs_dir))
    static = resources.files("glues_bench.site") / "static"
    for name in STATIC_FILES:
        files[f"static/{name}"] = (static / name).read_text(encoding="utf-8")
    return _write(out_dir, files, previous)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _previous_build(out_dir: Path) -> list[str]:
    if not out_dir.exists():
        return []
    if not out_dir.is_dir():
        raise SiteError(f"site output {out_dir} exists and is not a folder")
    marker = out_dir / MARKER
    if marker.is_file():
        return [line for line in marker.read_text(encoding="utf-8").splitlines() if line]
    if any(out_dir.iterdir()):
        raise SiteError(f"site output {out_dir} is not empty and was not built by glues-bench; choose --out")
    return []


def _write(out_dir: Path, files: dict[str, str], previous: list[str]) -> list[Path]:
    for stale in sorted(set(previous) - set(files)):
        path = out_dir / stale
        # Only plain relative paths the last build recorded: never follow `..` out of the site.
        if ".." not in Path(stale).parts and not Path(stale).is_absolute() and path.is_file():
            path.unlink()
    written = []
    for relative, text in sorted(files.items()):
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    (out_dir / MARKER).write_text("".join(f"{name}\n" for name in sorted(files)), encoding="utf-8")
    return written
