"""`build_site(snapshot, out_dir)`: typed pages → Jinja2 (autoescaped) → HTML, plus JSON twins and the plots.

The output is a pure function of the snapshot (and the out dir, which prediction links are relative
to): no clock, sorted keys, deterministic SVGs. One page per model holds its runs (a section per task), so
the file count grows with models, not runs.

Rebuilding replaces the files of the previous build, safely:
- the marker (`.glues-bench-site`) is written first, listing every file this build may leave (the
  previous build's and this one's), so a build killed mid-way leaves a folder the next build accepts
  and finishes;
- every file is written to a temporary name next to it and renamed over it (atomic), so no page is
  ever half-written; a file whose bytes would not change is not rewritten;
- stale files are deleted only inside the resolved site root and never through a symlink; nothing is
  written through one either.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from glues_bench import __version__
from glues_bench.board import REFERENCE_MODEL, fmt2, leaderboard_from_snapshot, leaderboard_text
from glues_bench.errors import SiteError
from glues_bench.site import pages
from glues_bench.site.plots import score_vs_params_svg, score_vs_throughput_svg
from glues_bench.site.tables import table_files
from glues_bench.store.records import Snapshot
from glues_bench.tasks import all_tasks

MARKER = ".glues-bench-site"
"""Lists the files the last build wrote; only a folder holding it (or an empty one) is rebuilt."""
PLOT_FILE = "score_vs_params.svg"
THROUGHPUT_PLOT_FILE = "score_vs_throughput.svg"
STATIC_FILES = ("style.css", "sort.js")
"""Shared by every page (one copy, not one per page)."""
TEMP_SUFFIX = ".glues-tmp"
"""A file being written; renamed over its target when complete. A killed build may leave one; the next
build removes it."""


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
    env.filters.update(pages.TEMPLATE_FILTERS)
    env.filters["hparams_text"] = pages.hparams_text
    env.filters["memory"] = pages.memory_text
    env.filters["model_href"] = pages.model_href
    env.filters["sortkey"] = lambda v: "" if v is None else repr(float(v))
    env.globals["nav_tasks"] = [{"name": n, "column": s.paper_column} for n, s in all_tasks().items()]
    return env


def build_site(
    snapshot: Snapshot, out_dir: Path, *, reference: str = REFERENCE_MODEL, include_limited: bool = False
) -> list[Path]:
    """Write the whole site into `out_dir`; returns the written paths (sorted). `include_limited` ranks
    limited results with the full ones (as `leaderboard --include-limited`)."""
    out_dir = Path(out_dir)
    previous = _previous_build(out_dir)
    board = leaderboard_from_snapshot(snapshot, reference, include_limited=include_limited)
    context = pages.site_context(board, snapshot)
    files: dict[str, str] = {}
    env = environment()
    harness = {"version": __version__, "reference": board.reference}

    def page(path: str, template: str, content: Any, twin: str | None = None) -> None:
        """The page's HTML and its JSON twin, both from `content` (the index's twin is its document)."""
        root = "../" * path.count("/")
        twin_path = path.removesuffix(".html") + ".json"
        files[path] = env.get_template(template).render(
            **pages.page_fields(content), root=root, json_twin=twin_path.rsplit("/", 1)[-1], harness=harness
        )
        files[twin_path] = pages.page_json_text(content) + "\n" if twin is None else twin
        files.update(table_files(path, pages.page_tables(content)))  # CSV + JSON of each table

    index = pages.index_page(board, snapshot, PLOT_FILE, THROUGHPUT_PLOT_FILE)
    if index.plot is not None:
        files[PLOT_FILE] = score_vs_params_svg(index.plot_points, board.reference_average)
    if index.throughput_plot is not None and board.efficiency_device is not None:
        files[THROUGHPUT_PLOT_FILE] = score_vs_throughput_svg(
            index.throughput_points, board.efficiency_device, board.reference_average
        )
    # index.json is the leaderboard document itself: byte-identical to `glues-bench leaderboard --json`
    page("index.html", "index.html.j2", index, twin=leaderboard_text(index.document))
    for task in all_tasks():
        page(f"tasks/{task}.html", "task.html.j2", pages.task_page(task, board, context))
    for submission in snapshot.submissions:
        slug = pages.model_slug(submission.name)
        page(f"models/{slug}.html", "model.html.j2", pages.model_page(submission, board, snapshot, context))
    runs_dir = (out_dir / "runs").resolve()
    by_model: dict[str, dict[str, Any]] = {}
    for (model, task), runs in context.cells.items():
        by_model.setdefault(model, {})[task] = runs
    for model, cells in sorted(by_model.items()):
        page(pages.runs_page_path(model), "runs.html.j2", pages.runs_page(model, cells, context, runs_dir))
    static = resources.files("glues_bench.site") / "static"
    for name in STATIC_FILES:
        files[f"static/{name}"] = (static / name).read_text(encoding="utf-8")
    return _write(out_dir, files, previous)


def _previous_build(out_dir: Path) -> list[str]:
    if not out_dir.exists():
        return []
    if not out_dir.is_dir():
        raise SiteError(f"site output {out_dir} exists and is not a folder")
    marker = out_dir / MARKER
    if marker.is_file():
        return [line for line in marker.read_text(encoding="utf-8").splitlines() if line]
    # Empty, or holding only a marker that a killed first build was writing: ours to build into.
    if any(p.name != MARKER + TEMP_SUFFIX for p in out_dir.iterdir()):
        raise SiteError(f"site output {out_dir} is not empty and was not built by glues-bench; choose --out")
    return []


def _inside(root: Path, relative: str) -> Path | None:
    """`root / relative` when it is a plain path inside the resolved `root` that passes through no symlink
    (the last component may itself be a symlink: replacing or unlinking one never touches its target);
    None otherwise."""
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or any(p in ("..", ".", "") for p in parts):
        return None
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            return None
    path = folder / parts[-1]
    try:
        path.parent.resolve().relative_to(root)
    except ValueError:
        return None
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + TEMP_SUFFIX)
    temp.unlink(missing_ok=True)  # a leftover (or a planted symlink: "x" mode never follows one)
    with open(temp, "xb") as handle:
        handle.write(data)
    os.replace(temp, path)


def _write(out_dir: Path, files: dict[str, str], previous: list[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    root = out_dir.resolve()
    targets: dict[str, Path] = {}
    for relative in sorted(files):
        path = _inside(root, relative)
        if path is None:
            raise SiteError(
                f"site output {out_dir}: {relative} would be written through a symlink; remove it"
            )
        targets[relative] = path
    # Marker first, naming everything that may be in the folder until this build completes.
    _atomic_write(root / MARKER, "".join(f"{name}\n" for name in sorted(set(previous) | set(files))).encode())
    for folder in sorted({p.parent for p in targets.values()}):
        if folder.is_dir():
            for leftover in folder.glob("*" + TEMP_SUFFIX):  # from a killed build
                if leftover.is_symlink() or leftover.is_file():
                    leftover.unlink()
    written = []
    for relative, path in targets.items():
        data = files[relative].encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        unchanged = not path.is_symlink() and path.is_file() and path.stat().st_size == len(data)
        if not (unchanged and path.read_bytes() == data):
            _atomic_write(path, data)
        written.append(path)
    for stale in sorted(set(previous) - set(files)):
        path = _inside(root, stale)
        if path is not None and (path.is_symlink() or path.is_file()):
            path.unlink()  # a symlink itself, never its target
    _atomic_write(root / MARKER, "".join(f"{name}\n" for name in sorted(files)).encode())
    return written
