"""Each hub source kind through the real `datasets` / reader code path, on local files written with the
hub datasets' schema (ClassLabel features, column names of the dataset cards), with their quirks."""

from __future__ import annotations

import json
import re
import tracemalloc
import warnings
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, List, Value

from glues_bench.data import hub as hub_module
from glues_bench.data import load_split, sources
from glues_bench.data.formats import read_conll2002, read_squad_json
from glues_bench.data.sources import RowCountDrift
from glues_bench.errors import DataError
from glues_bench.tasks.registry import all_tasks, get_task
from tests.test_data_hub import CONLL_NER_NAMES, UD_UPOS_NAMES


@pytest.fixture
def hub_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "hub"
    root.mkdir()
    monkeypatch.setattr(sources, "HUB_ROOT", str(root))
    monkeypatch.setattr(hub_module, "_warned_unpinned", set())
    return root


def quiet_load(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_split(*args, **kwargs)


def write_convert_split(root: Path, repo: str, config: str, split: str, dataset: Dataset) -> None:
    """`<repo>@refs%2Fconvert%2Fparquet/<config>/<split>/0000.parquet`, the conversion branch layout."""
    folder = root / f"{repo}@refs%2Fconvert%2Fparquet" / config / split
    folder.mkdir(parents=True)
    dataset.to_parquet(str(folder / "0000.parquet"))


def write_parquet_repo(root: Path, repo: str, config: str, splits: dict[str, Dataset]) -> None:
    """A parquet-on-main repo as on the hub: README `configs:` naming `<config>/<split>-*.parquet`."""
    folder = root / repo
    (folder / config).mkdir(parents=True)
    lines = ["---", "configs:", f"- config_name: {config}", "  data_files:"]
    for split, dataset in splits.items():
        dataset.to_parquet(str(folder / config / f"{split}-00000-of-00001.parquet"))
        lines += [f"  - split: {split}", f"    path: {config}/{split}-*.parquet"]
    (folder / "README.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")


def conll_hub(n_sentences: int) -> Dataset:
    """CoNLL-2002 es as the hub has it: `id, tokens, pos_tags, ner_tags`, plus one empty trailing sentence."""
    features = Features(
        {
            "id": Value("string"),
            "tokens": List(Value("string")),
            "pos_tags": List(ClassLabel(names=["DA", "NP", "Fp"])),
            "ner_tags": List(ClassLabel(names=CONLL_NER_NAMES)),
        }
    )
    tokens = [["El", "Pepe", "."]] * n_sentences + [[]]
    return Dataset.from_dict(
        {
            "id": [str(i) for i in range(n_sentences + 1)],
            "tokens": tokens,
            "pos_tags": [[0, 1, 2]] * n_sentences + [[]],
            "ner_tags": [[0, 1, 0]] * n_sentences + [[]],
        },
        features=features,
    )


def test_every_hub_source_is_namespaced_and_of_a_declared_kind() -> None:
    seen_kinds = set()
    for spec in all_tasks().values():
        for variant in spec.variants:
            for split, source in spec.resolve(variant.name).splits.items():
                if source.hub is None:
                    continue
                assert re.fullmatch(r"[\w.-]+/[\w.-]+", source.hub.path), (spec.name, split)
                assert source.hub.kind in ("parquet", "parquet_convert", "raw_files")
                seen_kinds.add(source.hub.kind)
    assert seen_kinds == {"parquet", "parquet_convert", "raw_files"}


def test_parquet_convert_conll_drops_the_empty_sentence_and_gets_the_official_count(hub_root: Path) -> None:
    task = get_task("ner").resolve()
    write_convert_split(hub_root, "PlanTL-GOB-ES/CoNLL-NERC-es", "es", "test", conll_hub(1517))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the official count matches: no drift warning
        warnings.filterwarnings("ignore", message=".*no revision pinned")
        loaded = load_split(task, "test", None)
    assert len(loaded.dataset) == 1517
    assert loaded.dataset[0]["tags"] == ["O", "B-PER", "O"]
    assert loaded.report.dropped == {"drop-empty-sentences-v1": 1}
    assert loaded.report.checked == {"hub:PlanTL-GOB-ES/CoNLL-NERC-es/es@unpinned": (1517, 1517)}
    assert "[drop-empty-sentences-v1: dropped 1]" in loaded.source


def test_row_count_drift_warns_and_strict_refuses(hub_root: Path) -> None:
    task = get_task("ner").resolve()
    write_convert_split(hub_root, "PlanTL-GOB-ES/CoNLL-NERC-es", "es", "validation", conll_hub(1900))
    with pytest.warns(UserWarning, match=r"1900 rows, but the official count is 1915"):
        loaded = load_split(task, "dev", None)
    assert "[rows 1900 ≠ official 1915]" in loaded.source
    with pytest.raises(RowCountDrift, match="official count is 1915"):
        quiet_load(task, "dev", None, strict=True)
    # A limited load cannot know the full count: no check, no error.
    assert len(quiet_load(task, "dev", None, limit=5, strict=True).dataset) == 5


def test_parquet_convert_universal_dependencies_keeps_class_labels(hub_root: Path) -> None:
    features = Features(
        {
            "idx": Value("string"),
            "tokens": List(Value("string")),
            "upos": List(ClassLabel(names=UD_UPOS_NAMES)),
        }
    )
    upos = [[UD_UPOS_NAMES.index(t) for t in ("VERB", "_", "ADP", "DET", "NOUN")]]
    rows = {"idx": ["s1"], "tokens": [["Vino", "del", "de", "el", "mar"]], "upos": upos}
    write_convert_split(
        hub_root, "universal-dependencies/universal_dependencies", "es_ancora", "test",
        Dataset.from_dict(rows, features=features),
    )  # fmt: skip
    loaded = quiet_load(get_task("pos").resolve("ancora"), "test", None)
    assert loaded.dataset["tokens"] == [["Vino", "de", "el", "mar"]]
    assert loaded.dataset["tags"] == [["VERB", "ADP", "DET", "NOUN"]]


def pawsx_hub(labels: list[int], first: list[str]) -> Dataset:
    features = Features(
        {
            "id": Value("int32"),
            "sentence1": Value("string"),
            "sentence2": Value("string"),
            "label": ClassLabel(names=["0", "1"]),
        }
    )
    n = len(labels)
    rows = {"id": list(range(1, n + 1)), "sentence1": first, "sentence2": [f"b{i}" for i in range(n)]}
    return Dataset.from_dict({**rows, "label": labels}, features=features)


def test_parquet_pawsx_drops_unlabelled_and_placeholder_rows_by_declared_policy(hub_root: Path) -> None:
    # 2,001 hub rows: 2 with label -1, 38 with an `NS` side (one of those also -1) → 1,999 → 1,962.
    n = 2001
    labels = [i % 2 for i in range(n)]
    first = [f"a{i}" for i in range(n)]
    labels[7] = -1
    for i in range(100, 138):
        first[i] = "NS"
    labels[100] = -1  # unlabelled and a placeholder: counted once, by the first policy applied
    write_parquet_repo(
        hub_root, "google-research-datasets/paws-x", "es", {"validation": pawsx_hub(labels, first)}
    )
    released = quiet_load(get_task("pawsx").resolve(), "dev", None)
    assert len(released.dataset) == 1999
    assert released.report.dropped == {"drop-unlabelled-v1": 2}
    assert "NS" in released.dataset["text"]
    glues = quiet_load(get_task("pawsx").resolve("glues-counts"), "dev", None)
    assert glues.report.dropped == {"drop-unlabelled-v1": 2, "drop-pawsx-placeholders-v1": 37}
    assert len(glues.dataset) == 1962 and "NS" not in glues.dataset["text"]
    assert glues.report.checked["hub:google-research-datasets/paws-x/es@unpinned"] == (1962, 1962)


def test_pawsx_placeholder_policy_on_the_released_files_gives_the_glues_counts(shared_data: Path) -> None:
    task = get_task("pawsx").resolve("glues-counts")
    dev, test = (quiet_load(task, split, shared_data) for split in ("dev", "test"))
    assert (len(dev.dataset), len(test.dataset)) == (1962, 1999)  # GLUES's published dev / test sizes
    assert dev.report.dropped == {"drop-unlabelled-v1": 0, "drop-pawsx-placeholders-v1": 38}
    assert len(quiet_load(get_task("pawsx").resolve(), "dev", shared_data).dataset) == 2000


def test_raw_files_sqac_reads_the_released_json(hub_root: Path) -> None:
    paragraphs = [
        {
            "context": "  Madrid es la capital.",  # leading spaces: offsets must stay as released
            "qas": [
                {"id": f"q{i}", "question": "¿Cuál?", "answers": [{"text": "Madrid", "answer_start": 2}]}
            ],
        }
        for i in range(1864)
    ]
    repo = hub_root / "PlanTL-GOB-ES/SQAC"
    repo.mkdir(parents=True)
    (repo / "dev.json").write_text(json.dumps({"data": [{"title": "T", "paragraphs": paragraphs}]}), "utf-8")
    loaded = quiet_load(get_task("sqac").resolve(), "dev", None)
    assert len(loaded.dataset) == 1864
    row = loaded.dataset[0]
    start = row["answers"]["answer_start"][0]
    assert row["context"][start : start + 6] == "Madrid"
    assert loaded.report.checked == {"hub:PlanTL-GOB-ES/SQAC@unpinned": (1864, 1864)}
    assert [r["id"] for r in quiet_load(get_task("sqac").resolve(), "dev", None, limit=3).dataset] == [
        "q0", "q1", "q2",
    ]  # fmt: skip


def test_missing_hub_repo_is_unavailable_not_a_crash(hub_root: Path) -> None:
    from glues_bench.data import DataUnavailable

    with pytest.raises(DataUnavailable, match="no data found"):
        quiet_load(get_task("sqac").resolve(), "test", None)


# --- bounded, streaming readers -------------------------------------------------------------------


def test_a_50mb_line_fails_fast_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "esp.train"
    with path.open("wb") as handle:
        handle.write(b"El DA O\n\n")
        handle.write(b"x" * (50 * 1024 * 1024) + b" NP O\n")
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:3: line longer than 1048576 bytes"):
            read_conll2002(path, frozenset({"O"}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # one bounded line, never the 50 MB


def test_a_huge_json_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    qa = {"id": "1", "question": "q" * (2 * 1024 * 1024), "answers": []}
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": [qa]}]}]}), "utf-8")
    with pytest.raises(DataError, match=r"qas\[0\]\.question: longer than"):
        read_squad_json(path, frozenset())


def test_limit_stops_reading_at_the_limit(tmp_path: Path) -> None:
    # Everything after sentence 2 is malformed: a reader that parses the whole file first would fail.
    path = tmp_path / "esp.testa"
    path.write_text("A DA O\n\nB DA O\n\nC DA O\n\nbroken line with too many columns here\n", "utf-8")
    assert read_conll2002(path, frozenset({"O"}), 2)["tokens"] == [["A"], ["B"]]
    with pytest.raises(DataError, match=":7: expected 3"):
        read_conll2002(path, frozenset({"O"}))


def test_limit_on_the_real_conll_train_matches_the_full_parse(shared_data: Path) -> None:
    task = get_task("ner").resolve()
    full = quiet_load(task, "train", shared_data)
    limited = quiet_load(task, "train", shared_data, limit=16)
    assert len(full.dataset) == 8323
    assert full.report.checked == {str(shared_data / "conll2002/esp.train"): (8323, 8323)}
    assert limited.dataset.to_dict() == full.dataset.select(range(16)).to_dict()


def test_spec_refuses_bare_ids_and_incomplete_kinds() -> None:
    from pydantic import ValidationError

    from glues_bench.tasks.spec import HubSource

    with pytest.raises(ValidationError, match="path"):
        HubSource(kind="parquet", path="conll2002", config="es", split="train")  # bare id
    with pytest.raises(ValidationError, match="raw_files: needs `files` and `format`"):
        HubSource(kind="raw_files", path="PlanTL-GOB-ES/SQAC", split="train")
    with pytest.raises(ValidationError, match="parquet_convert: needs `config`"):
        HubSource(kind="parquet_convert", path="eriktks/conll2002", split="train")
    with pytest.raises(ValidationError, match="belong to raw_files only"):
        HubSource(kind="parquet", path="facebook/xnli", split="test", files=("x.json",), format="squad_json")


def test_spec_hash_ignores_download_and_row_count_metadata() -> None:
    spec = get_task("xnli")
    raw = spec.model_dump(mode="json")
    raw["downloads"] = []
    raw["research_only"] = True
    raw["splits"]["dev"]["local"]["rows"] = {}
    raw["splits"]["dev"]["hub"]["rows"] = 7
    same = type(spec).model_validate(raw)
    assert same.resolve().spec_hash == spec.resolve().spec_hash
    raw["splits"]["dev"]["quirks"] = ["drop-unlabelled-v1"]  # a quirk can change rows: it counts
    assert type(spec).model_validate(raw).resolve().spec_hash != spec.resolve().spec_hash
