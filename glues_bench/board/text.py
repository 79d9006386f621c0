"""Display formatting shared by the CLI table, the run summary and the site (numbers stay unrounded
everywhere else)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glues_bench.board.selection import TaskResult

__all__ = ["fmt2", "format_cell", "format_ci", "format_params", "hparams_key", "tie_mark"]


def fmt2(value: float | None) -> str:
    """Two decimals, rounded (the paper truncates; see the module docstring); `—` for missing."""
    return "—" if value is None or not math.isfinite(value) else f"{value:.2f}"


def format_cell(result: TaskResult | None) -> str:
    """A task cell: `98.35`, QA `70.17 / 45.99`, measured `81.20 ± 0.35`, `pending` (selected config not
    test-scored yet) or `—` (no result)."""
    if result is None:
        return "—"
    if result.score is None:
        return "pending"
    if "exact_match" in result.score_metrics:
        text = f"{fmt2(result.metrics.get('f1'))} / {fmt2(result.metrics.get('exact_match'))}"
    else:
        text = fmt2(result.score)
    if result.sd is not None:
        text += f" ± {fmt2(result.sd)}"
    return text


def format_params(params: int | None, printed: str | None = None) -> str | None:
    """As printed by its source when there is one, else e.g. 11.7M / 223M / 1.2B."""
    if printed:
        return printed
    if params is None:
        return None
    if params >= 10**9:
        return f"{params / 1e9:.3g}B"
    return f"{params / 1e6:.3g}M"


def hparams_key(hparams: Mapping[str, Any] | None) -> str | None:
    """`bs32-lr2e-05-ep3` when the dict is a task-spec HParams, else None."""
    from pydantic import ValidationError

    from glues_bench.tasks import HParams

    try:
        return HParams.model_validate(dict(hparams or {})).key()
    except ValidationError:
        return None


def format_ci(interval: tuple[float, float] | None) -> str:
    """`[80.12, 82.30]`, or `` without an interval."""
    return "" if interval is None else f"[{fmt2(interval[0])}, {fmt2(interval[1])}]"


def tie_mark(tied_with_best: bool | None, is_best: bool) -> str:
    """`≈` for a cell not significantly worse than its column's best (the best itself needs no mark)."""
    return "≈" if tied_with_best and not is_best else ""
