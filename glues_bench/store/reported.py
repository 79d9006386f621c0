"""The reported-results file format (e.g. `leaderboard/reported_results.yaml`): numbers a paper prints.

A file names one source (its citation) and lists models, each with the parameter count as printed and
per-task test values in percent, keyed by the task's metric names (QA: `f1` and `exact_match`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from glues_bench.errors import GluesError, StoreError

_PARAMS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMB]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}


def parse_param_count(printed: str | int) -> int:
    """`"110M"` → 110_000_000; `"1.5B"` → 1_500_000_000; an int passes through."""
    if isinstance(printed, int):
        return printed
    match = _PARAMS.match(printed)
    if match is None:
        raise ValueError(f"parameter count {printed!r} is not like 110M, 5M or 1.5B")
    number, suffix = match.groups()
    return round(float(number) * _SCALE[suffix.upper()])


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportedSource(_Strict):
    citation: str = Field(min_length=1)
    note: str | None = None


class ReportedModel(_Strict):
    name: str = Field(min_length=1, max_length=200)
    family: str | None = None
    params: str | int | None = Field(default=None, description="As printed, e.g. 110M; None if not printed.")
    notes: str | None = None
    results: dict[str, dict[str, float]] = Field(min_length=1)

    @field_validator("params")
    @classmethod
    def _parsable(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            parse_param_count(value)
        return value

    @property
    def param_count(self) -> int | None:
        return None if self.params is None else parse_param_count(self.params)


class ReportedFile(_Strict):
    source: ReportedSource
    source_refs: dict[str, str] = Field(default_factory=dict, description="task → where it is printed.")
    variants: dict[str, str] = Field(
        default_factory=dict, description="task → variant, when the source says."
    )
    models: list[ReportedModel] = Field(min_length=1)


def load_reported_file(path: Path) -> ReportedFile:
    """Read and validate a reported-results file; task names become canonical, metrics are checked."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StoreError(f"reported results {path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise StoreError(f"reported results {path}:{where} not valid YAML") from exc
    try:
        parsed = ReportedFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise StoreError(f"reported results {path}: field {field!r}: {first['msg']}") from exc
    return _canonical(parsed, path)


def _canonical(parsed: ReportedFile, path: Path) -> ReportedFile:
    from glues_bench.tasks import get_task

    names = [m.name for m in parsed.models]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise StoreError(f"reported results {path}: model {duplicates[0]!r} listed twice")
    models = []
    for model in parsed.models:
        results: dict[str, dict[str, float]] = {}
        for task_name, values in model.results.items():
            try:
                spec = get_task(task_name)
            except GluesError as exc:
                raise StoreError(f"reported results {path}: model {model.name!r}: {exc}") from exc
            for metric, value in values.items():
                if metric not in spec.metrics:
                    raise StoreError(
                        f"reported results {path}: model {model.name!r} task {spec.name!r}: metric "
                        f"{metric!r} is not one of {', '.join(spec.metrics)}"
                    )
                if not (math.isfinite(value) and 0 <= value <= 100):
                    raise StoreError(
                        f"reported results {path}: model {model.name!r} task {spec.name!r}: {metric} = "
                        f"{value} is not a percentage"
                    )
            results[spec.name] = dict(values)
        models.append(model.model_copy(update={"results": results}))
    try:
        variants = {get_task(t).name: v for t, v in parsed.variants.items()}
        refs = {get_task(t).name: v for t, v in parsed.source_refs.items()}
        for task_name, variant in variants.items():
            get_task(task_name).resolve(variant)
    except GluesError as exc:
        raise StoreError(f"reported results {path}: {exc}") from exc
    return parsed.model_copy(update={"models": models, "variants": variants, "source_refs": refs})
