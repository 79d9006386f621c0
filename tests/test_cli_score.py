"""`glues-bench score`, run in-process: gold-as-predictions on every real file, baselines, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from glues_bench.cli import main
from glues_bench.data import read_gold_file
from glues_bench.metrics.tagging import entity_scores, token_accuracy
from glues_bench.tasks import get_task


def _score(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["score", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _score_json(capsys: pytest.CaptureFixture[str], *args: str | Path) -> dict[str, Any]:
    code, out, err = _score(capsys, *args, "--json")
    assert code == 0, err
    assert err == ""
    return json.loads(out)  # exactly one JSON document, nothing else on stdout


def _gold_as_predictions(task_name: str, gold_file: Path, variant: str | None) -> dict[str, Any]:
    gold = read_gold_file(get_task(task_name).resolve(variant), gold_file)
    if "answers" in gold.column_names:
        # TAR dev has empty gold answers (even first ones); the max over golds makes any non-empty one right.
        return {row["id"]: next((a for a in row["answers"]["text"] if a), "") for row in gold}
    column = "tags" if "tags" in gold.column_names else "label"
    return {example_id: value for example_id, value in zip(gold["id"], gold[column], strict=True)}


def _write(path: Path, payload: object) -> Path:
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return path


REAL_FILES = [
    # task, variant, file under shared/data, examples (SOURCES.md), expected metrics
    ("ner", None, "conll2002/esp.testa", 1915, {"f1": 100, "precision": 100, "recall": 100, "accuracy": 100}),
    ("ner", None, "conll2002/esp.testb", 1517, {"f1": 100, "precision": 100, "recall": 100, "accuracy": 100}),
    ("ner", None, "conll2002/esp.train", 8323, {"f1": 100, "precision": 100, "recall": 100, "accuracy": 100}),
    ("pos", None, "ud/UD_Spanish-GSD_r1.4/es-ud-dev.conllu", 1552, {"accuracy": 100, "f1": 100}),
    ("pos", None, "ud/UD_Spanish-GSD_r1.4/es-ud-test.conllu", 274, {"accuracy": 100, "f1": 100}),
    (
        "pos",
        "ancora",
        "ud/UD_Spanish-AnCora_r2.2/es_ancora-ud-test.conllu",
        1721,
        {"accuracy": 100, "f1": 100},
    ),
    ("xquad", None, "xquad/xquad.es.json", 1190, {"f1": 100, "exact_match": 100}),
    ("xquad", None, "tar/dev-v1.1-es_small.json", 6583, {"f1": 100, "exact_match": 100}),
    # One MLQA dev answer is just "una": the official Spanish F1 of "" against "" is 0, EM is 1.
    ("mlqa", None, "mlqa/mlqa-r_dev-context-es-question-es.json", 500, {"f1": 99.8, "exact_match": 100}),
    ("mlqa", "squad-en", "mlqa/mlqa-r_dev-context-es-question-es.json", 500, {"f1": 100, "exact_match": 100}),
    ("xnli", None, "xnli/dev.tsv", 2490, {"accuracy": 100}),
    ("xnli", None, "xnli/test.tsv", 5010, {"accuracy": 100}),
    ("pawsx", None, "pawsx/dev_2k.tsv", 2000, {"accuracy": 100}),
    ("pawsx", None, "pawsx/test_2k.tsv", 2000, {"accuracy": 100}),
]


@pytest.mark.shared_data
@pytest.mark.parametrize("task_name,variant,relative,n_examples,expected", REAL_FILES)
def test_gold_as_predictions_scores_perfectly(
    capsys: pytest.CaptureFixture[str],
    shared_data: Path,
    tmp_path: Path,
    task_name: str,
    variant: str | None,
    relative: str,
    n_examples: int,
    expected: dict[str, float],
) -> None:
    gold_file = shared_data / relative
    predictions = _write(tmp_path / "pred.json", _gold_as_predictions(task_name, gold_file, variant))
    args: list[str | Path] = [task_name, gold_file, predictions]
    if variant:
        args += ["--variant", variant]
    result = _score_json(capsys, *args)
    spec = get_task(task_name)
    assert result["task"] == task_name
    assert result["variant"] == (variant or spec.default_variant)
    assert (result["n_examples"], result["n_missing"]) == (n_examples, 0)
    assert result["metrics"] == pytest.approx(expected)
    assert list(result["metrics"]) == list(spec.metrics)
    assert result["score"] == pytest.approx(
        sum(expected[m] for m in spec.score_metrics) / len(spec.score_metrics)
    )


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "task_name,relative,constant,accuracy",
    [
        ("xnli", "xnli/dev.tsv", "entailment", 100 * 830 / 2490),  # 830 per label (SOURCES.md)
        ("pawsx", "pawsx/dev_2k.tsv", "1", 100 * 847 / 2000),  # 847 paraphrases
        ("pawsx", "pawsx/test_2k.tsv", "1", 100 * 907 / 2000),  # 907 paraphrases
    ],
)
def test_constant_baseline_accuracy(
    capsys: pytest.CaptureFixture[str], shared_data: Path, tmp_path: Path, task_name: str, relative: str,
    constant: str, accuracy: float,
) -> None:  # fmt: skip
    gold = read_gold_file(get_task(task_name).resolve(), shared_data / relative)
    predictions = _write(tmp_path / "pred.json", dict.fromkeys(gold["id"], constant))
    result = _score_json(capsys, task_name, shared_data / relative, predictions)
    assert result["metrics"]["accuracy"] == pytest.approx(accuracy)


@pytest.mark.shared_data
def test_partial_ner_predictions_on_testb(
    capsys: pytest.CaptureFixture[str], shared_data: Path, tmp_path: Path
) -> None:
    gold_file = shared_data / "conll2002" / "esp.testb"
    gold_tags = [list(tags) for tags in read_gold_file(get_task("ner").resolve(), gold_file)["tags"]]
    # Every other sentence predicted all-O, every third left out.
    predicted: list[list[str] | None] = [
        None if i % 3 == 0 else (["O"] * len(tags) if i % 2 else tags) for i, tags in enumerate(gold_tags)
    ]
    payload = {str(i): tags for i, tags in enumerate(predicted) if tags is not None}
    result = _score_json(capsys, "ner", gold_file, _write(tmp_path / "pred.json", payload))
    assert result["n_missing"] == sum(tags is None for tags in predicted) == 506
    expected = entity_scores(gold_tags, predicted)
    assert result["metrics"]["precision"] == 100.0  # only exact copies predict any entity
    assert result["metrics"]["f1"] == pytest.approx(expected["f1"])
    assert result["metrics"]["recall"] == pytest.approx(expected["recall"])
    assert result["metrics"]["accuracy"] == pytest.approx(token_accuracy(gold_tags, predicted))
    assert 0 < result["metrics"]["recall"] < 50


# --- tiny gold files for the CLI's plumbing and errors --------------------------------------------------


@pytest.fixture
def conll_gold(tmp_path: Path) -> Path:
    path = tmp_path / "gold.conll"
    path.write_text("Juan B-PER\nvive O\nen O\nMadrid B-LOC\n\nHola O\n", encoding="utf-8")
    return path


def test_table_output(capsys: pytest.CaptureFixture[str], conll_gold: Path, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "pred.json", {"0": ["B-PER", "O", "O", "O"]})
    code, out, err = _score(capsys, "conll2002", conll_gold, predictions)  # an alias works too
    assert (code, err) == (0, "")
    # 1 of 2 entities found, none wrong: P 100, R 50, F1 66.67; words right 3 of 5 (the missing one is wrong).
    for expected in (
        "ner (default)",
        "f1",
        "66.67",
        "precision",
        "100.00",
        "recall",
        "50.00",
        "accuracy",
        "60.00",
    ):
        assert expected in out
    assert "2 examples, 1 without a prediction" in out


def test_json_output_shape(capsys: pytest.CaptureFixture[str], conll_gold: Path, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "pred.json", {"0": ["B-PER", "O", "O", "B-LOC"], "1": ["O"]})
    result = _score_json(capsys, "ner", conll_gold, predictions)
    assert result == {
        "task": "ner",
        "variant": "default",
        "n_examples": 2,
        "n_missing": 0,
        "metrics": {"f1": 100.0, "precision": 100.0, "recall": 100.0, "accuracy": 100.0},
        "score": 100.0,
    }


@pytest.mark.parametrize(
    "predictions_text,message",
    [
        ('{"0": ["B-PER", "O", "O", "B-LOC"], "7": ["O"]}', "prediction id '7' is not in the ner gold data"),
        ('{"0": ["B-PER", "O", "O"]}', "prediction '0': 3 tags for 4 words"),
        ('{"1": ["B-PERSON"]}', "prediction '1': tag 'B-PERSON' at word 0 is not in ner's label set"),
        ('{"0": ["B-PER", ', "not valid JSON (Expecting value at line 1, column 17)"),
        (
            '[["B-PER", "O", "O", "B-LOC"]]',
            "expected a JSON object mapping example ids to predictions, got a list",
        ),
    ],
)
def test_bad_predictions_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], conll_gold: Path, tmp_path: Path, predictions_text: str, message: str
) -> None:
    predictions = tmp_path / "pred.json"
    predictions.write_text(predictions_text, encoding="utf-8")
    code, out, err = _score(capsys, "ner", conll_gold, predictions, "--json")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err


def test_missing_files_exit_2(capsys: pytest.CaptureFixture[str], conll_gold: Path, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "pred.json", {})
    code, _, err = _score(capsys, "ner", tmp_path / "nope.conll", predictions)
    assert code == 2
    assert err == f"error: gold file not found: {tmp_path / 'nope.conll'}\n"
    code, _, err = _score(capsys, "ner", conll_gold, tmp_path / "nope.json")
    assert code == 2
    assert err == f"error: predictions file not found: {tmp_path / 'nope.json'}\n"


def test_unknown_task_and_variant_exit_2(
    capsys: pytest.CaptureFixture[str], conll_gold: Path, tmp_path: Path
) -> None:
    predictions = _write(tmp_path / "pred.json", {})
    code, _, err = _score(capsys, "nerr", conll_gold, predictions)
    assert code == 2 and "unknown task 'nerr'" in err and err.count("\n") == 1
    code, _, err = _score(capsys, "ner", conll_gold, predictions, "--variant", "squad-en")
    assert code == 2 and "unknown variant of task 'ner' 'squad-en'" in err


def test_gold_file_in_the_wrong_format_is_a_data_error(
    capsys: pytest.CaptureFixture[str], conll_gold: Path, tmp_path: Path
) -> None:
    predictions = _write(tmp_path / "pred.json", {})
    code, _, err = _score(capsys, "xnli", conll_gold, predictions)  # a CoNLL file is not XNLI's TSV
    assert code == 2 and err.startswith(f"error: {conll_gold}:1:")


def test_albeto_subtoken_mode_weights_each_word_by_its_pieces(tmp_path, capsys) -> None:
    """One wrong word costs as many sub-tokens as the tokenizer cuts it into (the ALBETO code's counting)."""
    from transformers import AutoTokenizer

    from glues_bench.train import build_tiny_checkpoint

    words = [["El", "Ayuntamiento", "de", "Barcelona", "aprobó", "presupuestos"], ["Hola", "."]]
    tags = [["DET", "NOUN", "ADP", "PROPN", "VERB", "NOUN"], ["INTJ", "PUNCT"]]
    tokenizer_dir = build_tiny_checkpoint(
        tmp_path / "tok", [" ".join(w for ws in words for w in ws)] * 5, "bert", vocab_size=45
    )
    gold = tmp_path / "gold.conllu"
    gold.write_text(
        "\n".join(
            "\n".join(
                f"{i}\t{w}\t_\t{t}\t_\t_\t_\t_\t_\t_" for i, (w, t) in enumerate(zip(ws, ts, strict=True), 1)
            )
            + "\n"
            for ws, ts in zip(words, tags, strict=True)
        ),
        encoding="utf-8",
    )
    wrong = [list(tags[0]), list(tags[1])]
    wrong[0][1] = "VERB"  # "Ayuntamiento": several pieces with a 45-piece vocabulary
    predictions = tmp_path / "pred.json"
    predictions.write_text(json.dumps({"0": wrong[0], "1": wrong[1]}))
    assert (
        main(["score", "pos", str(gold), str(predictions), "--json", "--albeto-subtoken", str(tokenizer_dir)])
        == 0
    )
    sub = json.loads(capsys.readouterr().out)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    pieces = [max(1, len(tokenizer.tokenize(w))) for ws in words for w in ws]
    wrong_pieces = max(1, len(tokenizer.tokenize("Ayuntamiento")))
    assert wrong_pieces > 1
    assert sub["token_mode"] == "subtoken"
    assert sub["metrics"]["accuracy"] == pytest.approx(100 * (1 - wrong_pieces / sum(pieces)))
    assert main(["score", "pos", str(gold), str(predictions), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["accuracy"] == pytest.approx(100 * 7 / 8)
