"""GLUES task registry: frozen specs, one per dataset."""

from glues_bench.tasks.registry import TASK_ORDER, all_tasks, get_task, parse_task_list
from glues_bench.tasks.spec import HParams, ResolvedTask, TaskSpec

__all__ = ["TASK_ORDER", "HParams", "ResolvedTask", "TaskSpec", "all_tasks", "get_task", "parse_task_list"]
