"""Aggregation: task scores, dev-based selection, mean ± sd over seeds, averages, ratios, ranking."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from glues_bench.board import (
    ModelEntry,
    RunScores,
    TaskResult,
    build_leaderboard,
    counted_runs,
    fmt2,
    format_cell,
    leaderboard_from_snapshot,
    model_average,
    pareto_front,
    performance_ratio,
    reported_task_result,
    select_config,
    select_task_result,
    size_ratio,
    summarize,
    task_score,
)
from glues_bench.store.records import RunRecord, Snapshot, SubmissionRecord
from glues_bench.tasks import TASK_ORDER, get_task

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def run(
    run_id: int, config: str, seed: int, dev: float | None, test: float | None, metric: str = "f1"
) -> RunScores:
    return RunScores(
        run_id=run_id,
        config_key=config,
        hparams={"lr": config},
        seed=seed,
        dev={metric: dev} if dev is not None else {},
        test={metric: test} if test is not None else {},
    )


def fixed(task: str, score: float | None) -> TaskResult:
    return TaskResult(task, "measured", score, None, 1, {}, {}, ("f1",))


def entry(name: str, scores: dict[str, float | None], params: int | None = None, origin: str = "in-house"):
    return ModelEntry(name, None, origin, params, None, {t: fixed(t, s) for t, s in scores.items()})


def all_tasks_at(value: float) -> dict[str, float | None]:
    return dict.fromkeys(TASK_ORDER, value)


# -- task scores --------------------------------------------------------------------------------------


def test_qa_task_score_is_mean_of_f1_and_exact_match():
    assert task_score(("f1", "exact_match"), {"f1": 70.17, "exact_match": 45.99}) == pytest.approx(58.08)
    assert task_score(("f1", "exact_match"), {"f1": 70.17}) is None


def test_summarize_uses_the_sample_standard_deviation():
    stat = summarize([1.0, 2.0, 4.0])
    assert stat.mean == pytest.approx(7 / 3)
    # sum of squared deviations = 14/3; ddof=1 → variance 7/3
    assert stat.sd == pytest.approx(math.sqrt(7 / 3))
    assert summarize([5.0]).sd is None


# -- selection ----------------------------------------------------------------------------------------


def test_dev_selection_picks_best_dev_config_even_when_another_is_better_on_test():
    runs = [
        run(1, "A", 1, dev=80.0, test=70.0),
        run(2, "A", 2, dev=82.0, test=72.0),
        run(3, "B", 1, dev=79.0, test=90.0),
        run(4, "B", 2, dev=80.0, test=91.0),
    ]
    result = select_task_result("ner", ("f1",), runs)
    assert result is not None
    assert result.config_key == "A"
    assert result.dev_score == pytest.approx(81.0)
    assert result.score == pytest.approx(71.0)
    assert result.sd == pytest.approx(math.sqrt(2))
    assert result.n_seeds == 2
    assert result.run_ids == (1, 2)
    assert {c.config_key for c in result.configs} == {"A", "B"}


def test_one_seed_has_no_standard_deviation():
    result = select_task_result("ner", ("f1",), [run(1, "A", 1, dev=80.0, test=75.5)])
    assert result is not None
    assert (result.score, result.sd, result.n_seeds) == (75.5, None, 1)
    assert format_cell(result) == "75.50"


def test_selection_never_falls_back_to_a_config_that_only_looks_good_on_test():
    # The best-dev config has not been test-scored yet: the task is pending, not filled from config B.
    runs = [run(1, "A", 1, dev=85.0, test=None), run(2, "B", 1, dev=80.0, test=95.0)]
    result = select_task_result("ner", ("f1",), runs)
    assert result is not None
    assert result.config_key == "A"
    assert result.score is None
    assert format_cell(result) == "pending"


def test_dev_only_search_run_and_test_scored_rerun_of_one_seed_count_once():
    runs = [run(1, "A", 1, dev=80.0, test=None), run(2, "A", 1, dev=80.0, test=77.0)]
    result = select_task_result("ner", ("f1",), runs)
    assert result is not None
    assert (result.score, result.n_seeds, result.sd) == (77.0, 1, None)


def test_tied_dev_scores_prefer_more_seeds_then_the_smaller_key():
    configs = [
        select_task_result("ner", ("f1",), [run(1, "B", 1, 80.0, 1.0)]).configs[0],
        select_task_result("ner", ("f1",), [run(2, "C", 1, 80.0, 1.0), run(3, "C", 2, 80.0, 1.0)]).configs[0],
        select_task_result("ner", ("f1",), [run(4, "A", 1, 80.0, 1.0)]).configs[0],
    ]
    assert select_config(configs).config_key == "C"
    assert select_config([configs[0], configs[2]]).config_key == "A"


def test_qa_selection_reports_f1_and_em_separately_and_their_mean():
    runs = [
        RunScores(1, "A", {}, 1, {"f1": 70.0, "exact_match": 50.0}, {"f1": 68.0, "exact_match": 44.0}),
        RunScores(2, "A", {}, 2, {"f1": 72.0, "exact_match": 52.0}, {"f1": 70.0, "exact_match": 46.0}),
    ]
    result = select_task_result("mlqa", ("f1", "exact_match"), runs)
    assert result.metrics == {"exact_match": pytest.approx(45.0), "f1": pytest.approx(69.0)}
    assert result.score == pytest.approx(57.0)
    assert result.sd == pytest.approx(math.sqrt(2))  # task scores 56 and 58
    assert format_cell(result) == "69.00 / 45.00 ± 1.41"


def test_no_dev_score_means_no_result():
    assert select_task_result("ner", ("f1",), [run(1, "A", 1, dev=None, test=80.0)]) is None


# -- reported numbers ---------------------------------------------------------------------------------


def test_reported_pos_f1_is_the_score_when_the_paper_prints_no_accuracy():
    result = reported_task_result(get_task("pos"), {"f1": 97.70})
    assert (result.score, result.score_metrics, result.source) == (97.70, ("f1",), "reported")
    both = reported_task_result(get_task("pos"), {"f1": 90.0, "accuracy": 97.0})
    assert (both.score, both.score_metrics) == (97.0, ("accuracy",))
    qa = reported_task_result(get_task("sqac"), {"f1": 81.49, "exact_match": 62.67})
    assert qa.score == pytest.approx(72.08)


# -- the board ----------------------------------------------------------------------------------------


def test_incomplete_model_gets_no_average_rank_or_performance_ratio():
    complete = entry("full", all_tasks_at(80.0), params=100)
    partial = entry("partial", {t: 99.0 for t in TASK_ORDER[:7]}, params=50)
    board = build_leaderboard([partial, complete], reference="full")
    first, second = board.rows
    assert (first.name, first.rank, first.average, first.complete) == ("full", 1, 80.0, True)
    assert (second.name, second.rank, second.average, second.n_tasks) == ("partial", None, None, 7)
    assert second.performance_ratio is None
    assert second.size_ratio == 2.0


def test_pending_task_does_not_count_toward_the_average():
    scores = all_tasks_at(80.0)
    scores["xnli"] = None
    assert model_average(entry("m", scores).tasks) is None
    assert model_average(entry("m", all_tasks_at(80.0)).tasks) == 80.0


def test_average_is_equal_weight_over_the_eight_tasks():
    scores = dict(zip(TASK_ORDER, [90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0], strict=True))
    assert model_average(entry("m", scores).tasks) == pytest.approx(55.0)


def test_ranks_share_ties_and_ratios_use_the_reference():
    models = [
        entry("ref", all_tasks_at(80.0), params=110),
        entry("small", all_tasks_at(72.0), params=5),
        entry("twin", all_tasks_at(80.0), params=220),
    ]
    board = build_leaderboard(models, reference="ref")
    assert [(r.name, r.rank) for r in board.rows] == [("ref", 1), ("twin", 1), ("small", 3)]
    small = board.rows[2]
    assert small.size_ratio == pytest.approx(22.0)
    assert small.performance_ratio == pytest.approx(0.9)
    assert board.rows[1].size_ratio == pytest.approx(0.5)


def test_unknown_reference_leaves_ratios_empty():
    board = build_leaderboard([entry("a", all_tasks_at(80.0), params=10)], reference="nobody")
    assert (board.rows[0].size_ratio, board.rows[0].performance_ratio) == (None, None)
    assert size_ratio(110, None) is None and performance_ratio(None, 80.0) is None


def test_pareto_front_keeps_models_no_smaller_model_beats():
    points = [(5, 70.0), (12, 79.0), (18, 78.0), (110, 81.0), (110, 77.0), (223, 81.0)]
    assert pareto_front(points) == [True, True, False, True, False, False]


def test_fmt2_rounds_and_marks_missing():
    assert (fmt2(0.9793), fmt2(None), fmt2(float("nan"))) == ("0.98", "—", "—")


# -- which runs count ---------------------------------------------------------------------------------


def _submission(name: str, sha: str | None = "c" * 64) -> SubmissionRecord:
    return SubmissionRecord(
        1, name, None, "in-house", None, None, None, sha, None, None, None, None, None, None, T0, T0
    )


def _record(run_id: int, **overrides) -> RunRecord:
    resolved = get_task("ner").resolve()
    fields = {
        "id": run_id, "submission": "m", "checkpoint_sha256": "c" * 64, "task": "ner",
        "variant": resolved.variant, "spec_version": 1, "spec_hash": resolved.spec_hash,
        "data_fingerprint": {"dev": "d"}, "data_fingerprint_hash": "e" * 64, "hparams": {"lr": 1},
        "hparams_hash": "h1", "seed": run_id, "status": "done", "error": None,
        "attempt": 1, "started_at": T0, "finished_at": T0, "duration_s": 1.0, "durations": None,
        "library_versions": None, "harness_version": None, "harness_git_sha": None, "device": None,
        "host": None, "pid": None, "selection_rule": None, "details": None,
        "metrics": {"dev": {"f1": 80.0}, "test": {"f1": 70.0 + run_id}},
    }  # fmt: skip
    fields.update(overrides)
    return RunRecord(**fields)


def test_only_done_runs_of_the_default_variant_current_spec_and_checkpoint_count():
    runs = (
        _record(1),
        _record(2),
        _record(3, status="failed"),
        _record(4, spec_hash="0" * 64),
        _record(5, checkpoint_sha256="d" * 64),
        _record(6, status="running", metrics={}),
    )
    snapshot = Snapshot(submissions=(_submission("m"),), runs=runs, reported=())
    assert [
        r.id for r in counted_runs(snapshot.runs, snapshot.submissions[0], get_task("ner").resolve())
    ] == [1, 2]
    row = leaderboard_from_snapshot(snapshot).rows[0]
    assert row.tasks["ner"].score == pytest.approx(71.5)  # runs 1 and 2 score 71 and 72 on test
    assert row.tasks["ner"].run_ids == (1, 2)
    assert (row.n_tasks, row.average) == (1, None)
