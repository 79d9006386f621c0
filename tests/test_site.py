"""The static site: deterministic, escaped, self-contained, and what a browser shows matches the CLI."""

from __future__ import annotations

import dataclasses
import html as html_lib
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from glues_bench.cli import main
from glues_bench.site import SiteError, build_site
from glues_bench.store import RunKey, Store, open_store
from glues_bench.tasks import TASK_ORDER, get_task

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORTED_FILE = REPO_ROOT / "leaderboard" / "reported_results.yaml"
sys.path.insert(0, str(REPO_ROOT / "scripts"))
import screenshot_site  # noqa: E402

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
EVIL = "<script>alert(1)</script>"
OURS = "ALBETO tiny (ours)"


def _run(store: Store, model: str, sha: str, task: str, hparams: dict, seed: int, metrics: dict, **kw) -> int:
    resolved = get_task(task).resolve()
    key = RunKey(
        submission=model, checkpoint_sha256=sha, task=task, variant=resolved.variant,
        spec_hash=resolved.spec_hash, data_fingerprint={"dev": "d" * 64, "test": "e" * 64},
        hparams=hparams, seed=seed,
    )  # fmt: skip
    start = T0 + timedelta(minutes=seed)
    run_id = store.start_run(key, spec_version=resolved.spec.version, device="cpu", started_at=start)
    store.finish_run(run_id, metrics, finished_at=start + timedelta(seconds=30), **kw)
    return run_id


def _scores(task: str, dev: float, test: float) -> dict:
    names = get_task(task).score_metrics
    return {"dev": dict.fromkeys(names, dev), "test": dict.fromkeys(names, test)}


def populate(store: Store, predictions: Path) -> None:
    """The paper's rows, a complete measured model (NER searched over 2 configs × 2 seeds) and an
    incomplete one whose name, notes and manifest are markup."""
    store.import_reported(REPORTED_FILE, now=T0)
    store.upsert_submission(
        OURS, origin="in-house", family="ALBETO", checkpoint_sha256="a" * 64, params_total=5_000_000, now=T0
    )
    small, large = {"learning_rate": 5e-5, "batch_size": 16}, {"learning_rate": 1e-5, "batch_size": 16}
    for task in TASK_ORDER:
        if task != "ner":
            _run(store, OURS, "a" * 64, task, small, 1, _scores(task, 70.0, 60.0))
    # dev prefers `small` (80, 82) although `large` is better on test (90, 91): test = 70 ± 1.41
    _run(
        store, OURS, "a" * 64, "ner", small, 1, _scores("ner", 80.0, 70.0), predictions={"test": predictions}
    )
    _run(store, OURS, "a" * 64, "ner", small, 2, _scores("ner", 82.0, 72.0))
    _run(store, OURS, "a" * 64, "ner", large, 1, _scores("ner", 79.0, 90.0))
    _run(store, OURS, "a" * 64, "ner", large, 2, _scores("ner", 80.0, 91.0))
    store.upsert_submission(
        EVIL, origin="external", checkpoint_sha256="b" * 64, notes=f"notes {EVIL}",
        manifest={"name": EVIL, "hub_id": '"><img src=x onerror=alert(2)>'}, now=T0,
    )  # fmt: skip
    for task in ("pos", "xnli"):
        _run(store, EVIL, "b" * 64, task, small, 1, _scores(task, 50.0, 40.0))
    failed = store.start_run(
        RunKey(EVIL, "b" * 64, "mldoc", "default", get_task("mldoc").resolve().spec_hash, {}, small, 1),
        spec_version=1,
        started_at=T0,
    )
    store.fail_run(failed, f"Traceback: {EVIL}", finished_at=T0 + timedelta(seconds=5))
    # speed and memory: ours on two devices (the CPU one has two tasks), the incomplete model on the CPU only
    store.put_profile(_profile("a" * 64, CPU, {"pos": (400.0, 5.0), "xnli": (100.0, 20.0)}), submission=OURS)
    store.put_profile(_profile("a" * 64, "cuda:NVIDIA H200", {"pos": (9000.0, 1.0)}), submission=OURS)
    store.put_profile(_profile("b" * 64, CPU, {"pos": (50.0, 40.0)}), submission=EVIL, measured_at=T0)


CPU = "cpu:Test CPU ×1 threads"


def _profile(sha: str, device: str, tasks: dict[str, tuple[float, float]]):
    """A hand-made profile: per task (eval-batch examples/s, batch-1 latency p50 ms)."""
    from glues_bench.profile import ModelProfile, Spread, TaskProfile

    def spread(value: float) -> Spread:
        return Spread(value, value * 0.9, value * 1.1)

    return ModelProfile(
        checkpoint_sha256=sha, device=device, device_kind=device.split(":")[0], threads=1,
        memory_kind="rss", weights_bytes=20 * 2**20, repeats=3, library_versions={"torch": "x"},
        tasks=tuple(
            TaskProfile(
                task=task, task_type="token_classification", n_examples=64, n_features=64, mean_tokens=30.0,
                max_length=128, eval_batch_size=32, batch1_examples=16,
                batch1_examples_per_s=spread(1000 / p50), batch1_tokens_per_s=spread(30000 / p50),
                latency_p50_ms=spread(p50), latency_p95_ms=spread(2 * p50),
                batch_examples_per_s=spread(rate), batch_tokens_per_s=spread(30 * rate),
                inference_peak_memory_bytes=(300 + i) * 2**20,
            )
            for i, (task, (rate, p50)) in enumerate(tasks.items())
        ),
    )  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("site")
    predictions = root / "predictions" / "ner test.json"
    predictions.parent.mkdir()
    predictions.write_text('{"0": ["O"]}', encoding="utf-8")
    db = f"sqlite:///{root / 'results.db'}"
    with open_store(db) as store:
        populate(store, predictions)
        snapshot = store.snapshot()
    out = root / "one" / "site"
    # Every measured row of the fixture rests on one seed (limited): ranked with the others, so these tests
    # see one mixed table; the default (limited rows in their own section) is tested in test_honest.py.
    build_site(snapshot, out, include_limited=True)
    return {"root": root, "db": db, "out": out, "snapshot": snapshot, "predictions": predictions}


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def _leaderboard_json(db: str, capsys: pytest.CaptureFixture[str], *options: str) -> dict:
    """`leaderboard --json` as the fixture's site was built (`--include-limited`), unless `options`."""
    capsys.readouterr()
    assert main(["leaderboard", "--json", "--db", db, *(options or ("--include-limited",))]) == 0
    return json.loads(capsys.readouterr().out)


# -- determinism -------------------------------------------------------------------------------------


def test_building_twice_gives_byte_identical_files(site: dict):
    first = _files(site["out"])
    build_site(site["snapshot"], site["out"], include_limited=True)
    assert _files(site["out"]) == first
    # Another process with another hash seed, through the CLI, into a folder at the same depth.
    other = site["root"] / "two" / "site"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    code = "import sys; from glues_bench.cli import main; sys.exit(main(sys.argv[1:]))"
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "build-site",
            "--db",
            site["db"],
            "--out",
            str(other),
            "--include-limited",
        ],
        check=True,
        env=env,
    )
    assert _files(other) == first
    assert {"index.html", "index.json", "score_vs_params.svg", "static/style.css", "tasks/ner.html"} <= set(
        first
    )


def test_index_json_is_the_cli_leaderboard(site: dict, capsys: pytest.CaptureFixture[str]):
    document = _leaderboard_json(site["db"], capsys)
    assert json.loads((site["out"] / "index.json").read_text(encoding="utf-8")) == document
    assert document["last_updated"] == (T0 + timedelta(minutes=2, seconds=30)).isoformat()


# -- content -----------------------------------------------------------------------------------------


def test_measured_model_shows_the_dev_selected_test_score(site: dict):
    document = json.loads((site["out"] / "index.json").read_text(encoding="utf-8"))
    ours = next(row for row in document["rows"] + document["limited_rows"] if row["name"] == OURS)
    ner = ours["tasks"]["ner"]
    assert (ner["score"], ner["n_seeds"], ner["dev_score"]) == (71.0, 2, 81.0)
    assert ner["sd"] == pytest.approx(2**0.5)
    assert ours["complete"] and ours["average"] == pytest.approx((7 * 60.0 + 71.0) / 8)
    rows = LeaderboardTable.parse((site["out"] / "index.html").read_text(encoding="utf-8"))
    html_row = next(r for r in rows if r["name"] == OURS)
    assert html_row["ner"] == "71.00 ± 1.41"
    assert "measured" in html_row["class"] and "incomplete" not in html_row["class"]
    evil = next(r for r in rows if r["name"] == EVIL)
    assert evil["average"] == "2/8" and evil["rank"] == "" and "incomplete" in evil["class"]
    assert "reported" in next(r for r in rows if r["name"] == "BETO cased")["class"]


def test_untrusted_names_render_as_text_on_every_page(site: dict):
    pages = sorted(site["out"].rglob("*.html"))
    cells = {(r.submission, r.task) for r in site["snapshot"].runs}
    assert len(cells) == 11 and len(site["snapshot"].runs) == 14
    run_models = {model for model, _ in cells}  # one runs page per model with runs, a section per task
    assert len(pages) == 1 + 8 + 10 + len(run_models)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert EVIL not in html, page
        assert "<img src=x" not in html, page
    evil_model = next(site["out"].glob("models/script-alert-1-script-*.html"))
    for page in [site["out"] / "index.html", site["out"] / "tasks" / "pos.html", evil_model]:
        assert escaped in page.read_text(encoding="utf-8"), page
    (evil_runs,) = site["out"].glob("runs/script-alert-1-script-*.html")
    html = evil_runs.read_text(encoding="utf-8")
    assert escaped in html
    assert [t for t in TASK_ORDER if f'id="runs-{t}"' in html] == [
        "pos",
        "mldoc",
        "xnli",
    ]  # its tasks, in order
    # the failed run's traceback (which holds the markup) is on its page, escaped
    assert "Traceback: " + escaped in html
    assert b"<script>alert" not in (site["out"] / "score_vs_params.svg").read_bytes()


def test_every_runs_table_row_has_a_cell_per_column_so_sorting_keeps_failed_runs_whole(site: dict):
    """sort.js sorts a table's body rows by `row.cells[column]`: a failed run's error must live inside its
    own row (not in an extra two-cell row), or sorting breaks and detaches errors from their runs."""

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tables: list[dict] = []
            self.open: dict | None = None  # the sortable table being read (the site nests no tables)

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                sortable = "sortable" in (dict(attrs).get("class") or "")
                self.open = {"head": 0, "rows": []} if sortable else None
                if self.open is not None:
                    self.tables.append(self.open)
            elif self.open is not None and tag == "th":
                self.open["head"] += 1
            elif self.open is not None and tag == "tr" and self.open["head"]:
                self.open["rows"].append(0)
            elif self.open is not None and tag == "td" and self.open["rows"]:
                self.open["rows"][-1] += 1

        def handle_endtag(self, tag):
            if tag == "table":
                self.open = None

    checked = 0
    for page in site["out"].glob("runs/*.html"):
        parser = Rows()
        parser.feed(page.read_text(encoding="utf-8"))
        for table in parser.tables:
            assert set(table["rows"]) <= {table["head"]}, page.name
            checked += len(table["rows"])
    assert checked == sum(1 for r in site["snapshot"].runs)  # one row per run, the failed one included


def test_every_download_link_is_titled_as_the_table_it_downloads(site: dict):
    """A page's "Download: <title> CSV · JSON" links name the table the linked file holds."""
    import re

    link = re.compile(r'([^>|:]+?) <a href="([^"]+)" class="download-csv" download>')
    checked = 0
    for page in site["out"].rglob("*.html"):
        for title, href in link.findall(page.read_text(encoding="utf-8")):
            table = json.loads((page.parent / href).with_suffix(".json").read_text(encoding="utf-8"))
            assert table["title"] == title.strip(), (page.name, href)
            checked += 1
    assert checked >= 2 + 2 * 8  # the index's two tables and every task page's two, at least


class LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)
            if name == "id" and value is not None:
                self.ids.add(value)


def _collect(page: Path) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(page.read_text(encoding="utf-8"))
    return collector


def test_every_link_resolves_on_disk_without_network(site: dict):
    """Every link names a file of the site, and a fragment (`runs/x.html#runs-ner`) an id on its page."""
    checked = anchors = 0
    for page in sorted(site["out"].rglob("*.html")):
        for link in _collect(page).links:
            parsed = urlparse(link)
            assert not parsed.scheme and not parsed.netloc, f"{page}: external link {link}"
            target = (page.parent / unquote(parsed.path)).resolve() if parsed.path else page
            assert target.is_file(), f"{page}: broken link {link}"
            checked += 1
            if parsed.fragment and target.suffix == ".html":
                assert parsed.fragment in _collect(target).ids, f"{page}: no #{parsed.fragment} in {target}"
                anchors += 1
    assert checked > 100 and anchors > 10


def _records(table: dict) -> list[dict]:
    """A twin's table (`{"columns", "rows"}`) as one dict per row."""
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


def test_run_page_links_its_predictions(site: dict):
    (run,) = [r for r in site["snapshot"].runs if r.predictions]
    (page,) = site["out"].glob("runs/albeto-tiny-ours-*.html")
    html = page.read_text(encoding="utf-8")
    assert 'href="../../../predictions/ner%20test.json"' in html
    assert run.predictions[0].sha256[:12] in html
    twin = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    shas = [p["sha256"] for t in twin["tasks"] for r in _records(t["runs"]) for p in r["predictions"]]
    assert shas == [run.predictions[0].sha256]
    assert str(site["root"]) not in json.dumps(twin)  # the link is relative; no folder of this machine


def test_runs_page_holds_every_run_of_its_cell_with_counts_and_selection(site: dict):
    """NER of ours: 2 configs × 2 seeds in its section; the dev-selected config's seeds are `selected`."""
    (page,) = site["out"].glob("runs/albeto-tiny-ours-*.html")
    twin = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert [t["task"]["name"] for t in twin["tasks"]] == list(TASK_ORDER)  # all of ours, in the board's order
    (section,) = [t for t in twin["tasks"] if t["task"]["name"] == "ner"]
    runs = _records(section["runs"])
    ours = [r for r in site["snapshot"].runs if r.submission == OURS and r.task == "ner"]
    assert [r["id"] for r in runs] == [r.id for r in ours]
    chosen = {r.id for r in ours if r.hparams["learning_rate"] == 5e-5}  # dev 80, 82 beat 79, 80
    assert {r["id"] for r in runs if r["selected"]} == chosen
    assert all(r["counted"] for r in runs)
    assert [r["test_score"] for r in runs] == [70.0, 72.0, 90.0, 91.0]
    # nested metrics and durations are spread into one column per key path, for every run of the section
    for metric in get_task("ner").score_metrics:
        assert [(r[f"metrics.dev.{metric}"], r[f"metrics.test.{metric}"]) for r in runs] == [
            (80.0, 70.0), (82.0, 72.0), (79.0, 90.0), (80.0, 91.0)
        ]  # fmt: skip
    assert "metrics" not in section["runs"]["columns"] and "durations" not in section["runs"]["columns"]
    assert len({r["provenance"] for r in runs}) == 1  # NER's spec and data: one provenance for its runs
    assert len(twin["provenance"]) == len(TASK_ORDER)  # each task's spec hash makes its own
    # the two configs are stated once each, and every run names its own
    configs = {c["key"]: c["hparams"] for c in twin["configs"]}
    assert sorted(configs.values(), key=str) == sorted(
        [{"learning_rate": 5e-5, "batch_size": 16}, {"learning_rate": 1e-5, "batch_size": 16}], key=str
    )
    assert [configs[r["config"]] for r in runs] == [r.hparams for r in ours]
    html = page.read_text(encoding="utf-8")
    for run in ours:  # each run has an anchor, and the model page's config table links the page
        assert f'id="run-{run.id}"' in html
    model_html = next(site["out"].glob("models/albeto-tiny-ours-*.html")).read_text(encoding="utf-8")
    assert f'href="../runs/{page.name}#runs-ner"' in model_html


def test_records_write_one_table_and_spread_nested_fields_into_key_path_columns():
    from glues_bench.site.pages import Records, page_json

    @dataclasses.dataclass(frozen=True)
    class Row:
        id: int
        metrics: dict | None
        note: str | None

    second = {"test": {"f1": 0.25, "em": 0.0}}
    rows = (Row(1, {"dev": {"f1": 0.5}}, "a"), Row(2, second, None), Row(3, None, "c"))
    assert page_json(Records(Row, rows)) == {
        "columns": ["id", "metrics", "note"],
        "rows": [[1, {"dev": {"f1": 0.5}}, "a"], [2, second, None], [3, None, "c"]],
    }
    assert page_json(Records(Row, rows, spread=("metrics",))) == {
        "columns": ["id", "note", "metrics.dev.f1", "metrics.test.em", "metrics.test.f1"],
        "rows": [[1, "a", 0.5, None, None], [2, None, None, 0.0, 0.25], [3, "c", None, None, None]],
    }
    assert page_json(Records(Row, (), spread=("metrics",))) == {"columns": ["id", "note"], "rows": []}


def test_rebuild_removes_stale_files_and_refuses_foreign_folders(site: dict, tmp_path: Path):
    out = tmp_path / "site"
    build_site(site["snapshot"], out)
    (out / "runs" / "999.html").write_text("old", encoding="utf-8")
    marker = out / ".glues-bench-site"
    marker.write_text(
        marker.read_text(encoding="utf-8") + "runs/999.html\n../outside.txt\n", encoding="utf-8"
    )
    (tmp_path / "outside.txt").write_text("keep", encoding="utf-8")
    build_site(site["snapshot"], out)
    assert not (out / "runs" / "999.html").exists()
    assert (tmp_path / "outside.txt").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SiteError, match="not empty"):
        build_site(site["snapshot"], foreign)


def test_plot_draws_any_name_literally():
    from glues_bench.site.plots import PlotPoint, score_vs_params_svg

    points = [
        PlotPoint("$\\bogus{$ 1", 5_000_000, 70.0, reported=False, on_front=True),
        PlotPoint(EVIL, 10**8, 80.0, reported=True, on_front=True),
    ]
    svg = score_vs_params_svg(points, reference_average=75.0)
    assert svg.startswith("<?xml") and "<script" not in svg
    assert svg == score_vs_params_svg(points, reference_average=75.0)


# -- in a real browser -------------------------------------------------------------------------------


class LeaderboardTable(HTMLParser):
    """Rows of `table#leaderboard` (or another id) as {data-col: text, "class": tr class, "hidden": …};
    the text of a cell's badges, CI and tie mark goes to `col:badge`, `col:ci`, `col:tie`."""

    SUB_PARTS = ("badge", "ci", "tie")

    def __init__(self, table_id: str = "leaderboard") -> None:
        super().__init__()
        self.table_id = table_id
        self.rows: list[dict[str, str]] = []
        self._in_table = self._in_body = False
        self._column: str | None = None
        self._sub: str | None = None

    @classmethod
    def parse(cls, html: str, table_id: str = "leaderboard") -> list[dict[str, str]]:
        parser = cls(table_id)
        parser.feed(html)
        return parser.rows

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if self._column is not None and tag in ("span", "small"):
            self._sub = next((c for c in self.SUB_PARTS if c in classes), None)
            return
        if tag == "table" and attributes.get("id") == self.table_id:
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append({"class": attributes.get("class") or "", "hidden": str("hidden" in attributes)})
        elif self._in_body and tag == "td":
            self._column = attributes.get("data-col") or "?"
            self.rows[-1][self._column] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("span", "small"):
            self._sub = None
        elif tag == "td" and self._column is not None:
            self._column = None
            self.rows[-1] = {k: v.strip() for k, v in self.rows[-1].items()}
        elif tag == "table" and self._in_table:
            self._in_table = self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._column is not None:
            key = self._column if self._sub is None else f"{self._column}:{self._sub}"
            self.rows[-1][key] = self.rows[-1].get(key, "") + data


def _dump_dom(page: Path, fragment: str = "") -> str:
    if screenshot_site.find_chromium() is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    return screenshot_site.run_chromium(page, ["--dump-dom"], fragment=fragment)


def _two(value: float | None) -> str:
    """The test's own two-decimal text (not the code under test's `fmt2`)."""
    return "—" if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _expected_cell(result: dict | None) -> str:
    """What a task cell must show, from the JSON document alone: QA as F1 / EM, ± sd with 2+ seeds."""
    if result is None:
        return "—"
    if result["score"] is None:
        return "pending"
    metrics = result["metrics"]
    is_qa = set(result["score_metrics"]) == {"f1", "exact_match"}
    text = f"{_two(metrics['f1'])} / {_two(metrics['exact_match'])}" if is_qa else _two(result["score"])
    return text if result["sd"] is None else f"{text} ± {_two(result['sd'])}"


def test_browser_shows_the_cli_leaderboard(site: dict, capsys: pytest.CaptureFixture[str]):
    rows = LeaderboardTable.parse(_dump_dom(site["out"] / "index.html"))
    document = _leaderboard_json(site["db"], capsys)
    assert [r["name"] for r in rows] == [r["name"] for r in document["rows"]]
    assert EVIL in [r["name"] for r in rows]  # the script tag is text in the DOM, not an element
    for shown, row in zip(rows, document["rows"], strict=True):
        assert shown["rank"] == ("" if row["rank"] is None else str(row["rank"]))
        expected_average = _two(row["average"]) if row["complete"] else f"{row['n_tasks']}/8"
        assert shown["average"] == expected_average
        assert shown["size_ratio"] == _two(row["size_ratio"])
        assert shown["performance_ratio"] == _two(row["performance_ratio"])
        assert shown["params"] == (row["params_display"] or "—")
        for task in TASK_ORDER:
            assert shown[task] == _expected_cell(row["tasks"][task]), (row["name"], task)


def test_clicking_a_header_sorts_the_column_with_missing_values_last(site: dict):
    html = (site["out"] / "index.html").read_text(encoding="utf-8")
    click = "<script>document.querySelectorAll('#leaderboard thead th')[9].click();</script></body>"  # NER
    page = site["out"] / "sorted_probe.html"
    page.write_text(html.replace("</body>", click), encoding="utf-8")
    try:
        rows = LeaderboardTable.parse(_dump_dom(page))
    finally:
        page.unlink()
    ner = [r["ner"] for r in rows]
    assert ner[-1] == "—" and rows[-1]["name"] == EVIL  # no NER result: last, even ascending
    values = [float(v.split(" ")[0]) for v in ner[:-1]]
    assert values == sorted(values)
    assert rows[0]["name"] == OURS  # 71.00, the lowest NER score


def test_a_numeric_column_without_sort_keys_sorts_by_its_numbers_with_dashes_last(site: dict):
    """Runs pages' Dev and Test cells carry no data-sort: sort.js sorts them by the number their text starts
    with (10 after 9.5, not before it as text would), and "—" (no score) last in either direction."""
    (runs_page,) = site["out"].glob("runs/albeto-tiny-ours-*.html")
    header = '<th data-type="number" scope="col">Test</th>'
    html = runs_page.read_text(encoding="utf-8")
    assert header in html and "<td>70.00</td>" in html and 'data-sort="70' not in html
    texts = ("9.50", "—", "10.00", "72.00 ± 1.41", "—", "0.25")
    cells = "".join(f"<tr><td>{text}</td></tr>" for text in texts)
    click = "var th = document.querySelector('th'); th.click();"
    orders = {}
    for clicks in (1, 2):
        probe = site["out"] / "runs" / f"sort_probe_{clicks}.html"
        probe.write_text(
            f'<!doctype html><table class="sortable"><thead><tr>{header}</tr></thead><tbody>{cells}</tbody>'
            f'</table><script src="../static/sort.js"></script><script>{click * clicks}</script>',
            encoding="utf-8",
        )
        try:
            dom = _dump_dom(probe)
        finally:
            probe.unlink()
        orders[clicks] = [c.split("</td>")[0] for c in dom.split("<tbody>", 1)[1].split("<td>")[1:]]
    assert orders[1] == ["0.25", "9.50", "10.00", "72.00 ± 1.41", "—", "—"]
    assert orders[2] == ["72.00 ± 1.41", "10.00", "9.50", "0.25", "—", "—"]


def test_index_cells_show_the_documents_numbers(site: dict, capsys: pytest.CaptureFixture[str]):
    """The server-rendered table (no browser needed) against the test's own formatting of the JSON."""
    rows = LeaderboardTable.parse((site["out"] / "index.html").read_text(encoding="utf-8"))
    document = _leaderboard_json(site["db"], capsys)
    assert [r["name"] for r in rows] == [r["name"] for r in document["rows"]]
    for shown, row in zip(rows, document["rows"], strict=True):
        assert shown["average"] == (_two(row["average"]) if row["complete"] else f"{row['n_tasks']}/8")
        assert shown["size_ratio"] == _two(row["size_ratio"])
        for task in TASK_ORDER:
            assert shown[task] == _expected_cell(row["tasks"][task]), (row["name"], task)
    # the fixture holds the kinds of cell that format differently: QA (F1 / EM), ± sd, missing
    texts = {shown[task] for shown in rows for task in TASK_ORDER}
    assert "—" in texts and any(" / " in t for t in texts) and any(" ± " in t for t in texts), texts


# Where each page type is written: the test's own list, so a new page type fails here until it is added.
PAGE_FILES = {"IndexPage": ["index.html"], "TaskPage": "tasks", "ModelPage": "models", "RunsPage": "runs"}


def _field_names(page_type: type) -> set[str]:
    return {f.name for f in dataclasses.fields(page_type)}


def test_every_page_type_renders_its_html_and_json_twin_from_one_object(site: dict):
    from glues_bench.site.pages import PAGE_TYPES, IndexPage

    assert sorted(t.__name__ for t in PAGE_TYPES) == sorted(PAGE_FILES)
    out: Path = site["out"]
    for page_type in PAGE_TYPES:
        where = PAGE_FILES[page_type.__name__]
        htmls = [out / w for w in where] if isinstance(where, list) else sorted((out / where).glob("*.html"))
        assert htmls, f"no {page_type.__name__} written"
        for html_path in htmls:
            html = html_path.read_text(encoding="utf-8")
            twin = json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8"))
            assert f'href="{html_path.with_suffix(".json").name}"' in html  # the page links its twin
            if page_type is IndexPage:  # the index's twin is the document it carries
                assert set(twin) >= {"rows", "tasks", "reference", "last_updated", "harness_version"}
                continue
            assert set(twin) == _field_names(page_type), html_path
            # the HTML shows the same object: its <title> is the twin's title, escaped
            assert f"<title>{html_lib.escape(twin['title'], quote=False)} · glues-bench</title>" in html


def test_committed_leaderboard_is_a_golden_file_for_the_json_contract(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    """`leaderboard --json` on the committed database reproduces the committed index.json byte for byte."""
    import shutil

    repo = Path(__file__).resolve().parents[1]
    # A copy: opening migrates a database to head, which must not rewrite the committed file.
    db = Path(shutil.copy(repo / "leaderboard" / "glues_bench.db", tmp_path / "glues_bench.db"))
    capsys.readouterr()
    assert main(["leaderboard", "--json", "--db", f"sqlite:///{db}"]) == 0
    printed = capsys.readouterr().out
    assert printed == (repo / "leaderboard" / "site" / "index.json").read_text(encoding="utf-8")


# -- a rebuild never harms what is outside the site, and a killed build leaves a usable one -----------


def test_cleanup_never_deletes_through_a_symlink_or_outside_the_site(site: dict, tmp_path: Path):
    out = tmp_path / "s"
    build_site(site["snapshot"], out)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep", encoding="utf-8")
    (outside / "linked.txt").write_text("keep too", encoding="utf-8")
    (out / "evil").symlink_to(outside, target_is_directory=True)
    (out / "tasks" / "evil").symlink_to(outside, target_is_directory=True)
    (out / "stale-link.txt").symlink_to(outside / "linked.txt")
    marker = out / ".glues-bench-site"
    marker.write_text(
        marker.read_text(encoding="utf-8")
        + "evil/precious.txt\ntasks/evil/precious.txt\nstale-link.txt\n"
        + f"{outside / 'precious.txt'}\n../outside/precious.txt\n",
        encoding="utf-8",
    )
    build_site(site["snapshot"], out)
    assert (outside / "precious.txt").read_text(encoding="utf-8") == "keep"
    assert (outside / "linked.txt").read_text(encoding="utf-8") == "keep too"
    assert not (out / "stale-link.txt").is_symlink()  # the stale link itself goes, never its target
    # and nothing is written through a symlinked folder of the site either
    shutil.rmtree(out / "static")
    (out / "static").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SiteError, match="symlink"):
        build_site(site["snapshot"], out)
    assert sorted(p.name for p in outside.iterdir()) == ["linked.txt", "precious.txt"]


_KILL_AFTER = """
import os, signal, sys
from glues_bench.cli import main
from glues_bench.site import build
write, calls, kill_at = build._atomic_write, [0], int(sys.argv[1])
def dying_write(path, data):
    calls[0] += 1
    if calls[0] == kill_at:  # half the file on disk under its temporary name, then SIGKILL
        with open(path.with_name(path.name + build.TEMP_SUFFIX), "wb") as handle:
            handle.write(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    write(path, data)
build._atomic_write = dying_write
sys.exit(main(sys.argv[2:]))
"""


def _complete(folder: Path) -> list[str]:
    """The site's files that are not whole: HTML without its end tag, JSON that does not parse."""
    broken = []
    for path in folder.rglob("*"):
        if not path.is_file() or path.name.endswith(".glues-tmp") or path.name == ".glues-bench-site":
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html" and not text.endswith("</html>\n"):
            broken.append(str(path))
        if path.suffix == ".json":
            try:
                json.loads(text)
            except ValueError:
                broken.append(str(path))
    return broken


def test_a_build_killed_mid_way_leaves_a_site_the_next_build_accepts(site: dict, tmp_path: Path):
    clean = tmp_path / "clean"
    build_site(site["snapshot"], clean)
    expected = _files(clean)
    out = tmp_path / "killed"
    for kill_at in (1, 2, 7, 25):  # 1: while writing the marker; later: pages of a first or a re-build
        args = [str(kill_at), "build-site", "--db", site["db"], "--out", str(out)]
        done = subprocess.run([sys.executable, "-c", _KILL_AFTER, *args], capture_output=True, text=True)
        assert done.returncode == -9, done.stderr
        assert _complete(out) == [], kill_at
        names = {p.name for p in out.iterdir()}  # the marker, or only the one a first build was writing
        assert ".glues-bench-site" in names or names == {".glues-bench-site.glues-tmp"}, (kill_at, names)
    build_site(site["snapshot"], out)  # accepted, finished, and equal to a clean build
    assert _files(out) == expected


def test_efficiency_columns_plot_and_model_section_come_from_the_stored_profiles(
    site: dict, capsys: pytest.CaptureFixture[str]
):
    document = _leaderboard_json(site["db"], capsys)
    assert document["efficiency_device"] == CPU  # two models profiled there, one on the GPU
    rows = {row["name"]: row for row in document["rows"]}
    ours = rows[OURS]["efficiency"]
    assert sorted(ours) == [CPU, "cuda:NVIDIA H200"]  # a second device never overwrites the first
    assert ours[CPU]["examples_per_s"] == pytest.approx(200.0)  # geometric mean of 400 and 100
    assert ours[CPU]["latency_p50_ms"] == pytest.approx(10.0)  # of 5 and 20
    assert ours[CPU]["peak_memory_bytes"] == 301 * 2**20  # the larger task peak
    assert ours["cuda:NVIDIA H200"]["examples_per_s"] == pytest.approx(9000.0)
    assert rows["BETO cased"]["efficiency"] == {}
    table = {r["name"]: r for r in LeaderboardTable.parse((site["out"] / "index.html").read_text("utf-8"))}
    assert (table[OURS]["examples_per_s"], table[OURS]["latency_ms"], table[OURS]["memory"]) == (
        "200.0",
        "10.0",
        "301 MiB",
    )
    assert table[EVIL]["examples_per_s"] == "50.0" and table["BETO cased"]["examples_per_s"] == "—"
    index_html = (site["out"] / "index.html").read_text(encoding="utf-8")
    assert "score_vs_throughput.svg" in index_html and CPU in index_html
    svg = (site["out"] / "score_vs_throughput.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<script" not in svg
    model_html = next(site["out"].glob("models/albeto-tiny-ours-*.html")).read_text(encoding="utf-8")
    assert "On cuda:NVIDIA H200" in model_html and "9000.00" in model_html


@pytest.mark.slow
def test_real_sigkills_during_first_builds_of_a_large_store_leave_resumable_sites(tmp_path: Path):
    """The fault campaign's case: SIGKILL 0.3-2.1 s into a first build of a 4,000-run store."""
    import signal
    import time

    import bench_site

    url = bench_site.make_store(tmp_path / "big.db", 4000, 10, tmp_path / "predictions")
    with open_store(url) as store:
        snapshot = store.snapshot()
    clean = tmp_path / "clean"
    build_site(snapshot, clean)
    expected = _files(clean)
    code = "import sys; from glues_bench.cli import main; sys.exit(main(sys.argv[1:]))"
    for attempt, delay in enumerate((0.3, 0.9, 1.2, 1.5, 1.8, 2.1)):
        out = tmp_path / f"killed{attempt}"
        process = subprocess.Popen([sys.executable, "-c", code, "build-site", "--db", url, "--out", str(out)])
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if out.exists():
            assert _complete(out) == [], delay
        build_site(snapshot, out)  # the next build accepts the folder and finishes it
        assert _files(out) == expected, delay


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("/home/ana/glues/xnli/dev.tsv", "<data-dir>/xnli/dev.tsv"),
        (
            "corpus conll:../shared/data/conll2002/esp.train; 400 steps",
            "corpus conll:<data-dir>/conll2002/esp.train; 400 steps",
        ),
        ("/d/tar/a.json, /d/tar/b.json [first 3]", "<data-dir>/tar/a.json, <data-dir>/tar/b.json [first 3]"),
        ("glues_bench/demo_data/ud/es-ud-dev.conllu", "glues_bench/demo_data/ud/es-ud-dev.conllu"),
        ("conll2002/esp.testa", "conll2002/esp.testa"),
    ],
)
def test_pages_show_data_paths_without_this_machines_folders(stored: str, shown: str) -> None:
    from glues_bench.site.pages import portable

    assert portable(stored) == shown
