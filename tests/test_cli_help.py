"""`glues-bench --help` stays light: plain click help, nothing heavy imported, paragraphs kept whole."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from glues_bench.cli import main

# Each costs from ~0.1 s (rich) to seconds (torch, transformers) on every `--help`. (pydantic is not listed:
# typer itself imports it to convert `list[str]` options.)
HEAVY = ("rich", "torch", "transformers", "datasets", "sqlalchemy", "ray", "yaml", "numpy")

_PROBE = """
import contextlib, io, json, sys
from glues_bench.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["data", "--help"]])
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0
    assert sorted(set(HEAVY) & set(result["modules"])) == []


def test_group_listing_shows_each_commands_first_paragraph(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    # click's own short help stops at the first word ending in "." ("e.g."); the listing keeps the sentence,
    # and `code` spans lose their backticks as the markdown help showed them.
    listing = "Load published results (e.g. the paper's Tables 3-5) as reported rows; re-importing is a no-op"
    assert listing in out
    assert "`" not in out
