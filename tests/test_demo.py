"""The README's main command: `glues-bench demo` offline, end to end, and idempotent."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from glues_bench.cli import main


def _run(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


@pytest.mark.slow  # fine-tunes on three tasks, twice: ~16 s on 2 cores (CI runs it: `-m slow`)
def test_demo_builds_site_with_demo_model_next_to_reported_rows(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    printed = _run(["demo", "--out", str(out), "--no-progress"])
    index = out / "site" / "index.html"
    assert index.exists() and f"file://{index.resolve()}" in printed
    board = json.loads(_run(["leaderboard", "--json", "--db", f"sqlite:///{out / 'demo.db'}"]))
    rows = {row["name"]: row for row in board["rows"]}
    # The paper's 8 reported rows and the data baseline are ranked; the demo model (one seed) is limited.
    assert sorted(r["origin"] for r in rows.values()) == ["baseline"] + ["reported"] * 8
    assert rows["BETO cased"]["origin"] == "reported"
    limited = {row["name"]: row for row in board["limited_rows"]}
    demo = limited["demo-albert-tiny"]
    assert demo["protocol"] == "limited" and "one seed" in demo["limited_reasons"]
    assert demo["origin"] == "in-house" and demo["average"] is None  # 3 of 8 tasks: no average
    assert {t for t, cell in demo["tasks"].items() if cell is not None} == {"pos", "pawsx", "xquad"}
    html = index.read_text(encoding="utf-8")
    assert "demo-albert-tiny" in html
    assert "In-house models" in html and "Its scores only show that the pipeline works" in html
    before = index.read_bytes()

    again = _run(["demo", "--out", str(out), "--no-progress"])  # re-running reuses everything
    assert "reusing demo-albert-tiny" in again
    assert index.read_bytes() == before
