"""In-house models: presets vs the paper's tables, tokenizer, masking, SOP pairs, training, exact resume,
DistilBETO's student, export and registration."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from glues_bench.errors import PretrainError, UnknownName
from glues_bench.pretrain.albert import (
    PRESETS,
    Preset,
    PretrainConfig,
    build_model,
    count_parameters,
    get_preset,
    pretrain,
)
from glues_bench.pretrain.corpus import (
    CorpusSource,
    HubColumn,
    detokenize,
    load_documents,
    parse_corpus_source,
    read_conll_documents,
    read_text_documents,
    write_text_documents,
)
from glues_bench.pretrain.distill import (
    DistillConfig,
    LossWeights,
    build_student,
    distill,
    student_config,
    teacher_layers_for,
    triple_loss,
)
from glues_bench.pretrain.instances import (
    InstanceStream,
    pair_instances,
    single_instances,
    tokenize_documents,
)
from glues_bench.pretrain.loop import latest_checkpoint, linear_schedule, read_log
from glues_bench.pretrain.masking import (
    IGNORE_INDEX,
    MaskingConfig,
    Vocabulary,
    candidate_words,
    choose_masked_spans,
    mask_tokens,
    max_predictions_for,
)
from glues_bench.pretrain.tokenizer import train_tokenizer

# The paper's Table 1 (parameters in millions, layers, hidden, embedding) and Table 2 (lr, batch,
# warm-up, total steps), typed in from the PDF text -- independent of the presets' own fields.
TABLE_1 = {
    "tiny": (5, 4, 312, 128),
    "base": (12, 12, 768, 128),
    "large": (18, 24, 1024, 128),
    "xlarge": (59, 24, 2048, 128),
    "xxlarge": (223, 12, 4096, 128),
}
TABLE_2 = {
    "tiny": (1.25e-3, 2048, 125_000, 8_300_000),
    "base": (8.83e-4, 960, 53_333, 3_650_000),
    "large": (6.25e-4, 512, 12_500, 1_450_000),
    "xlarge": (3.12e-4, 128, 6_250, 2_775_000),
    "xxlarge": (3.12e-4, 128, 3_125, 1_650_000),
}
SPANISH = [
    [
        "El Abogado General del Estado subrayó hoy la necesidad de tomar medidas.",
        "La petición tiene lugar hoy.",
    ],
    ["Él dijo que sí, pero el juez dijo que si llovía no habría juicio.", "Nadie sabía qué hacer después."],
]


# A 2-layer ALBERT on the tokenizer's own vocabulary: the training tests' model (the real presets are
# checked on the meta device; training them here would take minutes).
# LAMB moves each layer by lr x its weight norm, so a few steps need a large learning rate to show.
MICRO = Preset("test-micro", "albert", 2, 64, 2, 128, 32, 0, None, 0.1, 8, 2, 20)


@pytest.fixture(autouse=True)
def micro_preset(monkeypatch):
    monkeypatch.setitem(PRESETS, MICRO.name, MICRO)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a shared machine spinning threads cost seconds."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def conll_documents(shared_data: Path) -> list[list[str]]:
    return read_conll_documents(shared_data / "conll2002" / "esp.train")[:40]


@pytest.fixture(scope="module")
def tokenizer(conll_documents, tmp_path_factory):
    from transformers import AutoTokenizer

    texts = ["\n".join(doc) for doc in conll_documents]
    return AutoTokenizer.from_pretrained(
        train_tokenizer(texts, tmp_path_factory.mktemp("tok"), vocab_size=1500)
    )


@pytest.fixture(scope="module")
def tokenized(conll_documents, tokenizer):
    return tokenize_documents(conll_documents, tokenizer)


# ---- presets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TABLE_1))
def test_preset_parameter_count_rounds_to_table_1(name: str) -> None:
    from transformers import AlbertForPreTraining

    millions, layers, hidden, embedding = TABLE_1[name]
    preset = get_preset(name)
    assert (preset.layers, preset.hidden, preset.embedding, preset.vocab_size) == (
        layers,
        hidden,
        embedding,
        31_000,
    )
    with torch.device("meta"):
        model = build_model(preset)
    assert isinstance(model, AlbertForPreTraining)
    assert round(count_parameters(model) / 1e6) == millions


@pytest.mark.parametrize("name", sorted(TABLE_2))
def test_preset_schedule_is_table_2(name: str) -> None:
    preset = get_preset(name)
    assert (preset.learning_rate, preset.batch_size, preset.warmup_steps, preset.total_steps) == TABLE_2[name]


def test_preset_heads_divide_hidden_and_unknown_preset_suggests() -> None:
    for preset in PRESETS.values():
        assert preset.hidden % preset.heads == 0
    with pytest.raises(UnknownName, match="Did you mean 'tiny'"):
        get_preset("tinny")


def test_resolved_config_reaches_preset_batch_and_scales_warmup() -> None:
    resolved = PretrainConfig(preset="tiny", micro_batch_size=48, max_steps=83_000).resolved()
    assert resolved["accumulation"] == 43  # ceil(2048 / 48)
    assert resolved["batch_size"] == 2064
    assert resolved["warmup_steps"] == 1250  # 125,000 * 83,000 / 8,300,000
    assert PretrainConfig(preset="tiny").resolved()["warmup_steps"] == 125_000


def test_linear_schedule_warms_up_then_decays_to_zero() -> None:
    factor = linear_schedule(warmup_steps=4, total_steps=10)
    assert [factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert factor(4) == 1.0
    assert factor(7) == pytest.approx(0.5)
    assert factor(10) == 0.0


# ---- tokenizer -------------------------------------------------------------------------------------


def test_tokenizer_is_a_lowercase_albert_tokenizer_that_keeps_accents(tokenizer) -> None:
    from transformers import AlbertTokenizerFast

    assert isinstance(tokenizer, AlbertTokenizerFast)
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert tokenizer.tokenize("EL ESTADO") == tokenizer.tokenize("el estado")
    assert tokenizer.tokenize("él") != tokenizer.tokenize("el")
    assert "[MASK]" in tokenizer.tokenize("el [MASK] dijo")
    encoded = tokenizer("el juez", "la ley")["input_ids"]
    assert encoded[0] == 2 and encoded.count(3) == 2


def test_tokenizer_shrinks_vocabulary_on_small_corpora(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    corpus = write_text_documents(SPANISH, tmp_path / "corpus.txt")
    out = train_tokenizer([corpus], tmp_path / "tok")  # default 31K on ~200 characters
    assert 5 < len(AutoTokenizer.from_pretrained(out)) < 31_000
    with pytest.raises(PretrainError, match="no text"):
        train_tokenizer(["", "  "], tmp_path / "empty")


def test_corpus_sources(tmp_path: Path) -> None:
    source = parse_corpus_source("hf:wikimedia/wikipedia/20231101.es:train:text@" + "a" * 40)
    hub = HubColumn("wikimedia/wikipedia", "20231101.es", "train", "text", "a" * 40)
    assert source == CorpusSource("hf", "wikimedia/wikipedia", hub)
    assert source.describe() == "hf:wikimedia/wikipedia/20231101.es:train:text@" + "a" * 40
    with pytest.raises(PretrainError, match="hf:NAME"):
        parse_corpus_source("hf:wikimedia/wikipedia")
    with pytest.raises(PretrainError, match="not found"):
        parse_corpus_source("conll:nowhere/esp.train", data_dir=tmp_path)
    (tmp_path / "c.txt").write_text("hola\n")
    assert parse_corpus_source("c.txt", data_dir=tmp_path) == CorpusSource("text", str(tmp_path / "c.txt"))


def test_hf_corpus_reads_its_column_through_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An `hf:` source goes through `datasets.load_dataset` (here a local folder, which it treats like a
    hub repo): the named column's rows become documents, and a missing column is one clear error."""
    import json

    (tmp_path / "corpus" / "data").mkdir(parents=True)
    rows = [{"text": "Hola mundo. Esto es una prueba.\nOtra línea.", "id": 1}, {"text": "", "id": 2}]
    (tmp_path / "corpus/data/train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    documents = load_documents(parse_corpus_source("hf:corpus:train:text"))
    assert documents == [["Hola mundo.", "Esto es una prueba.", "Otra línea."]]  # empty row: none
    with pytest.raises(PretrainError, match="no column 'body'"):
        load_documents(parse_corpus_source("hf:corpus:train:body"))


def test_text_corpus_round_trip_and_detokenize(tmp_path: Path) -> None:
    path = write_text_documents(SPANISH, tmp_path / "c.txt")
    assert read_text_documents(path) == SPANISH
    assert detokenize(["Santander", ",", "25", "may", "(", "EFE", ")", "."]) == "Santander, 25 may (EFE)."


def test_conll_articles_split_at_efe_datelines(shared_data: Path) -> None:
    documents = read_conll_documents(shared_data / "conll2002" / "esp.train")
    assert sum(len(d) for d in documents) == 8323  # every sentence of the file, none lost
    assert documents[0][0] == "Melbourne (Australia), 25 may (EFE)."
    assert documents[1][0] == "Santander, 25 may (EFE)."


# ---- masking and instances -------------------------------------------------------------------------


def test_max_predictions_matches_albert() -> None:
    assert (max_predictions_for(128), max_predictions_for(512)) == (20, 77)


def test_whole_word_ngram_masking(tokenizer) -> None:
    vocab = Vocabulary.from_tokenizer(tokenizer)
    ids = tokenizer("el abogado general del estado subrayó hoy la necesidad de tomar medidas urgentes")[
        "input_ids"
    ]
    words = candidate_words(ids, vocab, whole_word=True)
    assert all(0 < p < len(ids) - 1 for w in words for p in w)  # [CLS]/[SEP] never candidates
    config = MaskingConfig(max_predictions=20)
    budget = round(len(ids) * 0.15)
    n_masked = n_mask_token = n_kept = 0
    for seed in range(400):
        inputs, labels = mask_tokens(ids, vocab, config, np.random.default_rng(seed))
        chosen = np.flatnonzero(labels != IGNORE_INDEX)
        assert 1 <= len(chosen) <= budget
        assert labels[chosen].tolist() == [ids[p] for p in chosen]
        for word in words:  # a word is masked whole or not at all
            assert len(set(chosen) & set(word)) in (0, len(word))
        n_masked += len(chosen)
        n_mask_token += int((inputs[chosen] == vocab.mask_id).sum())
        n_kept += int((inputs[chosen] == labels[chosen]).sum())
    assert n_mask_token / n_masked == pytest.approx(0.8, abs=0.04)
    assert n_kept / n_masked == pytest.approx(0.1, abs=0.03)


def test_ngram_lengths_follow_inverse_n() -> None:
    """The first n-gram of a draw (budget permitting) has n words with p(n) = (1/n) / (1 + 1/2 + 1/3)."""
    words = [[i] for i in range(60)]
    config = MaskingConfig(max_predictions=60)
    counts = {1: 0, 2: 0, 3: 0}
    for seed in range(2000):
        first = choose_masked_spans(words, n_tokens=400, config=config, rng=np.random.default_rng(seed))[0]
        if first[0] < 58:  # the last two words cannot start a 3-gram
            counts[len(first)] += 1
    total = sum(counts.values())
    for n, expected in ((1, 6 / 11), (2, 3 / 11), (3, 2 / 11)):
        assert counts[n] / total == pytest.approx(expected, abs=0.035)  # ~3 standard errors


def test_sop_pairs_are_consecutive_and_swapped_half_the_time() -> None:
    # Each document is a run of consecutive integers, so order is checkable from the ids alone.
    documents, next_id = [], 0
    for n_sentences in (3, 5, 8, 1, 12) * 20:
        doc = []
        for _ in range(n_sentences):
            doc.append(list(range(next_id, next_id + 7)))
            next_id += 7
        documents.append(doc)
    instances = pair_instances(documents, max_seq_len=40, rng=random.Random(0))
    assert len(instances) > 100
    for inst in instances:
        first, second = (inst.tokens_b, inst.tokens_a) if inst.swapped else (inst.tokens_a, inst.tokens_b)
        joined = first + second
        assert first and second and len(joined) <= 37
        assert list(joined) == list(range(joined[0], joined[0] + len(joined)))
    assert np.mean([i.swapped for i in instances]) == pytest.approx(0.5, abs=0.1)


def test_single_instances_cover_the_text_in_order() -> None:
    documents = [[[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11]], [[20, 21]]]
    chunks = [inst.tokens_a for inst in single_instances(documents, max_seq_len=6)]
    assert chunks == [(1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11), (20, 21)]


def test_stream_batches_are_deterministic_and_resumable(tokenized, tokenizer) -> None:
    def stream() -> InstanceStream:
        return InstanceStream(tokenized, tokenizer, 64, MaskingConfig(max_predictions=10), pairs=True, seed=3)

    full = stream()
    size = len(full._instances) // 2 + 1
    batches = [full.next_batch(size) for _ in range(4)]  # the 2nd batch crosses into epoch 1
    assert full.epoch == 1
    interrupted = stream()
    interrupted.next_batch(size)
    later = stream()
    later.load_state_dict(interrupted.state_dict())
    for expected in batches[1:]:
        got = later.next_batch(size)
        assert all(torch.equal(got[k], expected[k]) for k in expected)
    assert not torch.equal(batches[0]["input_ids"][:4], batches[2]["input_ids"][:4])  # epochs differ


# ---- training ---------------------------------------------------------------------------------------


def _albert_config(**overrides) -> PretrainConfig:
    settings = dict(
        preset=MICRO.name,
        seq_len=64,
        max_steps=20,
        micro_batch_size=8,
        accumulation=1,
        checkpoint_every=4,
        progress=False,
        device="cpu",
    )
    return PretrainConfig(**{**settings, **overrides})


def test_albert_pretraining_lowers_the_loss_and_exports_an_hf_checkpoint(
    tokenized, tokenizer, tmp_path
) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    result = pretrain(tokenized, tokenizer, _albert_config(), tmp_path / "run")
    losses = [result.loop.losses[s] for s in sorted(result.loop.losses)]
    assert len(losses) == 20
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.5
    assert [r["step"] for r in read_log(tmp_path / "run")] == list(range(1, 21))
    assert set(read_log(tmp_path / "run")[0]) >= {"loss", "mlm", "sop", "lr", "tokens_per_s"}
    model_dir = result.model_dir
    assert (model_dir / "model.safetensors").is_file() and not (model_dir / "pytorch_model.bin").exists()
    classifier = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=3)
    assert (classifier.config.num_hidden_layers, classifier.config.vocab_size) == (2, len(tokenizer))
    # the last training checkpoint is a separate save of the trained weights: the export must match it
    saved = load_file(latest_checkpoint(tmp_path / "run") / "model.safetensors")
    assert torch.equal(
        classifier.albert.embeddings.word_embeddings.weight, saved["albert.embeddings.word_embeddings.weight"]
    )
    assert type(AutoTokenizer.from_pretrained(model_dir)).__name__ == "AlbertTokenizer"


@pytest.mark.parametrize("kind", ["albert", "distil"])
def test_resume_after_a_kill_reproduces_the_uninterrupted_losses(
    kind, tokenized, tokenizer, tmp_path
) -> None:
    """Run 6 steps checkpointing at 3; resume a fresh run from step 3: steps 4-6 must match exactly."""
    if kind == "albert":
        config = _albert_config(max_steps=6, checkpoint_every=3)
        full = pretrain(tokenized, tokenizer, config, tmp_path / "full").loop
        resumed_dir = tmp_path / "resumed"
        resumed = pretrain(tokenized, tokenizer, config, resumed_dir, _checkpoint(tmp_path / "full", 3)).loop
    else:
        teacher = _tiny_teacher(tokenizer)
        config = _distill_config(max_steps=6, checkpoint_every=3)
        full = distill(tokenized, tokenizer, teacher, config, tmp_path / "full").loop
        resumed_dir = tmp_path / "resumed"
        resumed = distill(
            tokenized, tokenizer, teacher, config, resumed_dir, _checkpoint(tmp_path / "full", 3)
        ).loop
    assert sorted(resumed.losses) == [4, 5, 6]
    assert [resumed.losses[s] for s in (4, 5, 6)] == [full.losses[s] for s in (4, 5, 6)]
    assert resumed.components[6] == full.components[6]
    assert resumed.tokens_total == full.tokens_total > resumed.tokens  # earlier sessions' tokens carried


def test_resume_refuses_a_different_run(tokenized, tokenizer, tmp_path) -> None:
    pretrain(tokenized, tokenizer, _albert_config(max_steps=2, checkpoint_every=2), tmp_path / "a")
    with pytest.raises(PretrainError, match="learning_rate"):
        pretrain(
            tokenized,
            tokenizer,
            _albert_config(max_steps=4, learning_rate=1e-3),
            tmp_path / "b",
            _checkpoint(tmp_path / "a", 2),
        )


def test_log_of_a_killed_run_is_truncated_on_resume(tokenized, tokenizer, tmp_path) -> None:
    run = tmp_path / "run"
    pretrain(tokenized, tokenizer, _albert_config(max_steps=3, checkpoint_every=2), run)
    # the "killed" run got to step 3 after checkpoint 2; resuming must not log step 3 twice
    pretrain(tokenized, tokenizer, _albert_config(max_steps=4, checkpoint_every=2), run, _checkpoint(run, 2))
    assert [r["step"] for r in read_log(run)] == [1, 2, 3, 4]


def _checkpoint(run: Path, step: int) -> Path:
    path = run / "checkpoints" / f"step-{step:07d}"
    assert (path / "state.json").is_file()
    return path


# ---- distillation -----------------------------------------------------------------------------------


def _tiny_teacher(tokenizer):
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(1)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    return BertForMaskedLM(config)


def _distill_config(**overrides) -> DistillConfig:
    settings = dict(
        teacher="tiny",
        seq_len=64,
        max_steps=10,
        micro_batch_size=8,
        accumulation=1,
        learning_rate=2e-3,
        checkpoint_every=5,
        progress=False,
        device="cpu",
    )
    return DistillConfig(**{**settings, **overrides})


def test_distilbeto_student_of_beto() -> None:
    from transformers import BertConfig, DistilBertForMaskedLM

    beto = BertConfig(
        vocab_size=31002,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
    )
    config = student_config(beto)
    assert (config.n_layers, config.dim, config.hidden_dim, config.n_heads) == (6, 768, 3072, 12)
    with torch.device("meta"):
        student = DistilBertForMaskedLM(config)
    names = [name for name, _ in student.named_parameters()]
    assert not any("token_type" in n or "pooler" in n for n in names)
    assert len(student.distilbert.transformer.layer) == 6
    assert round(count_parameters(student) / 1e6) == 67
    assert teacher_layers_for(12, 6) == [0, 2, 4, 7, 9, 11]  # Sanh et al.'s extract_distilbert.py


def test_student_copies_teacher_layers_and_a_full_depth_copy_is_the_teacher(tokenizer) -> None:
    teacher = _tiny_teacher(tokenizer).eval()
    student = build_student(teacher)
    assert student.config.n_layers == 2
    assert torch.equal(
        student.distilbert.transformer.layer[1].ffn.lin1.weight,
        teacher.bert.encoder.layer[3].intermediate.dense.weight,
    )
    assert student.vocab_projector.weight is student.distilbert.embeddings.word_embeddings.weight
    full = build_student(teacher, n_layers=4).eval()
    ids = torch.tensor([tokenizer("el juez dijo que la ley")["input_ids"]])
    with torch.no_grad():
        expected = teacher(input_ids=ids).logits
        got = full(input_ids=ids).logits
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_triple_loss_hand_computed() -> None:
    # one sequence of 2 tokens + 1 pad, vocab 2; token 0 is masked
    s_logits = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]]])
    t_logits = torch.tensor([[[2.0, 0.0], [1.0, 0.0], [0.0, 9.0]]])
    s_hidden = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [3.0, 3.0]]])
    t_hidden = torch.tensor([[[0.0, 1.0], [1.0, 1.0], [-3.0, 3.0]]])
    labels = torch.tensor([[1, -100, -100]])
    mask = torch.tensor([[1, 1, 0]])
    total, parts = triple_loss(s_logits, t_logits, s_hidden, t_hidden, labels, mask, LossWeights())
    # KL at T=2 for token 0: p_t = softmax([1, 0]), p_s = uniform; token 1 identical -> 0; batchmean over 2
    p = torch.softmax(torch.tensor([1.0, 0.0]), -1)
    kl_token0 = float((p * (p.log() - torch.log(torch.tensor([0.5, 0.5])))).sum())
    assert float(parts["ce"]) == pytest.approx(kl_token0 / 2 * 4, rel=1e-5)
    assert float(parts["mlm"]) == pytest.approx(np.log(2), rel=1e-5)  # uniform over 2 classes
    assert float(parts["cos"]) == pytest.approx((1 - 0 + 1 - 1) / 2, rel=1e-5)  # orthogonal, then identical
    expected = 5 * float(parts["ce"]) + 2 * float(parts["mlm"]) + 1 * float(parts["cos"])
    assert float(total) == pytest.approx(expected, rel=1e-6)


def test_distillation_lowers_the_loss_and_saves_a_token_type_free_model(
    tokenized, tokenizer, tmp_path
) -> None:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    result = distill(tokenized, tokenizer, _tiny_teacher(tokenizer), _distill_config(), tmp_path / "d")
    losses = [result.loop.losses[s] for s in sorted(result.loop.losses)]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert result.teacher_layers == [0, 3]
    model = AutoModelForMaskedLM.from_pretrained(result.model_dir)
    assert type(model).__name__ == "DistilBertForMaskedLM"
    assert "token_type_ids" not in AutoTokenizer.from_pretrained(result.model_dir)("hola")
    summary = json.loads((result.model_dir / "training_summary.json").read_text())
    assert summary["steps"] == 10 and summary["run_config"]["teacher_layers"] == [0, 3]


def test_register_inhouse_writes_a_valid_manifest(tokenized, tokenizer, tmp_path) -> None:
    from glues_bench.pretrain.manifest import register_inhouse
    from glues_bench.submissions import load_manifest

    result = pretrain(tokenized, tokenizer, _albert_config(max_steps=1), tmp_path / "run")
    path = register_inhouse(
        result.model_dir, "albeto-test", "ALBETO", "1 step", tmp_path / "subs", "research only"
    )
    manifest = load_manifest(path)
    assert (manifest.origin, manifest.family, manifest.architecture) == ("in-house", "ALBETO", "albert")
    assert manifest.params_total == result.n_parameters and not manifest.trust_remote_code
