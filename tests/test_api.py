"""The package's contracts with its readers: public names, per-task-type registries, CLI help."""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest

from glues_bench.tasks.spec import TaskType

# Modules whose `__all__` is their public API (the board and site: what the CLI and other tools import).
PUBLIC_MODULES = [
    "glues_bench.board",
    "glues_bench.board.selection",
    "glues_bench.board.board",
    "glues_bench.board.export",
    "glues_bench.board.text",
    "glues_bench.store",
    "glues_bench.store.records",
    "glues_bench.site",
    "glues_bench.site.pages",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_exist_once_and_cover_the_modules_own_public_definitions(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "a name listed twice"
    assert [n for n in exported if not hasattr(module, n)] == []
    if not hasattr(module, "__path__"):  # a plain module: everything public it defines is exported
        own = {
            n
            for n, value in vars(module).items()
            if not n.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and value.__module__ == name
        }
        assert sorted(own - set(exported)) == [], f"{name}: public but not in __all__"


def test_the_board_package_reexports_every_submodules_api() -> None:
    import glues_bench.board as board

    for sub in ("selection", "board", "export", "text"):
        module = importlib.import_module(f"glues_bench.board.{sub}")
        assert sorted(set(module.__all__) - set(board.__all__)) == [], sub


def _registries() -> dict[str, typing.Mapping]:
    from glues_bench.data.hub import HUB_CONVERTERS
    from glues_bench.data.schema import FEATURES
    from glues_bench.metrics.score import _SCORERS
    from glues_bench.pretrain.contamination import FREE_TEXT_COLUMNS
    from glues_bench.tasks.spec import METRICS_BY_TYPE
    from glues_bench.train.finetune import HEADS

    return {
        "METRICS_BY_TYPE": METRICS_BY_TYPE,
        "FEATURES": FEATURES,
        "HUB_CONVERTERS": HUB_CONVERTERS,
        "_SCORERS": _SCORERS,
        "HEADS": HEADS,
        "FREE_TEXT_COLUMNS": FREE_TEXT_COLUMNS,
    }


def test_every_task_type_has_an_entry_in_every_per_type_registry() -> None:
    types = set(typing.get_args(TaskType))
    assert len(types) == 3  # token classification, sequence classification, extractive QA
    for name, registry in _registries().items():
        assert set(registry) == types, name


def _cli_commands():
    import typer.main

    from glues_bench.cli import app

    root = typer.main.get_command(app)
    stack = [("glues-bench", root)]
    while stack:
        path, command = stack.pop()
        yield path, command
        for sub_name, sub in getattr(command, "commands", {}).items():
            stack.append((f"{path} {sub_name}", sub))


def test_every_cli_command_option_and_argument_has_help_text() -> None:
    missing = []
    commands = list(_cli_commands())
    assert {"run", "leaderboard", "build-site", "score", "demo"} <= {p.split()[-1] for p, _ in commands}
    for path, command in commands:
        if not (command.help or "").strip():
            missing.append(path)
        for param in command.params:
            if param.name == "help":
                continue
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{path} {param.opts[0] if param.opts else param.name}")
    assert missing == []
