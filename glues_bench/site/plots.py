"""The score-vs-parameters plot: matplotlib (Agg/SVG), fixed style and sizes, deterministic bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

PLOT_RC = {
    "svg.hashsalt": "glues-bench",  # element ids derive from it instead of a random uuid
    "svg.fonttype": "path",  # text as glyph paths: names render identically and cannot inject markup
    "font.family": "DejaVu Sans",  # ships with matplotlib, so every machine draws the same glyphs
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "path.simplify": False,
}
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
FIGSIZE = (7.5, 4.6)


@dataclass(frozen=True)
class PlotPoint:
    name: str
    params: int
    average: float
    reported: bool
    on_front: bool
    partial: bool = False  # measured on some tasks only: the mean of those, not the GLUES average


def _literal(text: str) -> str:
    """Escape `$` so matplotlib draws a model name as-is instead of parsing it as mathtext."""
    return text.replace("$", r"\$")


def score_vs_params_svg(points: Sequence[PlotPoint], reference_average: float | None = None) -> str:
    """GLUES average against parameter count (log x). Pareto-front models are ringed and joined."""
    import matplotlib

    # Figure + an explicit SVG canvas: no pyplot, no global backend switch, nothing left open.
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context(PLOT_RC):
        figure = Figure(figsize=FIGSIZE)
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        ordered = sorted(points, key=lambda p: (p.params, -p.average, p.name))
        kinds = (
            (True, False, "o", "reported (paper)"),
            (False, False, "D", "measured here"),
            (False, True, "^", "measured, partial (mean of its tasks)"),
        )
        for reported, partial, marker, label in kinds:
            group = [p for p in ordered if p.reported == reported and p.partial == partial]
            if group:
                axes.scatter(
                    [p.params for p in group],
                    [p.average for p in group],
                    marker=marker,
                    s=36,
                    facecolors="white" if reported or partial else "#1f77b4",
                    edgecolors="#555555" if reported else "#1f77b4",
                    label=label,
                    zorder=3,
                )
        front = [p for p in ordered if p.on_front]
        if front:
            axes.step(
                [p.params for p in front],
                [p.average for p in front],
                where="post",
                color="#d62728",
                linewidth=1,
                label="Pareto front",
                zorder=2,
            )
            axes.scatter(
                [p.params for p in front],
                [p.average for p in front],
                s=110,
                facecolors="none",
                edgecolors="#d62728",
                zorder=2,
            )
        for point in ordered:
            axes.annotate(
                _literal(point.name),
                (point.params, point.average),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=7,
            )
        if reference_average is not None:
            axes.axhline(
                reference_average, color="#999999", linestyle=":", linewidth=1, label="reference average"
            )
        axes.set_xscale("log")
        axes.set_xlabel("parameters (log scale)")
        axes.set_ylabel("GLUES average (test)")
        axes.legend(loc="lower right", fontsize=7)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata=SVG_METADATA)
    return buffer.getvalue()
