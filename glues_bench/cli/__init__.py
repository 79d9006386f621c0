"""`glues-bench` command line. The only place that catches `GluesError` and turns it into one line."""

from __future__ import annotations

import sys

# Each module registers its commands on `app` when imported; their heavy imports wait inside the commands.
from glues_bench.cli import (  # noqa: F401
    data_cmd,
    demo_cmd,
    profile_cmd,
    register_cmd,
    run_cmd,
    runs_cmd,
    score_cmd,
    store_cmd,
    tasks_cmd,
)
from glues_bench.cli.app import app
from glues_bench.errors import GluesError


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app; a GluesError becomes `error: …` on stderr and exit code 2."""
    try:
        # Non-standalone click returns a `typer.Exit(code)`'s code instead of raising it.
        code = app(args=argv, standalone_mode=False)
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
