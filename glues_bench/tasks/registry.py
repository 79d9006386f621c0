"""The task registry, computed from the YAML specs in `specs/` (one file per task)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from glues_bench.errors import SpecError, UnknownName
from glues_bench.tasks.spec import TaskSpec

TASK_ORDER = ("pos", "ner", "mldoc", "pawsx", "xnli", "mlqa", "sqac", "xquad")
"""The paper's column order (Tables 3-6)."""


def load_spec_file(path: Path) -> TaskSpec:
    """Parse and validate one spec; any problem names the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"task spec {path.name}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"task spec {path.name}: expected a mapping at the top level")
    try:
        return TaskSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(spec)"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        raise SpecError(f"task spec {path.name}: field {field!r}: {message}") from exc


@cache
def all_tasks() -> dict[str, TaskSpec]:
    """Every registered task by canonical name, in the paper's order."""
    spec_dir = resources.files("glues_bench.tasks") / "specs"
    specs = [load_spec_file(Path(str(p))) for p in spec_dir.iterdir() if p.name.endswith(".yaml")]
    by_name: dict[str, TaskSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise SpecError(f"task spec {spec.name}: registered twice")
        by_name[spec.name] = spec
    order = {name: i for i, name in enumerate(TASK_ORDER)}
    return dict(sorted(by_name.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


@cache
def _aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for spec in all_tasks().values():
        for alias in (spec.name, *spec.aliases):
            key = alias.lower()
            if key in table and table[key] != spec.name:
                raise SpecError(f"task spec {spec.name}: alias {alias!r} already names {table[key]!r}")
            table[key] = spec.name
    return table


def get_task(name: str) -> TaskSpec:
    """Look a task up by canonical name or alias (case-insensitive)."""
    canonical = _aliases().get(name.lower())
    if canonical is None:
        raise UnknownName("task", name, _aliases())
    return all_tasks()[canonical]


def parse_task_list(names: str | None) -> list[TaskSpec]:
    """`"pos,ner"` → specs; None or empty → all tasks."""
    if not names:
        return list(all_tasks().values())
    return [get_task(n.strip()) for n in names.split(",") if n.strip()]
