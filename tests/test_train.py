"""Fine-tuning on a tiny random checkpoint built offline: alignment, windows, QA spans, determinism."""

from __future__ import annotations

import math
import typing

import numpy as np
import pytest
import torch
from datasets import Dataset

from glues_bench.data.schema import FEATURES
from glues_bench.errors import DataError
from glues_bench.tasks.registry import get_task
from glues_bench.tasks.spec import HParams, TaskType
from glues_bench.train import HEADS, TokenizerNotSupported, build_tiny_checkpoint, finetune
from glues_bench.train.batching import IGNORE_INDEX, collate, eval_batches, train_batches
from glues_bench.train.heads import TokenClassificationHead, pack_windows
from glues_bench.train.qa import ExtractiveQAHead, answer_token_span, best_span, offsets_array

SENTENCES = [
    "Juan vive en Madrid y trabaja en el Banco de España .",
    "María compró pan en la panadería de la esquina .",
    "El presidente de Chile visitó Buenos Aires ayer por la tarde .",
    "La capital de Francia es París y su río es el Sena .",
    "Los niños juegan al fútbol en el parque de Sevilla .",
    "Cervantes escribió el Quijote en el siglo diecisiete .",
    "¿ Dónde vive Juan ? Juan vive en Madrid desde hace años .",
]

# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The test machine is shared: one intra-op thread keeps runs small (and is restored afterwards)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-albert"), SENTENCES * 3, arch="albert")


def fast_hparams(epochs: int = 2, lr: float = 5e-3) -> HParams:
    return HParams(batch_size=4, learning_rate=lr, epochs=epochs, warmup_ratio=0.0, weight_decay=0.01)


def ner_dataset(rows: list[tuple[list[str], list[str]]]) -> Dataset:
    return Dataset.from_dict(
        {
            "id": [str(i) for i in range(len(rows))],
            "tokens": [r[0] for r in rows],
            "tags": [r[1] for r in rows],
        },
        features=FEATURES["token_classification"],
    )


def tag_sentence(sentence: str) -> tuple[list[str], list[str]]:
    """Capitalised words (not sentence-initial) are B-LOC, the rest O: a pattern a tiny model can learn."""
    words = sentence.split()
    return words, ["B-LOC" if i > 0 and w[0].isupper() else "O" for i, w in enumerate(words)]


NER_ROWS = [tag_sentence(s) for s in SENTENCES]
# 3 × 7 sentences = 68 words: far more than one 16-token window holds.
LONG_ROW = tag_sentence(" ".join(SENTENCES[:3]))
# "\x07" normalises to nothing: the word has no sub-token of its own but still needs a prediction.
ODD_ROW = (["Juan", "\x07", "vive"], ["B-PER", "O", "O"])


def qa_dataset(rows: list[dict]) -> Dataset:
    columns = {key: [row[key] for row in rows] for key in ("id", "title", "context", "question", "answers")}
    return Dataset.from_dict(columns, features=FEATURES["extractive_qa"])


LONG_CONTEXT = " ".join(SENTENCES)
QA_ROWS = [
    {
        "id": "q-madrid",
        "title": "t",
        "context": LONG_CONTEXT,
        "question": "¿ Dónde vive Juan ?",
        "answers": {"text": ["Madrid"], "answer_start": [LONG_CONTEXT.index("Madrid")]},
    },
    {
        "id": "q-paris",
        "title": "t",
        "context": LONG_CONTEXT,
        "question": "¿ capital de Francia ?",
        # The first gold answer is empty (as in TAR dev): training must use the second one.
        "answers": {"text": ["", "París"], "answer_start": [0, LONG_CONTEXT.index("París")]},
    },
    {
        "id": "q-short",
        "title": "t",
        "context": SENTENCES[5],
        "question": "¿ Quién escribió el Quijote ?",
        "answers": {"text": ["Cervantes"], "answer_start": [0]},
    },
    {
        "id": "q-unanswered",
        "title": "t",
        "context": SENTENCES[4],
        "question": "¿ Dónde juegan ?",
        "answers": {"text": [""], "answer_start": [0]},
    },
]


# -- pure helpers ------------------------------------------------------------------------------------


def test_every_task_type_has_a_head():
    assert set(HEADS) == set(typing.get_args(TaskType))


def test_pack_windows_keeps_every_word_once_and_respects_the_budget():
    assert pack_windows([1, 1, 1], budget=3) == [(0, 3)]
    assert pack_windows([2, 2, 2], budget=4) == [(0, 2), (2, 3)]
    assert pack_windows([1, 5, 1], budget=4) == [(0, 1), (1, 2), (2, 3)]  # an over-long word sits alone
    assert pack_windows([], budget=4) == []


def test_answer_token_span_matches_the_answer_characters():
    # [CLS] q [SEP] "El"(0,2) "gato"(3,7) "come"(8,12) [SEP]
    offsets = offsets_array((None, None, None, (0, 2), (3, 7), (8, 12), None))
    assert answer_token_span(offsets, 3, 7, cls_index=0) == (4, 4)
    assert answer_token_span(offsets, 3, 12, cls_index=0) == (4, 5)
    assert answer_token_span(offsets, 8, 12, cls_index=0) == (5, 5)  # starts in the last context token
    assert answer_token_span(offsets, 13, 20, cls_index=0) == (0, 0)  # not in this window


def test_best_span_skips_invalid_spans_and_takes_the_best_over_windows():
    offsets = offsets_array((None, (0, 2), (3, 7), (8, 12)))
    # Highest pairs are (3, 2) (reversed) and (0, 2) (not context): the best valid one is (1, 2).
    start = np.array([5.0, 1.0, 0.5, 9.0], dtype=np.float32)
    end = np.array([5.0, 2.0, 8.0, -5.0], dtype=np.float32)
    assert best_span([(start, end, offsets)], n_best_size=20, max_answer_length=30) == (0, 7)
    # Over several windows of one question, the highest-scoring valid span wins.
    other = (np.array([0, 0, 0, 20.0], np.float32), np.array([0, 0, 0, 1.0], np.float32), offsets)
    assert best_span([(start, end, offsets), other], 20, 30) == (8, 12)
    assert best_span([(start, end, offsets)], 20, max_answer_length=1) == (3, 7)  # one-token spans only
    assert best_span([(start, end, offsets_array((None,) * 4))], 20, 30) is None


def hf_postprocess_v1(windows, n_best_size: int, max_answer_length: int):
    """HF utils_qa.postprocess_qa_predictions' candidate loop for SQuAD v1, transcribed as a reference."""
    prelim_predictions = []
    for start_logits, end_logits, offset_mapping in windows:
        start_indexes = np.argsort(start_logits)[-1 : -n_best_size - 1 : -1].tolist()
        end_indexes = np.argsort(end_logits)[-1 : -n_best_size - 1 : -1].tolist()
        for start_index in start_indexes:
            for end_index in end_indexes:
                if (
                    start_index >= len(offset_mapping)
                    or end_index >= len(offset_mapping)
                    or offset_mapping[start_index] is None
                    or offset_mapping[end_index] is None
                ):
                    continue
                if end_index < start_index or end_index - start_index + 1 > max_answer_length:
                    continue
                prelim_predictions.append(
                    {
                        "offsets": (offset_mapping[start_index][0], offset_mapping[end_index][1]),
                        "score": start_logits[start_index] + end_logits[end_index],
                    }
                )
    predictions = sorted(prelim_predictions, key=lambda x: x["score"], reverse=True)[:n_best_size]
    return predictions[0]["offsets"] if predictions else None


def test_best_span_agrees_with_hf_postprocessing_on_random_logits():
    rng = np.random.default_rng(0)
    for _ in range(300):
        windows = []
        for _ in range(rng.integers(1, 4)):
            n = int(rng.integers(4, 40))
            question = int(rng.integers(1, n - 1))
            offsets = tuple(None if i <= question or i == n - 1 else (3 * i, 3 * i + 2) for i in range(n))
            # Rounded logits make ties common, so tie-breaking is checked too.
            logits = np.round(rng.normal(size=(2, n)), 1).astype(np.float32)
            windows.append((logits[0], logits[1], offsets))
        n_best, longest = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        as_arrays = [(start, end, offsets_array(offsets)) for start, end, offsets in windows]
        assert best_span(as_arrays, n_best, longest) == hf_postprocess_v1(windows, n_best, longest)


def test_train_batches_cover_every_index_once_and_are_seeded():
    lengths = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11]
    first = train_batches(lengths, 3, torch.Generator().manual_seed(1))
    assert sorted(i for batch in first for i in batch) == list(range(len(lengths)))
    assert len(first) == 4
    assert first == train_batches(lengths, 3, torch.Generator().manual_seed(1))
    assert [sorted(b) for b in eval_batches(lengths, 4)] == [[1, 3, 5, 7], [0, 4, 6, 8], [2, 9, 10]]


def test_collate_pads_dynamically_with_the_right_values():
    features = [
        {"input_ids": np.array([2, 7, 3]), "labels": np.array([-100, 1, -100]), "start_positions": 1},
        {"input_ids": np.array([2, 3]), "labels": np.array([-100, -100]), "start_positions": 0},
    ]
    batch = collate(features, pad_token_id=0)
    assert batch["input_ids"].tolist() == [[2, 7, 3], [2, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [[-100, 1, -100], [-100, -100, IGNORE_INDEX]]
    assert batch["start_positions"].tolist() == [1, 0]
    assert all(tensor.dtype == torch.long for tensor in batch.values())


# -- encoding ----------------------------------------------------------------------------------------


def test_token_labels_sit_on_the_first_sub_token_of_each_word(checkpoint):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    task = get_task("ner").resolve()
    rows = [*NER_ROWS, LONG_ROW]
    encoded = TokenClassificationHead().encode(task, ner_dataset(rows), tokenizer, 16, training=True)
    assert all(len(f["input_ids"]) <= 16 for f in encoded.features)
    assert len(encoded.features) > len(rows)  # the long sentence needed several windows
    for feature, window in zip(encoded.features, encoded.sources, strict=True):
        words, tags = rows[window.example]
        n = len(window.first_token_positions)
        # Reference: HF's rule on this window's words — first position of each word id gets the label.
        reference = tokenizer(words[window.first_word : window.first_word + n], is_split_into_words=True)
        expected, previous = [], None
        for word in reference.word_ids():
            first = word is not None and word != previous
            expected.append(task.labels.index(tags[window.first_word + word]) if first else IGNORE_INDEX)
            previous = word
        assert feature["labels"].tolist() == expected
        assert feature["input_ids"].tolist() == reference["input_ids"]
    covered = sorted(
        (w.example, w.first_word + i) for w in encoded.sources for i in range(len(w.first_token_positions))
    )
    assert covered == [(e, i) for e, (words, _) in enumerate(rows) for i in range(len(words))]


def test_qa_windows_label_the_answer_or_cls(checkpoint):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    task = get_task("sqac").resolve()
    train = qa_dataset(QA_ROWS)
    encoded = ExtractiveQAHead().encode(task, train, tokenizer, 32, training=True)
    assert encoded.n_examples == 3  # the unanswered question is skipped
    assert len(encoded.features) > 3  # long contexts became several overlapping windows
    recovered = {}
    evaluation = ExtractiveQAHead().encode(task, qa_dataset(QA_ROWS[:3]), tokenizer, 32, training=False)
    assert [w.example for w in evaluation.sources] == encoded.sources  # same windows in both modes
    for feature, window in zip(encoded.features, evaluation.sources, strict=True):
        start, end = feature["start_positions"], feature["end_positions"]
        if start == 0:
            assert end == 0
            continue
        context = QA_ROWS[window.example]["context"]
        offsets = window.context_offsets
        recovered.setdefault(window.example, set()).add(context[offsets[start][0] : offsets[end][1]])
    assert recovered == {0: {"Madrid"}, 1: {"París"}, 2: {"Cervantes"}}


def test_qa_decode_on_array_offsets_matches_hf_postprocessing_on_the_tokenizers_offsets(checkpoint):
    """Windows keep offsets as int32 arrays; decoding must pick what HF's loop picks from the tokenizer's
    own offset tuples (None outside the context), on the real windows of a multi-window question."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    task = get_task("sqac").resolve()
    dataset = qa_dataset(QA_ROWS)
    encoded = ExtractiveQAHead().encode(task, dataset, tokenizer, 32, training=False)
    assert all(isinstance(w.context_offsets, np.ndarray) for w in encoded.sources)
    # The reference windows, straight from the tokenizer (same call as run_qa's prepare_validation_features).
    stride = 32 - 16 - tokenizer.num_special_tokens_to_add(pair=True) - 2
    reference = tokenizer(
        [row["question"].lstrip() for row in QA_ROWS],
        [row["context"] for row in QA_ROWS],
        truncation="only_second",
        max_length=32,
        stride=min(task.spec.doc_stride, stride),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    hf_offsets = [
        [tuple(o) if s == 1 else None for o, s in zip(offsets, reference.sequence_ids(i), strict=True)]
        for i, offsets in enumerate(reference["offset_mapping"])
    ]
    assert len(hf_offsets) == len(encoded.features)
    rng = np.random.default_rng(3)
    for _ in range(20):
        outputs = [
            tuple(np.round(rng.normal(size=(2, len(f["input_ids"]))), 1).astype(np.float32))
            for f in encoded.features
        ]
        predicted = ExtractiveQAHead().decode(task, dataset, encoded, outputs)
        for example, row in enumerate(QA_ROWS):
            windows = [
                (start, end, hf_offsets[i])
                for i, (start, end) in enumerate(outputs)
                if reference["overflow_to_sample_mapping"][i] == example
            ]
            span = hf_postprocess_v1(windows, task.spec.n_best_size, task.spec.max_answer_length)
            assert predicted[row["id"]] == (row["context"][span[0] : span[1]] if span else "")


def test_slow_tokenizer_is_refused():
    class SlowTokenizer:
        is_fast = False

    task = get_task("ner").resolve()
    with pytest.raises(TokenizerNotSupported, match="fast"):
        TokenClassificationHead().encode(task, ner_dataset(NER_ROWS), SlowTokenizer(), 16, training=True)


def test_unknown_training_label_is_a_data_error(checkpoint):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    bad = ner_dataset([(["Juan"], ["B-PERSON"])])
    with pytest.raises(DataError, match="B-PERSON"):
        TokenClassificationHead().encode(get_task("ner").resolve(), bad, tokenizer, 16, training=True)


# -- end to end --------------------------------------------------------------------------------------


def test_token_classification_predicts_every_word_and_is_deterministic(checkpoint):
    task = get_task("ner").resolve()
    train = ner_dataset([*NER_ROWS, *NER_ROWS, LONG_ROW])
    dev = ner_dataset([*NER_ROWS, LONG_ROW, ODD_ROW])
    test = ner_dataset([LONG_ROW])
    kwargs = {"device": "cpu", "test": test, "progress": False, "max_seq_length": 16}
    first = finetune(task, checkpoint, train, dev, fast_hparams(), seed=7, **kwargs)
    assert set(first.dev_predictions) == {str(i) for i in range(len(dev))}
    for i, row in enumerate(dev):
        assert len(first.dev_predictions[str(i)]) == len(row["tokens"])
        assert set(first.dev_predictions[str(i)]) <= set(task.labels)
    assert len(first.test_predictions["0"]) == len(LONG_ROW[0]) == 34
    assert first.n_train_features > len(train)  # long sentences were split, not truncated
    assert first.n_train_steps == 2 * math.ceil(first.n_train_features / 4) == len(first.train_loss)
    assert first.device == "cpu" and first.max_seq_length == 16

    again = finetune(task, checkpoint, train, dev, fast_hparams(), seed=7, **kwargs)
    assert again.train_loss == first.train_loss
    assert again.dev_predictions == first.dev_predictions
    other_seed = finetune(task, checkpoint, train, dev, fast_hparams(), seed=8, **kwargs)
    assert other_seed.train_loss != first.train_loss


def test_loss_decreases_on_a_memorisable_set(checkpoint):
    task = get_task("ner").resolve()
    train = ner_dataset(NER_ROWS)
    result = finetune(
        task, checkpoint, train, train, fast_hparams(epochs=20), seed=1, progress=False, max_seq_length=64
    )
    assert result.epoch_loss[-1] < 0.2 * result.epoch_loss[0]
    gold = [tag for _, tags in NER_ROWS for tag in tags]
    predicted = [tag for i in range(len(NER_ROWS)) for tag in result.dev_predictions[str(i)]]
    # Memorised: far above the 81% of tagging everything "O".
    assert sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) >= 0.95


@pytest.mark.parametrize("task_name", ["mldoc", "pawsx"])
def test_sequence_classification_predicts_one_label_per_example(checkpoint, task_name):
    task = get_task(task_name).resolve()
    labels = list(task.labels)
    rows = {
        "id": [str(i) for i in range(len(SENTENCES))],
        "text": SENTENCES,
        "text_pair": list(reversed(SENTENCES)) if task.spec.pair else [None] * len(SENTENCES),
        "label": [labels[i % len(labels)] for i in range(len(SENTENCES))],
    }
    data = Dataset.from_dict(rows, features=FEATURES["sequence_classification"])
    result = finetune(task, checkpoint, data, data, fast_hparams(), seed=3, progress=False, max_seq_length=16)
    assert set(result.dev_predictions) == set(rows["id"])
    assert set(result.dev_predictions.values()) <= set(labels)
    assert result.test_predictions is None


def test_extractive_qa_answers_every_question_with_a_context_substring(checkpoint):
    task = get_task("sqac").resolve()
    train = qa_dataset(QA_ROWS)
    result = finetune(
        task, checkpoint, train, train, fast_hparams(), seed=5, test=train, progress=False, max_seq_length=32
    )
    assert set(result.dev_predictions) == {row["id"] for row in QA_ROWS}
    for row in QA_ROWS:
        answer = result.dev_predictions[row["id"]]
        assert answer in row["context"]
        assert len(answer.split()) <= task.spec.max_answer_length
    assert result.n_train_examples == 3
    assert result.test_predictions == result.dev_predictions
