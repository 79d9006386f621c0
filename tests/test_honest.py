"""Issue 9 wired end to end: protocol (full / limited), stored baselines and unit statistics, CIs, tie groups,
"at chance", downloads, filters and the compare view (headless Chromium)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from glues_bench.board import leaderboard_from_snapshot
from glues_bench.cli import main
from glues_bench.demo import demo_data_dir
from glues_bench.metrics.units import decode_units, encode_units
from glues_bench.site import build_site
from glues_bench.store import RunKey, Store, open_store
from glues_bench.tasks import TASK_ORDER, get_task
from tests.test_site import REPORTED_FILE, LeaderboardTable, _dump_dom

T0 = datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc)
FULL, SMOKE, SINGLE = "Full model", "Smoke model", "One-seed model"
SMOKE_DETAILS = {"limit": 300, "train_limit": 600, "train_note": "no train split available: trained on dev"}
N_UNITS = 400
FINGERPRINT = "f" * 64


def _run(
    store: Store, model: str, task: str, seed: int, test: float, *, details=None, units=None, lr=5e-5
) -> int:
    resolved = get_task(task).resolve()
    key = RunKey(
        submission=model, checkpoint_sha256="a" * 64, task=task, variant=resolved.variant,
        spec_hash=resolved.spec_hash, data_fingerprint={"dev": "d" * 64, "test": FINGERPRINT},
        hparams={"learning_rate": lr, "batch_size": 16}, seed=seed,
    )  # fmt: skip
    start = T0 + timedelta(minutes=seed)
    run_id = store.start_run(key, spec_version=resolved.spec.version, started_at=start, details=details)
    names = resolved.spec.score_metrics
    metrics = {"dev": dict.fromkeys(names, test), "test": dict.fromkeys(names, test)}
    store.finish_run(run_id, metrics, finished_at=start + timedelta(seconds=90), unit_stats=units)
    return run_id


def _model(store: Store, name: str, params: int) -> None:
    store.upsert_submission(
        name, origin="in-house", family="ALBETO", checkpoint_sha256="a" * 64, params_total=params, now=T0
    )


def _json(db: str, capsys: pytest.CaptureFixture[str], *options: str) -> dict:
    capsys.readouterr()
    assert main(["leaderboard", "--json", "--db", db, *options]) == 0
    return json.loads(capsys.readouterr().out)


# -- protocol ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def protocol_store(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("protocol")
    db = f"sqlite:///{root / 'results.db'}"
    with open_store(db) as store:
        store.import_reported(REPORTED_FILE, now=T0)
        _model(store, FULL, 5_000_000)
        _model(store, SMOKE, 12_000_000)
        _model(store, SINGLE, 200_000_000)
        for task in TASK_ORDER:
            for seed in (1, 2):
                _run(store, FULL, task, seed, 60.0 + seed)
            _run(store, SMOKE, task, 1, 90.0, details=SMOKE_DETAILS)
            _run(store, SINGLE, task, 1, 50.0)
    return {"root": root, "db": db}


def test_default_board_ranks_only_full_results_and_lists_limited_ones_with_reasons(protocol_store, capsys):
    document = _json(protocol_store["db"], capsys)
    ranked = {row["name"]: row for row in document["rows"]}
    assert FULL in ranked and SMOKE not in ranked and SINGLE not in ranked
    assert ranked[FULL]["protocol"] == "full" and isinstance(ranked[FULL]["rank"], int)
    assert "limited_reasons" not in ranked[FULL]
    limited = {row["name"]: row for row in document["limited_rows"]}
    assert set(limited) == {SMOKE, SINGLE}
    assert all(row["rank"] is None and row["protocol"] == "limited" for row in limited.values())
    assert limited[SMOKE]["limited_reasons"] == [
        "limit: first 300 examples of each split",
        "train cap: 600 training examples",
        "dev split used for training",
        "one seed",
    ]
    assert limited[SINGLE]["limited_reasons"] == ["one seed"]
    cell = limited[SMOKE]["tasks"]["xnli"]
    assert cell["protocol"] == "limited" and "one seed" in cell["limited_reasons"]
    # The smoke model's 90.00 would top every column: ranked by default it would be first.
    assert document["include_limited"] is False


def test_include_limited_ranks_both_with_their_badges(protocol_store, capsys):
    document = _json(protocol_store["db"], capsys, "--include-limited")
    ranked = {row["name"]: row for row in document["rows"]}
    assert {FULL, SMOKE, SINGLE} <= set(ranked) and document["limited_rows"] == []
    assert ranked[SMOKE]["rank"] == 1 and ranked[SMOKE]["protocol"] == "limited"
    assert ranked[FULL]["rank"] < ranked[SINGLE]["rank"]


def test_limited_badge_and_section_in_the_html(protocol_store, tmp_path: Path):
    with open_store(protocol_store["db"]) as store:
        snapshot = store.snapshot()
    build_site(snapshot, tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    main_rows = LeaderboardTable.parse(html)
    limited_rows = LeaderboardTable.parse(html, "limited")
    assert FULL in [r["name"] for r in main_rows]
    assert SMOKE not in [r["name"] for r in main_rows]
    smoke = next(r for r in limited_rows if r["name"] == SMOKE)
    assert smoke["name:badge"] == "limited" and "limited" in smoke["class"] and smoke["rank"] == ""
    assert 'title="limited: limit: first 300 examples of each split; train cap: 600 training examples' in html
    mixed = tmp_path / "mixed"
    build_site(snapshot, mixed, include_limited=True)
    rows = LeaderboardTable.parse((mixed / "index.html").read_text(encoding="utf-8"))
    smoke = next(r for r in rows if r["name"] == SMOKE)
    assert smoke["rank"] == "1" and smoke["name:badge"] == "limited"


# -- unit statistics, CIs, ties, at chance ----------------------------------------------------------


def _units(correct: np.ndarray) -> dict:
    values = np.column_stack([correct.astype(float), np.ones(correct.size)])
    return {"test": ("classification", correct.size, encode_units(values))}


@pytest.fixture(scope="module")
def ci_store(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """XNLI cells (2 seeds each) with known per-pair correctness on N_UNITS synthetic pairs."""
    root = tmp_path_factory.mktemp("ci")
    db = f"sqlite:///{root / 'results.db'}"
    rng = np.random.default_rng(7)
    perfect = np.ones(N_UNITS, dtype=bool)
    seventy = rng.random(N_UNITS) < 0.7
    third = np.arange(N_UNITS) % 3 == 0
    cells = {
        "perfect": (perfect, perfect),
        "perfect twin": (perfect, perfect),
        "always wrong": (~perfect, ~perfect),
        "seventy": (seventy, seventy),
        "chance": (third, third),
        "old": (None, None),  # stored before unit statistics existed
    }
    with open_store(db) as store:
        for name, seeds in cells.items():
            _model(store, name, 10_000_000)
            for seed, correct in enumerate(seeds, start=1):
                score = 100.0 * correct.mean() if correct is not None else 55.0
                units = _units(correct) if correct is not None else None
                _run(store, name, "xnli", seed, score, units=units)
        task = get_task("xnli").resolve()
        store.put_baseline(
            task="xnli", variant=task.variant, spec_hash=task.spec_hash, test_fingerprint=FINGERPRINT,
            kind="majority_class", fitted_on="dev", note="majority class", test_source="test.tsv",
            metrics={"accuracy": 100.0 * third.mean()}, unit_kind="classification", n_units=N_UNITS,
            units=_units(third)["test"][2],
        )  # fmt: skip
        snapshot = store.snapshot()
    return {"db": db, "snapshot": snapshot, "seventy": seventy}


def test_units_round_trip_through_the_store(ci_store):
    stored = ci_store["snapshot"].unit_stats
    assert len(stored) == 10 and {u.split for u in stored} == {"test"}
    values = decode_units(stored[0].data)
    assert values.shape == (N_UNITS, 2) and values.dtype == np.float64


def test_cells_get_cis_ties_and_at_chance_from_stored_units(ci_store, capsys):
    document = _json(ci_store["db"], capsys)
    cells = {row["name"]: row["tasks"]["xnli"] for row in document["rows"] if row["origin"] != "baseline"}
    assert cells["perfect"]["ci95"] == [100.0, 100.0]
    for name, cell in cells.items():
        if cell["ci95"] is not None:
            assert cell["ci95"][0] <= cell["score"] <= cell["ci95"][1], name
            assert cell["n_seeds"] == 2
    assert cells["perfect twin"]["tied_with_best"] is True and cells["perfect"]["tied_with_best"] is True
    assert cells["always wrong"]["tied_with_best"] is False and cells["seventy"]["tied_with_best"] is False
    assert cells["chance"]["at_chance"] is True and cells["perfect"]["at_chance"] is False
    assert cells["old"]["ci95"] is None and cells["old"]["ci_note"] == "no CI: run predates unit statistics"
    assert cells["old"]["tied_with_best"] is None and cells["old"]["at_chance"] is None
    baseline = next(row for row in document["rows"] if row["origin"] == "baseline")
    assert baseline["rank"] is None
    assert baseline["tasks"]["xnli"]["score"] == pytest.approx(100.0 * 134 / N_UNITS)


def test_ci_width_matches_the_binomial_interval_and_rebuilds_are_identical(ci_store, capsys):
    first, second = _json(ci_store["db"], capsys), _json(ci_store["db"], capsys)
    assert first == second
    cell = next(row for row in first["rows"] if row["name"] == "seventy")["tasks"]["xnli"]
    p = ci_store["seventy"].mean()
    analytic = 2 * 1.959964 * math.sqrt(p * (1 - p) / N_UNITS) * 100
    width = cell["ci95"][1] - cell["ci95"][0]
    # Two seeds with the same predictions: the seed mean's CI is that of one seed.
    assert abs(width - analytic) / analytic < 0.10, (width, analytic)


def test_cli_table_marks_ties_and_chance(ci_store, capsys):
    capsys.readouterr()
    assert main(["leaderboard", "--db", ci_store["db"]]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "perfect twin" in line)
    assert "100.00 ± 0.00 ≈" in line
    assert "33.50 ± 0.00 !" in next(line for line in out.splitlines() if "│ chance " in line)


def test_baselines_command_stores_hand_computable_baselines(tmp_path: Path, shared_data: Path, capsys):
    db = f"sqlite:///{tmp_path / 'b.db'}"
    assert main(["baselines", "--tasks", "xnli,ner", "--data-dir", str(shared_data), "--db", db]) == 0
    assert main(["baselines", "--tasks", "xnli", "--data-dir", str(shared_data), "--db", db]) == 0
    assert "xnli: unchanged" in capsys.readouterr().out
    with open_store(db) as store:
        snapshot = store.snapshot()
    assert len(snapshot.baselines) == 2
    board = leaderboard_from_snapshot(snapshot)
    assert board.baseline is not None and board.baseline.origin == "baseline"
    # XNLI test: the dev majority label's share of the test labels, counted here from the raw file.
    dev = [line.split("\t")[0] for line in (shared_data / "xnli" / "dev.tsv").read_text().splitlines()]
    test = [line.split("\t")[0] for line in (shared_data / "xnli" / "test.tsv").read_text().splitlines()]
    majority = Counter(dev).most_common(1)[0][0]
    expected = 100.0 * sum(label == majority for label in test) / len(test)
    assert board.baseline.tasks["xnli"].score == pytest.approx(expected)
    assert round(expected, 2) == 33.33
    assert board.baseline.tasks["ner"].score == 0.0


# -- the runner stores what the board needs ---------------------------------------------------------


def test_run_stores_unit_statistics_and_the_tasks_baseline(tmp_path: Path, monkeypatch):
    from glues_bench.runner import RunOptions, run_benchmark
    from glues_bench.train.finetune import FinetuneResult

    def half_right(task, model_ref, train, dev, hparams, seed, *, device, test, progress):
        def predict(data):
            rows = data.select_columns(["id", "label"]).to_dict()
            other = {"0": "1", "1": "0"}
            return {
                str(i): label if n % 2 == 0 else other[label]
                for n, (i, label) in enumerate(zip(rows["id"], rows["label"], strict=True))
            }

        return FinetuneResult(
            dev_predictions=predict(dev), test_predictions=predict(test), train_loss=[1.0], epoch_loss=[1.0],
            n_train_steps=1, n_train_examples=len(train), n_train_features=len(train), seconds=0.1,
            predict_seconds=0.1, device="cpu", max_seq_length=8,
        )  # fmt: skip

    class Submission:
        name, weights_sha256, large = "fake", "c" * 64, False

        def store_fields(self):
            return {"name": self.name, "origin": "external", "checkpoint_sha256": self.weights_sha256}

        def model_ref(self):
            return None

    monkeypatch.setattr("glues_bench.submissions.verify_weights", lambda submission: None)
    db = tmp_path / "r.db"
    store = open_store(f"sqlite:///{db}")
    options = RunOptions(
        data_dir=demo_data_dir(), progress=False, artifacts_dir=tmp_path / "predictions", threads=1
    )
    run_benchmark(
        store, [Submission()], [get_task("pawsx")], options, finetune_fn=half_right, echo=lambda _: None
    )
    snapshot = store.snapshot()
    store.close()
    run = snapshot.runs[0]
    stored = {u.split: u for u in snapshot.unit_stats if u.run_id == run.id}
    assert set(stored) == {"dev", "test"}
    test_units = decode_units(stored["test"].data)
    assert 100.0 * test_units[:, 0].sum() / test_units[:, 1].sum() == pytest.approx(
        run.metrics["test"]["accuracy"]
    )
    # The baseline: the train split's majority label, scored on the same test pairs (counted here).
    demo = demo_data_dir() / "pawsx"
    train = list(csv.DictReader(io.StringIO((demo / "translated_train.tsv").read_text()), delimiter="\t"))
    test = list(csv.DictReader(io.StringIO((demo / "test_2k.tsv").read_text()), delimiter="\t"))
    majority = Counter(r["label"] for r in train).most_common(1)[0][0]
    (baseline,) = snapshot.baselines
    assert baseline.test_fingerprint == run.data_fingerprint["test"]
    expected = 100.0 * sum(r["label"] == majority for r in test) / len(test)
    assert baseline.metrics["accuracy"] == pytest.approx(expected)
    board = leaderboard_from_snapshot(snapshot, include_limited=True)
    cell = next(r for r in board.rows if r.name == "fake").tasks["pawsx"]
    assert cell.ci95 is not None and cell.ci95[0] <= cell.score <= cell.ci95[1]


# -- the site: downloads, filters, compare, EVP ----------------------------------------------------


@pytest.fixture(scope="module")
def explore_site(protocol_store, tmp_path_factory) -> dict:
    with open_store(protocol_store["db"]) as store:
        # A second config for the full model on NER, so its model page has an EVP curve.
        for seed in (1, 2):
            _run(store, FULL, "ner", seed, 40.0 + seed, lr=1e-5)
        snapshot = store.snapshot()
    out = tmp_path_factory.mktemp("explore") / "site"
    build_site(snapshot, out)
    return {"out": out, "db": protocol_store["db"], "snapshot": snapshot}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _text(value) -> str:
    """The test's own CSV text of a JSON value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def test_the_csv_link_downloads_the_leaderboard_json_rows(explore_site, capsys):
    dom = _dump_dom(explore_site["out"] / "index.html")
    href = dom.split('class="download-csv"')[0].rsplit('href="', 1)[1].split('"')[0]
    rows = _csv_rows(explore_site["out"] / href)
    document = _json(explore_site["db"], capsys)
    assert [r["name"] for r in rows] == [r["name"] for r in document["rows"]]
    for shown, row in zip(rows, document["rows"], strict=True):
        for key in ("rank", "origin", "protocol", "params", "average", "size_ratio", "n_tasks"):
            assert shown[key] == _text(row[key]), key
        for task in TASK_ORDER:
            cell = row["tasks"][task] or {}
            assert shown[f"{task}.score"] == _text(cell.get("score")), (row["name"], task)
            assert shown[f"{task}.sd"] == _text(cell.get("sd"))
    limited = json.loads((explore_site["out"] / "index.limited.json").read_text(encoding="utf-8"))
    name = limited["columns"].index("name")  # the shape of every JSON table of the site: columns, rows
    assert [r[name] for r in limited["rows"]] == [r["name"] for r in document["limited_rows"]]


def test_filters_hide_rows(explore_site):
    everything = LeaderboardTable.parse(_dump_dom(explore_site["out"] / "index.html"))
    assert all(r["hidden"] == "False" for r in everything)
    dom = _dump_dom(explore_site["out"] / "index.html", "origin=in-house")
    shown = [r["name"] for r in LeaderboardTable.parse(dom) if r["hidden"] == "False"]
    assert shown == [FULL]
    dom = _dump_dom(explore_site["out"] / "index.html", "q=albeto%20t")
    shown = [r["name"] for r in LeaderboardTable.parse(dom) if r["hidden"] == "False"]
    assert shown == ["ALBETO tiny"]
    dom = _dump_dom(explore_site["out"] / "index.html", "min=50&max=150")  # millions of parameters
    shown = {r["name"] for r in LeaderboardTable.parse(dom) if r["hidden"] == "False"}
    limited = {r["name"] for r in LeaderboardTable.parse(dom, "limited") if r["hidden"] == "False"}
    assert shown == {"ALBETO xlarge", "BETO cased", "BETO uncased", "DistilBETO"} and limited == set()


def test_compare_view_shows_the_chosen_models(explore_site):
    dom = _dump_dom(explore_site["out"] / "index.html", "compare=BETO%20cased|Full%20model|Smoke%20model")
    section = dom.split('<section id="compare"', 1)[1].split("</section>", 1)[0]
    assert "hidden" not in section.split(">", 1)[0]
    headers = [part.split("</th>")[0] for part in section.split('class="compare-model">')[1:]]
    assert headers == ["BETO cased", "Full model", "Smoke model"]
    bare = re.sub(r' title="[^"]*"', "", section)
    # BETO cased's printed XNLI, the full model's mean ± sd over seeds 61 and 62, the smoke model's 90.
    assert '<th scope="row">XNLI accuracy</th><td>81.98</td><td>61.50 ± 0.71</td><td>90.00</td>' in bare
    one = _dump_dom(explore_site["out"] / "index.html", "compare=BETO%20cased")
    assert "Tick 2 to 4 models to compare (1 ticked)." in one


def test_model_page_shows_the_expected_validation_performance(explore_site):
    from glues_bench.site.pages import model_href

    html = (explore_site["out"] / model_href(FULL)).read_text(encoding="utf-8")
    assert "NER: expected validation performance" in html
    table = html.split('<table class="evp">', 1)[1].split("</table>", 1)[0]
    # Two configs, dev means 61.5 (seeds 61, 62: lr 5e-5) and 41.5: E[best of 1] is their mean, E[best
    # of 2] = 41.5·1/4 + 61.5·3/4; the test score follows dev here (same numbers).
    assert "<td>1</td><td>51.50 ± 10.00 / 51.50</td>" in table
    assert "<td>2</td><td>56.50 ± 8.66 / 56.50</td>" in table


def test_no_machine_paths_and_human_times(tmp_path: Path):
    data_dir = tmp_path / "somewhere" / "data"
    checkpoint = tmp_path / "machine" / "ckpts" / "my-model"  # register records a checkpoint outside the repo
    db = f"sqlite:///{tmp_path / 'p.db'}"
    with open_store(db) as store:
        _model(store, FULL, 5_000_000)
        store.upsert_submission(
            FULL, origin="in-house", family="ALBETO", checkpoint_sha256="a" * 64, params_total=5_000_000,
            checkpoint_path=str(checkpoint), manifest={"name": FULL, "checkpoint": str(checkpoint)}, now=T0,
        )  # fmt: skip
        sources = {"train": f"{data_dir}/xnli/dev.tsv [:1992]", "test": f"{data_dir}/xnli/test.tsv"}
        run_id = _run(store, FULL, "xnli", 1, 50.0, details={"data_sources": sources, "train_note": "x"})
        snapshot = store.snapshot()
    build_site(snapshot, tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "2025-01-02 03:06 UTC" in index  # the newest finished run, for people
    for page in [*(tmp_path / "site").rglob("*.html"), *(tmp_path / "site").rglob("*.json")]:
        text = page.read_text(encoding="utf-8")
        assert str(data_dir) not in text and str(tmp_path) not in text, page
    from glues_bench.site.pages import runs_page_path

    runs_page = (tmp_path / "site" / runs_page_path(FULL)).read_text(encoding="utf-8")
    assert f'id="run-{run_id}"' in runs_page and '<td data-sort="90.0">1 min 30 s</td>' in runs_page
    twin = (tmp_path / "site" / runs_page_path(FULL)).with_suffix(".json").read_text(encoding="utf-8")
    assert "<data-dir>/xnli/dev.tsv [:1992]" in twin
    model_page = next((tmp_path / "site" / "models").glob("*.html")).read_text(encoding="utf-8")
    assert model_page.count("…/ckpts/my-model") == 2  # the record's folder and the manifest's, both cut


def test_backfill_recomputes_unit_statistics_from_stored_predictions(tmp_path: Path, capsys):
    from glues_bench.data import load_split

    task = get_task("pawsx").resolve()
    test = load_split(task, "test", demo_data_dir())
    labels = test.dataset.select_columns(["id", "label"]).to_dict()
    predictions = tmp_path / "test.predictions.json"
    predictions.write_text(json.dumps(dict.fromkeys(map(str, labels["id"]), "1")), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'old.db'}"
    with open_store(db) as store:
        _model(store, FULL, 5_000_000)
        key = RunKey(
            submission=FULL, checkpoint_sha256="a" * 64, task="pawsx", variant=task.variant,
            spec_hash=task.spec_hash, data_fingerprint={"test": test.fingerprint}, hparams={"lr": 1.0},
            seed=1,
        )  # fmt: skip
        run_id = store.start_run(key, spec_version=task.spec.version, started_at=T0)
        store.finish_run(run_id, {"test": {"accuracy": 50.0}}, {"test": predictions}, finished_at=T0)
        assert store.snapshot().unit_stats == ()
    capsys.readouterr()
    assert main(["backfill-units", "--db", db, "--data-dir", str(demo_data_dir())]) == 0
    assert "1 stored, 0 already there, 0 skipped" in capsys.readouterr().out
    with open_store(db) as store:
        (stored,) = store.snapshot().unit_stats
    values = decode_units(stored.data)
    assert (stored.run_id, stored.split, stored.n_units) == (run_id, "test", len(labels["id"]))
    assert values[:, 0].sum() == sum(label == "1" for label in labels["label"])  # counted here
    assert main(["backfill-units", "--db", db, "--data-dir", str(demo_data_dir())]) == 0
    assert "0 stored, 1 already there" in capsys.readouterr().out
    # A predictions file changed since it was stored is named and skipped, never silently rescored.
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    with open_store(fresh) as store:
        _model(store, FULL, 5_000_000)
        run_id = store.start_run(key, spec_version=task.spec.version, started_at=T0)
        store.finish_run(run_id, {"test": {"accuracy": 50.0}}, {"test": predictions}, finished_at=T0)
    predictions.write_text(json.dumps(dict.fromkeys(map(str, labels["id"]), "0")), encoding="utf-8")
    assert main(["backfill-units", "--db", fresh, "--data-dir", str(demo_data_dir())]) == 0
    out = capsys.readouterr().out
    assert "0 stored, 0 already there, 1 skipped" in out and "sha256 differs" in out


def test_a_redone_run_keeps_only_its_new_unit_statistics(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'redo.db'}"
    with open_store(db) as store:
        _model(store, FULL, 5_000_000)
        first = _units(np.ones(10, dtype=bool))
        run_id = _run(store, FULL, "xnli", 1, 100.0, units=first)
        task = get_task("xnli").resolve()
        key = store.get_run(run_id)
        again = store.start_run(
            RunKey(
                FULL, "a" * 64, "xnli", task.variant, task.spec_hash, key.data_fingerprint, key.hparams, 1
            ),
            spec_version=task.spec.version,
            redo=True,
        )
        assert again == run_id
        store.finish_run(run_id, {"test": {"accuracy": 0.0}}, unit_stats=_units(np.zeros(10, dtype=bool)))
        (stored,) = store.snapshot().unit_stats
    assert decode_units(stored.data)[:, 0].sum() == 0
