"""`glues-bench` command line. The only place that catches `GluesError` and turns it into one line."""

from __future__ import annotations

import re
import sys
from typing import Any

# Each module registers its commands on `app` when imported; their heavy imports wait inside the commands.
from glues_bench.cli import (  # noqa: F401
    data_cmd,
    demo_cmd,
    profile_cmd,
    register_cmd,
    run_cmd,
    runs_cmd,
    score_cmd,
    stats_cmd,
    store_cmd,
    tasks_cmd,
)
from glues_bench.cli.app import app
from glues_bench.errors import GluesError

_CODE_SPAN = re.compile(r"`([^`\n]*)`")


def _plain(text: str | None) -> str | None:
    """Help text as plain click shows it: `code` spans lose their backticks (the markdown help hid them)."""
    return _CODE_SPAN.sub(r"\1", text) if text else text


def build_command() -> Any:
    """The click command tree of `app`, its help texts made plain once.

    A command's line in its group's listing is its first paragraph, as typer's rich help showed it; click's
    default cuts at the first word ending in a period, which "e.g." is.
    """
    import typer.main  # already imported by typer; a name for the attribute

    root = typer.main.get_command(app)
    stack = [root]
    while stack:
        command = stack.pop()
        command.help = _plain(command.help)
        if command.short_help is None and command.help:
            command.short_help = command.help.split("\n\n", 1)[0].replace("\n", " ").strip()
        command.short_help = _plain(command.short_help)
        for param in command.params:
            if getattr(param, "help", None):
                param.help = _plain(param.help)
        stack.extend(getattr(command, "commands", {}).values())
    return root


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app; a GluesError becomes `error: …` on stderr and exit code 2."""
    try:
        # Non-standalone click returns a `typer.Exit(code)`'s code instead of raising it.
        code = build_command().main(args=argv, prog_name="glues-bench", standalone_mode=False)
    except GluesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # typer.Exit / --help
        return int(exc.code or 0)
    except Exception as exc:
        # Usage errors from (typer's vendored) click arrive here in non-standalone mode.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            # One line, like every other error (click's usage box is several); `--help` has the rest.
            message = " ".join(exc.format_message().split())
            command = getattr(getattr(exc, "ctx", None), "command_path", "glues-bench")
            if message:  # empty for `glues-bench` alone, which has printed its help already
                print(f"error: {message} (see {command} --help)", file=sys.stderr)
            return int(exc.exit_code)
        if type(exc).__name__ == "Abort":
            print("error: aborted", file=sys.stderr)
            return 1
        raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
