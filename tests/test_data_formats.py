"""The format readers and the loader on small hand-written files: parsing rules and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glues_bench.data import DataUnavailable, load_split, read_gold_file
from glues_bench.data.formats import (
    read_conll2002,
    read_conllu,
    read_mldoc_tsv,
    read_pawsx_tsv,
    read_squad_json,
    read_xnli_tsv,
)
from glues_bench.errors import DataError, GluesError, UnknownName
from glues_bench.tasks.registry import get_task

NER = frozenset(get_task("ner").labels)
UPOS = frozenset(get_task("pos").labels)
NLI = frozenset(get_task("xnli").labels)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- conll2002 ------------------------------------------------------------------------------------------


def test_conll2002_reads_sentences_with_the_last_column_as_tag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "esp.train",
        "-DOCSTART- -X- O\n\nNueva\u00a0York NP B-LOC\nes VSI O\n\n\nLa DA O\nONU NP B-ORG\n",
    )
    columns = read_conll2002(path, NER)
    # The no-break space stays inside the word: only spaces and tabs separate columns.
    assert columns == {
        "tokens": [["Nueva\u00a0York", "es"], ["La", "ONU"]],
        "tags": [["B-LOC", "O"], ["O", "B-ORG"]],
    }


def test_conll2002_column_count_must_stay_the_same(tmp_path: Path) -> None:
    path = write(tmp_path, "esp.testa", "El DA O\n\nLa O\n")
    with pytest.raises(DataError, match=r"^.*esp\.testa:3: expected 3 space-separated columns, got 2$"):
        read_conll2002(path, NER)


def test_conll2002_unknown_tag_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "esp.testb", "El DA O\nPepe NP B-PERSON\n")
    with pytest.raises(DataError, match=r"esp\.testb:2: label 'B-PERSON' is not in the task's label set"):
        read_conll2002(path, NER)


# --- conllu -------------------------------------------------------------------------------------------


CONLLU = (
    "# sent_id = 1\n"
    "# text = Vino del mar.\n"
    "1\tVino\tvenir\tVERB\tVMIS3S0\t_\t0\troot\t_\t_\n"
    "2-3\tdel\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tde\tde\tADP\tSPS00\t_\t4\tcase\t_\t_\n"
    "3\tel\tel\tDET\tDA0MS0\t_\t4\tdet\t_\t_\n"
    "3.1\tvino\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "4\tmar\tmar\tNOUN\tNCMS000\t_\t1\tobl\t_\t_\n"
    "\n"
    "1\tSí\tsí\tINTJ\t_\t_\t0\troot\t_\t_"  # last sentence without a closing blank line
)


def test_conllu_keeps_words_and_upos_only(tmp_path: Path) -> None:
    columns = read_conllu(write(tmp_path, "a.conllu", CONLLU), UPOS)
    assert columns == {
        "tokens": [["Vino", "de", "el", "mar"], ["Sí"]],
        "tags": [["VERB", "ADP", "DET", "NOUN"], ["INTJ"]],
    }


def test_conllu_wrong_column_count(tmp_path: Path) -> None:
    path = write(tmp_path, "b.conllu", "# c\n1\tVino\tvenir\tVERB\n")
    with pytest.raises(DataError, match=r"b\.conllu:2: expected 10 tab-separated columns, got 4$"):
        read_conllu(path, UPOS)


def test_conllu_v2_tag_is_not_a_v1_label(tmp_path: Path) -> None:
    path = write(tmp_path, "c.conllu", "1\ty\ty\tCCONJ\t_\t_\t0\tcc\t_\t_\n")
    with pytest.raises(DataError, match=r"c\.conllu:1: label 'CCONJ'"):
        read_conllu(path, UPOS)


# --- TSV formats ----------------------------------------------------------------------------------------


def test_pawsx_quotes_are_text_not_quoting(tmp_path: Path) -> None:
    text = 'id\tsentence1\tsentence2\tlabel\n7\t"Hola\tadiós "dijo"\t1\n9\tuno\t"dos\t0\n'
    columns = read_pawsx_tsv(write(tmp_path, "dev_2k.tsv", text), frozenset({"0", "1"}))
    assert columns == {"text": ['"Hola', "uno"], "text_pair": ['adiós "dijo"', '"dos'], "label": ["1", "0"]}


def test_pawsx_needs_its_header(tmp_path: Path) -> None:
    path = write(tmp_path, "dev_2k.tsv", "7\tuno\tdos\t1\n")
    with pytest.raises(DataError, match=r"dev_2k\.tsv:1: expected the header 'id sentence1 sentence2 label'"):
        read_pawsx_tsv(path, frozenset({"0", "1"}))


def test_xnli_columns_and_errors(tmp_path: Path) -> None:
    good = write(tmp_path, "xnli/ok.tsv", "neutral\tp_1\th_1\tPremisa.\tHipótesis.\r\n")
    assert read_xnli_tsv(good, NLI) == {
        "text": ["Premisa."],
        "text_pair": ["Hipótesis."],
        "label": ["neutral"],
    }
    short = write(tmp_path, "xnli/dev.tsv", "neutral\tp_1\th_1\tA\tB\nneutral\tA\tB\n")
    with pytest.raises(DataError, match=r"xnli/dev\.tsv:2: expected 5 tab-separated columns, got 3$"):
        read_xnli_tsv(short, NLI)
    bad_label = write(tmp_path, "xnli/test.tsv", "neutral\tp\th\tA\tB\nentails\tp\th\tA\tB\n")
    with pytest.raises(DataError, match=r"xnli/test\.tsv:2: label 'entails'"):
        read_xnli_tsv(bad_label, NLI)


def test_mldoc_single_text(tmp_path: Path) -> None:
    path = write(tmp_path, "spanish.dev", "CCAT\tLa bolsa sube.\nGCAT\tElecciones.\n")
    columns = read_mldoc_tsv(path, frozenset({"CCAT", "ECAT", "GCAT", "MCAT"}))
    assert columns == {
        "text": ["La bolsa sube.", "Elecciones."],
        "text_pair": [None, None],
        "label": ["CCAT", "GCAT"],
    }


# --- squad_json ----------------------------------------------------------------------------------------


def squad(*paragraphs: dict, title: str | None = "T") -> dict:
    article: dict = {"paragraphs": list(paragraphs)}
    if title is not None:
        article["title"] = title
    return {"version": 1.0, "data": [article]}


def test_squad_json_ignores_extra_fields(tmp_path: Path) -> None:
    paragraph = {
        "context": "Lima es la capital.",
        "sentences": ["Lima es la capital."],  # MLQA's extra field
        "qas": [{"id": "q1", "question": "¿Capital?", "answers": [{"text": "Lima", "answer_start": 0}]}],
    }
    columns = read_squad_json(
        write(tmp_path, "a.json", json.dumps(squad(paragraph, title=None))), frozenset()
    )
    assert columns == {
        "id": ["q1"],
        "title": [""],
        "context": ["Lima es la capital."],
        "question": ["¿Capital?"],
        "answers": [{"text": ["Lima"], "answer_start": [0]}],
    }


def test_squad_json_errors(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.json", '{"data": [\n  {"title": "x",\n  }\n]}')
    with pytest.raises(DataError, match=r"broken\.json:3: not valid JSON"):
        read_squad_json(broken, frozenset())
    qa = {"id": "q1", "answers": []}
    missing = write(tmp_path, "missing.json", json.dumps(squad({"context": "c", "qas": [qa]})))
    with pytest.raises(
        DataError, match=r"missing\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\]: missing key 'question'"
    ):
        read_squad_json(missing, frozenset())
    twice = {"id": "q1", "question": "?", "answers": []}
    dup = write(tmp_path, "dup.json", json.dumps(squad({"context": "c", "qas": [twice, twice]})))
    with pytest.raises(DataError, match=r"duplicate question id 'q1'"):
        read_squad_json(dup, frozenset())
    bad_start = {"id": "q", "question": "?", "answers": [{"text": "c", "answer_start": "0"}]}
    typed = write(tmp_path, "typed.json", json.dumps(squad({"context": "c", "qas": [bad_start]})))
    with pytest.raises(DataError, match=r"answers\[0\]\.answer_start: expected int, got str"):
        read_squad_json(typed, frozenset())


# --- files that are not there or not text --------------------------------------------------------------


def test_missing_empty_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.tsv: file not found$"):
        read_xnli_tsv(tmp_path / "nope.tsv", NLI)
    with pytest.raises(DataError, match=r"empty\.tsv: empty file$"):
        read_xnli_tsv(write(tmp_path, "empty.tsv", "\n\n"), NLI)
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("neutral\tp\th\tA\tB\nneutral\tp\th\tcañón\tB\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.tsv:2: not valid UTF-8"):
        read_xnli_tsv(latin1, NLI)


# --- load_split on a temporary data dir ----------------------------------------------------------------


def test_load_split_numbers_examples_and_limits(tmp_path: Path) -> None:
    write(tmp_path, "mldoc/spanish.dev", "CCAT\tuno\nECAT\tdos\nMCAT\ttres\n")
    task = get_task("mldoc").resolve()
    with pytest.warns(UserWarning, match="3 rows, but the official count is 1000"):
        full = load_split(task, "dev", tmp_path)
    assert full.dataset["id"] == ["0", "1", "2"]
    assert full.dataset["label"] == ["CCAT", "ECAT", "MCAT"]
    assert full.files == (tmp_path / "mldoc/spanish.dev",)
    assert full.source == f"{tmp_path / 'mldoc/spanish.dev'} [rows 3 ≠ official 1000]"
    first_two = load_split(task, "dev", tmp_path, limit=2)
    assert first_two.dataset.to_dict() == full.dataset.select(range(2)).to_dict()
    assert first_two.fingerprint != full.fingerprint
    with pytest.raises(GluesError, match="--limit 0"):
        load_split(task, "dev", tmp_path, limit=0)
    with pytest.raises(UnknownName, match="unknown split 'validation'"):
        load_split(task, "validation", tmp_path)


def test_load_split_falls_back_to_the_second_candidate_path(tmp_path: Path) -> None:
    write(tmp_path, "mldoc/dev.tsv", "GCAT\tuno\n")
    loaded = load_split(get_task("mldoc").resolve(), "dev", tmp_path)
    assert loaded.files == (tmp_path / "mldoc/dev.tsv",)


def test_fingerprint_is_content_only(tmp_path: Path) -> None:
    task = get_task("ner").resolve()
    text = "El DA O\nPepe NP B-PER\n\nYa RG O\n"
    write(tmp_path / "a", "conll2002/esp.testa", text)
    write(tmp_path / "b", "conll2002/esp.testa", text)
    write(tmp_path / "c", "conll2002/esp.testa", text.replace("Pepe", "Pepa"))
    write(tmp_path / "d", "conll2002/esp.testa", text.replace("B-PER", "B-ORG"))
    a, b, c, d = (load_split(task, "dev", tmp_path / x).fingerprint for x in "abcd")
    assert a == b
    assert len({a, c, d}) == 3


def test_read_gold_file_uses_the_task_format(tmp_path: Path) -> None:
    gold = write(tmp_path, "gold.tsv", "entailment\tp\th\tA\tB\ncontradiction\tp\th\tC\tD\n")
    dataset = read_gold_file(get_task("xnli").resolve(), gold)
    assert dataset.to_dict() == {
        "id": ["0", "1"],
        "text": ["A", "C"],
        "text_pair": ["B", "D"],
        "label": ["entailment", "contradiction"],
    }


def test_no_source_at_all_is_data_unavailable(tmp_path: Path) -> None:
    task = get_task("mldoc").resolve()
    with pytest.raises(
        DataUnavailable, match=r"task mldoc \(default\) split test: no data found; tried .*spanish\.test"
    ):
        load_split(task, "test", tmp_path)
    with pytest.raises(DataUnavailable, match=r"tried .*mldoc/test\.tsv \(MLDoc .*data prepare mldoc --rcv2"):
        load_split(task, "test", tmp_path)
    # Without --data-dir the message still says where files would be looked for, and the spec's note.
    with pytest.raises(DataUnavailable, match=r"tried <--data-dir>/mldoc/spanish\.train\.10000, .*Reuters"):
        load_split(task, "train", None)
