"""Manifests and `glues-bench register`, on tiny random BERT / ALBERT checkpoints built here."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from glues_bench.cli import main
from glues_bench.errors import SubmissionError
from glues_bench.model_ref import ModelRef
from glues_bench.submissions import (
    Submission,
    count_parameters,
    is_embedding_table,
    load_manifest,
    load_submissions,
    save_manifest,
)

H, LAYERS, HEADS, INTERMEDIATE, POSITIONS, TYPES = 32, 2, 2, 37, 64, 2
ALBERT_E = 16  # ALBERT's factorised embedding size


def _save_tokenizer(directory: Path) -> int:
    """Train a tiny WordPiece tokenizer with `tokenizers`, save it as a fast tokenizer; return its size."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    corpus = ["el gato come pescado", "la casa es grande y roja", "los niños juegan en el parque"] * 4
    backend.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=80, special_tokens=specials))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    tokenizer.save_pretrained(directory)
    return len(tokenizer)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A BERT MLM (tied decoder) and an ALBERT encoder, hidden 32, 2 layers, saved as safetensors."""
    import torch
    from transformers import AlbertConfig, AlbertModel, BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("ckpts")
    bert_dir, albert_dir = root / "tiny-bert", root / "tiny-albert"
    vocab = _save_tokenizer(bert_dir)
    shutil.copytree(bert_dir, albert_dir)
    common = dict(
        vocab_size=vocab,
        hidden_size=H,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        max_position_embeddings=POSITIONS,
        type_vocab_size=TYPES,
    )
    bert = BertForMaskedLM(BertConfig(**common))
    bert.save_pretrained(bert_dir, safe_serialization=True)
    albert = AlbertModel(AlbertConfig(embedding_size=ALBERT_E, **common))
    albert.save_pretrained(albert_dir, safe_serialization=True)
    return {"root": root, "vocab": vocab, "bert": (bert_dir, bert), "albert": (albert_dir, albert)}


def _register(argv: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()  # drop earlier output (save_pretrained's progress bars)
    rc = main(["register", *argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _bert_mlm_counts(vocab: int) -> tuple[int, int]:
    """(total, non-embedding) for BertForMaskedLM without a pooler; the decoder is tied to word embeddings."""
    tables = vocab * H + POSITIONS * H + TYPES * H
    layer = 4 * (H * H + H) + 2 * H + (H * INTERMEDIATE + INTERMEDIATE) + (INTERMEDIATE * H + H) + 2 * H
    head = (H * H + H) + 2 * H + vocab  # transform dense + LayerNorm + output bias
    non_embedding = 2 * H + LAYERS * layer + head  # embedding LayerNorm counts as non-embedding
    return tables + non_embedding, non_embedding


def _albert_counts(vocab: int) -> tuple[int, int]:
    """(total, non-embedding) for AlbertModel: one shared layer, E→H projection, pooler."""
    e = ALBERT_E
    tables = vocab * e + POSITIONS * e + TYPES * e
    shared_layer = (
        4 * (H * H + H) + 2 * H + (H * INTERMEDIATE + INTERMEDIATE) + (INTERMEDIATE * H + H) + 2 * H
    )
    non_embedding = 2 * e + (e * H + H) + shared_layer + (H * H + H)
    return tables + non_embedding, non_embedding


def test_register_bert_counts_hash_and_manifest(checkpoints: dict, tmp_path: Path, capsys) -> None:
    bert_dir, model = checkpoints["bert"]
    subs = checkpoints["root"] / "submissions-bert"
    rc, out, err = _register(
        [
            str(bert_dir),
            "--name",
            "tiny-bert",
            "--family",
            "BETO",
            "--origin",
            "in-house",
            "--licence",
            "cc-by-4.0",
            "--submissions-dir",
            str(subs),
        ],
        capsys,
    )
    assert (rc, err) == (0, "")
    manifest = subs / "tiny-bert.yaml"
    assert str(manifest) in out
    sub = load_manifest(manifest)
    total, non_embedding = _bert_mlm_counts(checkpoints["vocab"])
    assert sub.params_total == sum(p.numel() for p in model.parameters()) == total
    assert sub.params_non_embedding == non_embedding
    assert f"{total:,} total, {non_embedding:,} non-embedding" in out
    assert sub.weights_sha256 == hashlib.sha256((bert_dir / "model.safetensors").read_bytes()).hexdigest()
    assert (sub.weights_file, sub.architecture, sub.family, sub.origin) == (
        "model.safetensors",
        "bert",
        "BETO",
        "in-house",
    )
    # Inside the project the path is stored relative to the manifest, and resolves back to the directory.
    assert yaml.safe_load(manifest.read_text())["checkpoint"] == "../tiny-bert"
    assert sub.resolve_checkpoint() == str(bert_dir.resolve())
    assert sub.model_ref() == ModelRef(str(bert_dir.resolve()))  # safetensors only, no remote code
    # Round trip: saving the loaded manifest writes the same text, and loading it again gives an equal object.
    text = manifest.read_text()
    save_manifest(sub, subs, overwrite=True)
    assert manifest.read_text() == text
    assert load_manifest(manifest) == sub
    assert load_submissions(subs) == {"tiny-bert": sub}


def test_register_albert_keeps_factorised_projection(checkpoints: dict, tmp_path: Path, capsys) -> None:
    albert_dir, model = checkpoints["albert"]
    subs = tmp_path / "project" / "submissions"  # the checkpoint lies outside this project
    rc, _, err = _register(
        [str(albert_dir), "--name", "tiny-albert", "--large", "--submissions-dir", str(subs)], capsys
    )
    assert (rc, err) == (0, "")
    sub = load_manifest(subs / "tiny-albert.yaml")
    total, non_embedding = _albert_counts(checkpoints["vocab"])
    assert sub.params_total == sum(p.numel() for p in model.parameters()) == total
    assert sub.params_non_embedding == non_embedding
    assert (sub.architecture, sub.large, sub.origin) == ("albert", True, "external")
    assert Path(sub.checkpoint).is_absolute()  # outside the project: stored absolute


def test_sharded_checkpoint_sums_shards_and_hashes_them_in_order(
    checkpoints: dict, tmp_path: Path, capsys
) -> None:
    bert_dir, model = checkpoints["bert"]
    sharded = tmp_path / "sharded"
    shutil.copytree(bert_dir, sharded, ignore=shutil.ignore_patterns("model.safetensors"))
    model.save_pretrained(sharded, safe_serialization=True, max_shard_size="20KB")
    shards = sorted(sharded.glob("model-*.safetensors"))
    assert len(shards) > 1
    rc, _, err = _register(
        [str(sharded), "--name", "sharded", "--submissions-dir", str(tmp_path / "s")], capsys
    )
    assert (rc, err) == (0, "")
    sub = load_manifest(tmp_path / "s" / "sharded.yaml")
    assert (sub.params_total, sub.params_non_embedding) == _bert_mlm_counts(checkpoints["vocab"])
    assert sub.weights_file == "model.safetensors.index.json"
    assert sub.weights_sha256 == hashlib.sha256(b"".join(p.read_bytes() for p in shards)).hexdigest()


def test_pickle_refused_unless_allowed_and_tied_weights_counted_once(
    checkpoints: dict, tmp_path: Path, capsys
) -> None:
    import torch

    bert_dir, model = checkpoints["bert"]
    pickled = tmp_path / "pickled"
    shutil.copytree(bert_dir, pickled, ignore=shutil.ignore_patterns("model.safetensors"))
    torch.save(model.state_dict(), pickled / "pytorch_model.bin")  # holds the tied decoder under two names
    rc, _, err = _register([str(pickled), "--name", "p", "--submissions-dir", str(tmp_path / "s")], capsys)
    assert rc == 2 and "convert to safetensors" in err and len(err.splitlines()) == 1
    rc, _, err = _register(
        [str(pickled), "--name", "p", "--allow-pickle", "--submissions-dir", str(tmp_path / "s")], capsys
    )
    assert (rc, err) == (0, "")
    sub = load_manifest(tmp_path / "s" / "p.yaml")
    assert (sub.params_total, sub.params_non_embedding) == _bert_mlm_counts(checkpoints["vocab"])
    assert sub.model_ref().allow_pickle and sub.model_ref().model_kwargs()["use_safetensors"] is None


def test_register_refuses_to_overwrite_without_force(checkpoints: dict, tmp_path: Path, capsys) -> None:
    bert_dir, _ = checkpoints["bert"]
    argv = [str(bert_dir), "--name", "again", "--submissions-dir", str(tmp_path)]
    assert _register(argv, capsys)[0] == 0
    rc, _, err = _register([*argv, "--notes", "second"], capsys)
    assert rc == 2 and "already exists" in err and "--force" in err
    assert _register([*argv, "--notes", "second", "--force"], capsys)[0] == 0
    assert load_manifest(tmp_path / "again.yaml").notes == "second"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dccuchile/albert-tiny-spanish"], "pin a revision"),
        (
            ["dccuchile/albert-tiny-spanish", "--revision", "0" * 40],
            "cannot fetch dccuchile/albert-tiny-spanish",
        ),
        (["dccuchile/albert-tiny-spanish", "--revision", "main"], "40-hex commit sha"),
        (["./no/such/dir"], "checkpoint directory not found"),
        (["--origin", "mine"], "--origin 'mine'"),
    ],
)
def test_register_errors_are_one_line(checkpoints: dict, tmp_path: Path, capsys, argv, expected) -> None:
    source = [] if argv[0].startswith("--") else [argv.pop(0)]
    source = source or [str(checkpoints["bert"][0])]
    rc, _, err = _register([*source, *argv, "--name", "x", "--submissions-dir", str(tmp_path)], capsys)
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err
    assert expected in err


# --- bad manifests -------------------------------------------------------------------------------------


@pytest.fixture()
def good_manifest(checkpoints: dict, tmp_path_factory: pytest.TempPathFactory, capsys) -> dict:
    subs = tmp_path_factory.mktemp("good")
    bert_dir, _ = checkpoints["bert"]
    assert _register([str(bert_dir), "--name", "good", "--submissions-dir", str(subs)], capsys)[0] == 0
    data = yaml.safe_load((subs / "good.yaml").read_text())
    data["checkpoint"] = str(bert_dir)  # absolute, so a copy works from any folder
    return data


def _broken_checkpoint(source: Path, target: Path, drop: list[str]) -> str:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*drop))
    return str(target)


def _bad_cases(data: dict, bert_dir: Path, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """{case: (manifest text, expected part of the error)}."""
    dump = lambda **changes: yaml.safe_dump({**data, **changes}, sort_keys=False)  # noqa: E731
    # A typo in a required key makes it both unknown and missing; the unknown key is the useful message.
    unknown = {("weight_sha256" if k == "weights_sha256" else k): v for k, v in data.items()}
    no_measure = {k: v for k, v in data.items() if k != "weights_sha256"}
    pickle_dir = _broken_checkpoint(bert_dir, tmp_path / "pickle-only", ["model.safetensors"])
    (Path(pickle_dir) / "pytorch_model.bin").write_bytes(b"not read")
    no_tok = _broken_checkpoint(bert_dir, tmp_path / "no-tok", ["tokenizer.json", "tokenizer_config.json"])
    return {
        "missing_dir": (dump(checkpoint="../nowhere"), "checkpoint directory not found"),
        "wrong_type": (dump(large="yes"), "field 'large': Input should be a valid boolean"),
        "unknown_key": (
            yaml.safe_dump(unknown),
            "unknown key 'weight_sha256'; did you mean 'weights_sha256'? (and 1 more problem(s))",
        ),
        "pickle_only": (dump(checkpoint=pickle_dir), "convert to safetensors"),
        "no_tokenizer": (dump(checkpoint=no_tok), "no tokenizer files in"),
        "broken_yaml": ("name: x\ncheckpoint: [unclosed\n", "not valid YAML (line"),
        "hub_unpinned": (dump(checkpoint="dccuchile/albert-base-spanish"), "pin a revision"),
        "bad_revision": (
            dump(checkpoint="dccuchile/albert-base-spanish", revision="main"),
            "field 'revision'",
        ),
        "unmeasured": (
            yaml.safe_dump(no_measure),
            "'weights_sha256' is missing (measured by `glues-bench register`",
        ),
        "not_a_mapping": ("- a\n- b\n", "expected a mapping"),
        "bad_counts": (dump(params_non_embedding=data["params_total"] + 1), "params_non_embedding"),
    }


CASES = [
    "wrong_type",
    "unknown_key",
    "pickle_only",
    "no_tokenizer",
    "broken_yaml",
    "hub_unpinned",
    "bad_revision",
    "unmeasured",
    "not_a_mapping",
    "bad_counts",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_manifest_is_one_line_error(
    case: str, checkpoints: dict, good_manifest: dict, tmp_path: Path, capsys
):
    text, expected = _bad_cases({**good_manifest, "name": case}, checkpoints["bert"][0], tmp_path)[case]
    subs = tmp_path / "submissions"
    subs.mkdir()
    (subs / f"{case}.yaml").write_text(text)
    capsys.readouterr()
    rc = main(["submissions", "--submissions-dir", str(subs)])
    err = capsys.readouterr().err
    assert rc == 2
    problem, summary = err.splitlines()  # one line for the manifest, one for the count
    assert "Traceback" not in err, err
    assert problem.startswith(f"error: submission {subs / case}.yaml")
    assert expected in problem
    assert summary == f"error: 1 of 1 manifest(s) in {subs}/ failed the checks above"
    with pytest.raises(SubmissionError):
        load_manifest(subs / f"{case}.yaml")


def test_missing_checkpoint_is_listed_and_fails_only_verify(
    checkpoints: dict, good_manifest: dict, tmp_path: Path, capsys
) -> None:
    text, expected = _bad_cases({**good_manifest, "name": "missing_dir"}, checkpoints["bert"][0], tmp_path)[
        "missing_dir"
    ]
    subs = tmp_path / "submissions"
    subs.mkdir()
    (subs / "missing_dir.yaml").write_text(text)
    capsys.readouterr()
    assert main(["submissions", "--submissions-dir", str(subs)]) == 0
    assert "(checkpoint not on this machine)" in capsys.readouterr().out
    assert main(["submissions", "--submissions-dir", str(subs), "--verify"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: submission {subs / 'missing_dir'}.yaml") and expected in err
    with pytest.raises(SubmissionError, match=expected):
        load_manifest(subs / "missing_dir.yaml")


def test_duplicate_names_name_both_files(good_manifest: dict, tmp_path: Path) -> None:
    for suffix in (".yaml", ".yml"):
        (tmp_path / f"good{suffix}").write_text(yaml.safe_dump(good_manifest))
    with pytest.raises(SubmissionError, match=r"'good' is registered twice: .*good\.yaml and .*good\.yml"):
        load_submissions(tmp_path)


def test_listing_and_verify_catch_changed_weights(checkpoints: dict, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "ckpt"
    shutil.copytree(checkpoints["bert"][0], copy)
    subs = tmp_path / "submissions"
    assert _register([str(copy), "--name", "v", "--submissions-dir", str(subs)], capsys)[0] == 0
    assert main(["submissions", "--submissions-dir", str(subs), "--verify"]) == 0
    assert "v " in capsys.readouterr().out
    with open(copy / "model.safetensors", "ab") as handle:
        handle.write(b"\0")
    assert main(["submissions", "--submissions-dir", str(subs), "--verify"]) == 2
    assert "changed since registration" in capsys.readouterr().err


def test_hub_manifest_resolves_to_id_and_revision(good_manifest: dict) -> None:
    sha = "a" * 40
    sub = Submission.model_validate(
        {
            **good_manifest,
            "checkpoint": "dccuchile/albert-base-spanish",
            "revision": sha,
            "trust_remote_code": True,
        }
    )
    assert sub.resolve_checkpoint() == "dccuchile/albert-base-spanish"
    assert sub.model_ref() == ModelRef("dccuchile/albert-base-spanish", revision=sha, trust_remote_code=True)
    assert sub.model_ref().tokenizer_source() == "dccuchile/albert-base-spanish"
    assert sub.model_ref().tokenizer_kwargs() == {"revision": sha, "trust_remote_code": True}
    fields = sub.store_fields()
    assert (fields["hub_id"], fields["hub_revision"], fields["checkpoint_path"]) == (
        "dccuchile/albert-base-spanish",
        sha,
        None,
    )
    assert fields["checkpoint_sha256"] == good_manifest["weights_sha256"]


def test_embedding_rule_and_integer_buffers() -> None:
    names = {
        "albert.embeddings.word_embeddings.weight": True,
        "bert.embeddings.position_embeddings.weight": True,
        "embeddings.token_type_embeddings.weight": True,
        "deberta.encoder.rel_embeddings.weight": True,
        "model.encoder.embed_tokens.weight": True,
        "bert.embeddings.LayerNorm.weight": False,
        "albert.encoder.embedding_hidden_mapping_in.weight": False,
        "cls.predictions.bias": False,
    }
    assert {n: is_embedding_table(n) for n in names} == names
    shapes = {
        "embeddings.word_embeddings.weight": ("F32", (10, 4)),
        "embeddings.LayerNorm.weight": ("BF16", (4,)),
        "embeddings.position_ids": ("I64", (1, 512)),  # an old checkpoint's buffer, not a parameter
    }
    assert count_parameters(shapes) == (44, 4)


# --- names, verification of every manifest, display names, scripts -------------------------------------


def test_manifest_whose_name_is_not_its_file_name_is_refused(
    good_manifest: dict, tmp_path: Path, capsys
) -> None:
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(good_manifest))  # name: good
    with pytest.raises(SubmissionError) as info:
        load_manifest(tmp_path / "other.yaml")
    assert str(info.value) == (
        f"submission {tmp_path / 'other.yaml'}: its name 'good' differs from its file name: "
        "rename the file to good.yaml or set `name: other`"
    )
    capsys.readouterr()
    assert main(["submissions", "--submissions-dir", str(tmp_path)]) == 2
    assert "differs from its file name" in capsys.readouterr().err.splitlines()[0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a" * 201, "201 characters, at most 200 allowed"),
        ("x" + "é" * 3, "use letters, digits, '.', '_' or '-'"),
        ("-leading-dash", "(first a letter or digit)"),
    ],
)
def test_manifest_names_are_checked_for_length_and_charset(
    good_manifest: dict, tmp_path: Path, name: str, expected: str
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**good_manifest, "name": name}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SubmissionError) as info:
        load_manifest(path)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_longest_allowed_name_fits_and_register_refuses_longer_in_one_line(
    checkpoints: dict, good_manifest: dict, tmp_path: Path, capsys
) -> None:
    longest = "n" * 200  # the store's varchar(200)
    (tmp_path / f"{longest}.yaml").write_text(yaml.safe_dump({**good_manifest, "name": longest}))
    assert load_manifest(tmp_path / f"{longest}.yaml").name == longest
    subs = tmp_path / "subs"
    rc, out, err = _register(
        [str(checkpoints["bert"][0]), "--name", "n" * 250, "--submissions-dir", str(subs)], capsys
    )
    assert rc == 2 and out == ""
    assert err == f"error: name {'n' * 24!r}…: 250 characters, at most 200 allowed\n"
    assert not subs.exists()  # nothing written


def test_verify_reports_every_failing_manifest_and_lists_the_good_ones(
    checkpoints: dict, good_manifest: dict, tmp_path: Path, capsys
) -> None:
    subs = tmp_path / "submissions"
    subs.mkdir()
    copy = tmp_path / "changed"
    shutil.copytree(checkpoints["bert"][0], copy)
    for name, checkpoint in (
        ("a-gone", str(tmp_path / "nowhere-a")),
        ("b-good", good_manifest["checkpoint"]),
        ("c-gone", str(tmp_path / "nowhere-c")),
        ("d-changed", str(copy)),
    ):
        (subs / f"{name}.yaml").write_text(
            yaml.safe_dump({**good_manifest, "name": name, "checkpoint": checkpoint})
        )
    with open(copy / "model.safetensors", "ab") as handle:
        handle.write(b"\0")
    capsys.readouterr()
    assert main(["submissions", "--submissions-dir", str(subs)]) == 0  # listing: missing is not a failure
    assert capsys.readouterr().out.count("(checkpoint not on this machine)") == 2
    assert main(["submissions", "--submissions-dir", str(subs), "--verify"]) == 2
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert len(errors) == 4, errors
    assert errors[0].startswith(f"error: submission {subs / 'a-gone.yaml'}: checkpoint directory not found")
    assert errors[1].startswith(f"error: submission {subs / 'c-gone.yaml'}: checkpoint directory not found")
    assert (
        errors[2].startswith("error: submission d-changed: weights in")
        and "changed since registration" in errors[2]
    )
    assert errors[3] == f"error: 3 of 4 manifest(s) in {subs}/ failed the checks above"
    assert [line.split()[0] for line in captured.out.splitlines()] == ["b-good"]


def test_display_name_is_written_and_reaches_the_store_row(checkpoints: dict, tmp_path: Path, capsys) -> None:
    from glues_bench.store import open_store

    subs = tmp_path / "submissions"
    argv = [str(checkpoints["bert"][0]), "--name", "tiny", "--display-name", "Tiny BERT (test)"]
    rc, out, _ = _register([*argv, "--submissions-dir", str(subs)], capsys)
    assert rc == 0 and "display name Tiny BERT (test)" in out
    sub = load_manifest(subs / "tiny.yaml")
    assert yaml.safe_load((subs / "tiny.yaml").read_text())["display_name"] == "Tiny BERT (test)"
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    store.upsert_submission(**sub.store_fields())
    assert store.get_submission("tiny").display_name == "Tiny BERT (test)"
    assert [s.display_name for s in store.snapshot().submissions] == ["Tiny BERT (test)"]


@pytest.mark.parametrize(
    ("script", "argv"),
    [
        ("pretrain_albeto.py", ["--preset", "tiny"]),
        ("distill_distilbeto.py", ["--teacher", "no/such-teacher-dir"]),
    ],
)
def test_training_scripts_refuse_to_replace_a_manifest_without_force(
    tmp_path: Path, script: str, argv: list[str]
) -> None:
    import subprocess
    import sys

    subs = tmp_path / "submissions"
    subs.mkdir()
    manifest = subs / "mine.yaml"
    manifest.write_text("# a committed manifest\n")
    empty = tmp_path / "no-data"
    empty.mkdir()
    command = [sys.executable, str(Path(__file__).parents[1] / "scripts" / script), *argv]
    command += ["--out", str(tmp_path / "out"), "--data-dir", str(empty), "--submissions-dir", str(subs)]
    command += ["--submission-name", "mine", "--threads", "1"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (refused.returncode, refused.stderr) == (
        2,
        f"error: {manifest} already exists: pass --force to replace it\n",
    )
    assert manifest.read_text() == "# a committed manifest\n" and not (tmp_path / "out").exists()
    # With --force it goes on to the work (and fails later, here on the missing corpus or teacher).
    forced = subprocess.run([*command, "--force"], capture_output=True, text=True, timeout=120)
    assert forced.returncode == 2 and "already exists" not in forced.stderr
