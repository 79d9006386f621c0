"""The score-vs-parameters and score-vs-throughput plots: matplotlib (Agg/SVG), fixed style and sizes,
deterministic bytes."""

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


@dataclass(frozen=True)
class ThroughputPoint:
    name: str
    examples_per_s: float
    average: float
    reported: bool
    on_front: bool


def score_vs_params_svg(points: Sequence[PlotPoint], reference_average: float | None = None) -> str:
    """GLUES average against parameter count (log x). Pareto-front models (smaller and better) are
    ringed and joined."""
    items = [(p.name, float(p.params), p.average, p.reported, p.on_front, p.partial) for p in points]
    return _score_svg(items, "parameters (log scale)", "post", reference_average)


def score_vs_throughput_svg(
    points: Sequence[ThroughputPoint], device: str, reference_average: float | None = None
) -> str:
    """GLUES average against eval examples/s on `device` (log x). Pareto-front models (faster and
    better) are ringed and joined."""
    items = [(p.name, p.examples_per_s, p.average, p.reported, p.on_front, False) for p in points]
    label = f"examples/s at the eval batch size on {device} (log scale)"
    return _score_svg(items, label, "pre", reference_average)


def _score_svg(
    points: Sequence[tuple[str, float, float, bool, bool, bool]],
    x_label: str,
    front_step: str,
    reference_average: float | None,
) -> str:
    """(name, x, average, reported, on_front, partial) points (partial: measured on some tasks only);
    `front_step`: "post" when smaller x is better
    (the front rises with x), "pre" when larger x is better (it falls)."""
    import matplotlib

    # Figure + an explicit SVG canvas: no pyplot, no global backend switch, nothing left open.
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context(PLOT_RC):
        figure = Figure(figsize=FIGSIZE)
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        ordered = sorted(points, key=lambda p: (p[1], -p[2], p[0]))
        kinds = (
            (True, False, "o", "reported (paper)"),
            (False, False, "D", "measured here"),
            (False, True, "^", "measured, partial (mean of its tasks)"),
        )
        for reported, partial, marker, label in kinds:
            group = [p for p in ordered if p[3] == reported and p[5] == partial]
            if group:
                axes.scatter(
                    [p[1] for p in group],
                    [p[2] for p in group],
                    marker=marker,
                    s=36,
                    facecolors="white" if reported or partial else "#1f77b4",
                    edgecolors="#555555" if reported else "#1f77b4",
                    label=label,
                    zorder=3,
                )
        front = [p for p in ordered if p[4]]
        if front:
            axes.step(
                [p[1] for p in front],
                [p[2] for p in front],
                where=front_step,
                color="#d62728",
                linewidth=1,
                label="Pareto front",
                zorder=2,
            )
            axes.scatter(
                [p[1] for p in front],
                [p[2] for p in front],
                s=110,
                facecolors="none",
                edgecolors="#d62728",
                zorder=2,
            )
        for name, x, average, *_ in ordered:
            axes.annotate(_literal(name), (x, average), textcoords="offset points", xytext=(5, 4), fontsize=7)
        if reference_average is not None:
            axes.axhline(
                reference_average, color="#999999", linestyle=":", linewidth=1, label="reference average"
            )
        axes.set_xscale("log")
        axes.set_xlabel(_literal(x_label))
        axes.set_ylabel("GLUES average (test)")
        axes.legend(loc="lower right", fontsize=7)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata=SVG_METADATA)
    return buffer.getvalue()
