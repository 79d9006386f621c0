"""The task registry: every spec validates, lookups and errors behave, and bad specs fail at load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from glues_bench.cli import main
from glues_bench.errors import SpecError, UnknownName
from glues_bench.tasks import TASK_ORDER, all_tasks, get_task
from glues_bench.tasks.registry import load_spec_file
from glues_bench.tasks.spec import PAPER_GRID, PAPER_LARGE_GRID

SPEC_DIR = Path(__file__).resolve().parents[1] / "glues_bench" / "tasks" / "specs"


def test_registry_has_the_eight_glues_tasks_in_paper_order() -> None:
    assert list(all_tasks()) == list(TASK_ORDER)
    assert list(TASK_ORDER) == ["pos", "ner", "mldoc", "pawsx", "xnli", "mlqa", "sqac", "xquad"]


@pytest.mark.parametrize(
    "alias,name", [("paws-x", "pawsx"), ("CoNLL2002", "ner"), ("tar", "xquad"), ("ud14", "pos")]
)
def test_aliases_resolve(alias: str, name: str) -> None:
    assert get_task(alias).name == name


def test_unknown_task_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownName, match="Did you mean 'xnli'"):
        get_task("xnlii")


@pytest.mark.parametrize("name", TASK_ORDER)
def test_every_spec_is_complete(name: str) -> None:
    spec = get_task(name)
    assert spec.max_seq_length == 512
    assert spec.grids["paper"] == PAPER_GRID and len(PAPER_GRID.configs()) == 36
    assert spec.grids["paper-large"] == PAPER_LARGE_GRID
    assert {c.learning_rate for c in PAPER_LARGE_GRID.configs()} == {1e-6, 2e-6, 3e-6, 5e-6}
    assert len(spec.grids["quick"].configs()) == 1
    for variant in spec.variants:
        resolved = spec.resolve(variant.name)
        assert set(resolved.splits) == {"train", "dev", "test"}


def test_spec_hash_names_one_spec_and_variant_and_moves_with_any_change() -> None:
    hashes = {
        (n, v.name): get_task(n).resolve(v.name).spec_hash for n in TASK_ORDER for v in get_task(n).variants
    }
    assert len(set(hashes.values())) == len(hashes)  # no two (task, variant) share a hash
    ner = get_task("ner")
    assert ner.resolve().spec_hash == get_task("ner").model_copy(deep=True).resolve().spec_hash  # stable
    shorter = ner.model_copy(update={"max_seq_length": 256})
    assert shorter.resolve().spec_hash != ner.resolve().spec_hash  # a field that moves numbers moves it


def test_qa_tasks_score_mean_of_f1_and_em_and_default_to_spanish_scoring() -> None:
    for name in ("mlqa", "sqac", "xquad"):
        spec = get_task(name)
        assert spec.score_metrics == ("f1", "exact_match")
        assert spec.resolve().qa_scoring == "es"
        assert spec.resolve("squad-en").qa_scoring == "squad-en"


def test_variants_change_the_hash_and_the_sources() -> None:
    pos = get_task("pos")
    ud14, ancora = pos.resolve(), pos.resolve("ancora")
    assert ud14.variant == "ud14" and "CONJ" in ud14.labels and "CCONJ" in ancora.labels
    assert ud14.spec_hash != ancora.spec_hash
    assert ancora.splits["dev"].hub is not None and ud14.splits["dev"].hub is None
    with pytest.raises(UnknownName, match="variant"):
        pos.resolve("gsd22")


def test_xquad_trains_on_tar_and_tests_on_xquad() -> None:
    splits = get_task("xquad").resolve().splits
    assert splits["train"].local.paths[0].startswith("tar/")
    assert splits["dev"].local.paths[0].startswith("tar/")
    assert splits["test"].local.paths == ("xquad/xquad.es.json",)


def _write_broken(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load((SPEC_DIR / "ner.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda r: r.update(colour="red"), "field 'colour': unknown key"),
        (lambda r: r.pop("metrics"), "field 'metrics': Field required"),
        (lambda r: r.update(labels=["O", "B-PER", "PER"]), "'PER' is not an IOB2 tag"),
        (lambda r: r.update(labels=["O", "O"]), "duplicate label"),
        (lambda r: r.update(metrics=["exact_match"], score_metrics=["exact_match"]), "does not apply"),
        (lambda r: r["splits"].pop("test"), "needs exactly train, dev, test"),
        (lambda r: r.update(default_variant="nope"), "default_variant"),
        (lambda r: r["splits"]["dev"]["hub"].update(revision="main"), "field 'splits.dev.hub.revision'"),
    ],
)
def test_bad_specs_fail_at_load_naming_spec_and_field(tmp_path: Path, mutate, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec_file(_write_broken(tmp_path, mutate))
    message = str(info.value)
    assert message.startswith("task spec broken.yaml: ") and expected in message and "\n" not in message


def test_specs_are_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        get_task("ner").version = 2  # type: ignore[misc]


def test_cli_tasks_list_show_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks"]) == 0
    assert "xquad" in capsys.readouterr().out
    assert main(["tasks", "paws-x"]) == 0
    assert "PAWS-X" in capsys.readouterr().out
    assert main(["tasks", "xnlii"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown task 'xnlii'. Did you mean 'xnli'") and err.count("\n") == 1
