"""One head per task type: how examples become features, and how model outputs become predictions.

A head is chosen by `task.task_type` from `HEADS`, never by task name. Each head has three steps:

- `encode(task, dataset, tokenizer, max_length, training=...)` → `Encoded` (features + a record per
  feature of where it came from). Training features carry targets; evaluation features do not.
- `feature_outputs(outputs, batch)` → per feature, the small part of the model output decoding needs
  (label ids, or trimmed QA logits), so evaluation never holds full logit tensors.
- `decode(task, dataset, encoded, outputs)` → predictions in the `glues-bench score` format, keyed by
  the dataset's `id` column: `{"0": "entailment"}`, `{"0": ["B-PER", "O"]}`, QA `{question_id: text}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from glues_bench.errors import DataError, GluesError, TokenizerNotSupported
from glues_bench.train.batching import IGNORE_INDEX, Feature, as_array

ENCODE_CHUNK = 2000
"""Examples tokenised per call: bounds the memory of the tokenizer's Python-list output."""


@dataclass(frozen=True)
class Encoded:
    """Features of one split and, aligned with them, what each feature covers (head-specific)."""

    features: list[Feature]
    sources: list[Any]
    n_examples: int
    """Examples that produced at least one feature (QA training skips unanswered questions)."""


class Head(Protocol):
    auto_class: str
    """The `transformers` Auto class that builds this head on top of an encoder."""

    def encode(
        self, task: Any, dataset: Any, tokenizer: Any, max_length: int, *, training: bool
    ) -> Encoded: ...

    def feature_outputs(self, outputs: Any, batch: dict) -> list[Any]: ...

    def decode(self, task: Any, dataset: Any, encoded: Encoded, outputs: Sequence[Any]) -> dict[str, Any]: ...


# -- token classification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenWindow:
    """A run of whole words of one sentence, and the position of each word's first sub-token."""

    example: int
    first_word: int
    first_token_positions: tuple[int, ...]


class TokenClassificationHead:
    """One label per word: the first sub-token of each word carries it; long sentences become windows."""

    auto_class = "AutoModelForTokenClassification"

    def encode(self, task, dataset, tokenizer, max_length: int, *, training: bool) -> Encoded:
        require_fast_tokenizer(tokenizer, task.name)
        prefix, suffix = special_affixes(tokenizer)
        budget = max_length - len(prefix) - len(suffix)
        if budget < 1:
            raise GluesError(f"max_seq_length {max_length} leaves no room for words after special tokens")
        sentences = [list(words) for words in dataset["tokens"]]
        tag_ids = _tag_ids(task, dataset, sentences) if training else None
        with_segments = "token_type_ids" in tokenizer.model_input_names
        features, sources = [], []
        for example, pieces in enumerate(word_pieces(tokenizer, sentences)):
            for start, end in pack_windows([len(p) for p in pieces], budget):
                input_ids, labels, firsts = list(prefix), [IGNORE_INDEX] * len(prefix), []
                for word in range(start, end):
                    word_ids = pieces[word][:budget]  # a word longer than a window keeps its head
                    firsts.append(len(input_ids))
                    input_ids += word_ids
                    if tag_ids is not None:
                        labels += [tag_ids[example][word]] + [IGNORE_INDEX] * (len(word_ids) - 1)
                input_ids += suffix
                feature: Feature = {"input_ids": as_array(input_ids)}
                if with_segments:
                    feature["token_type_ids"] = as_array([0] * len(input_ids))
                if tag_ids is not None:
                    feature["labels"] = as_array(labels + [IGNORE_INDEX] * len(suffix))
                features.append(feature)
                sources.append(TokenWindow(example, start, tuple(firsts)))
        n_examples = len({window.example for window in sources})
        return Encoded(features, sources, n_examples)

    def feature_outputs(self, outputs, batch: dict) -> list[list[int]]:
        label_ids = outputs.logits.argmax(dim=-1).cpu()
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        return [row[:length].tolist() for row, length in zip(label_ids, lengths, strict=True)]

    def decode(self, task, dataset, encoded: Encoded, outputs) -> dict[str, list[str]]:
        predicted: list[list[str | None]] = [[None] * len(words) for words in dataset["tokens"]]
        for window, label_ids in zip(encoded.sources, outputs, strict=True):
            for offset, position in enumerate(window.first_token_positions):
                predicted[window.example][window.first_word + offset] = task.labels[label_ids[position]]
        return dict(zip(_ids(dataset), predicted, strict=True))


def word_pieces(tokenizer, sentences: list[list[str]]) -> list[list[list[int]]]:
    """Sub-token ids of every word of every sentence (no special tokens).

    A word the tokenizer turns into nothing (e.g. a lone control character) becomes the unknown token,
    so that every gold word still gets exactly one prediction.
    """
    non_empty = [i for i, words in enumerate(sentences) if words]
    result: list[list[list[int]]] = [[] for _ in sentences]
    for chunk in chunked(non_empty):
        # Unbounded on purpose (windows come later): verbose=False silences the "longer than max" warning.
        encoding = tokenizer(
            [sentences[i] for i in chunk], is_split_into_words=True, add_special_tokens=False, verbose=False
        )
        for row, i in enumerate(chunk):
            pieces: list[list[int]] = [[] for _ in sentences[i]]
            for token_id, word in zip(encoding["input_ids"][row], encoding.word_ids(row), strict=True):
                if word is not None:
                    pieces[word].append(token_id)
            result[i] = [p or [_unknown_id(tokenizer)] for p in pieces]
    return result


def pack_windows(word_lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Split words into consecutive [start, end) windows of at most `budget` sub-tokens each.

    Greedy and without overlap, so each word lands in exactly one window. A word longer than the budget
    gets a window of its own (it is cut to the budget there; only its first sub-token is scored).
    """
    windows: list[tuple[int, int]] = []
    start, used = 0, 0
    for index, length in enumerate(word_lengths):
        length = min(length, budget)
        if used + length > budget and index > start:
            windows.append((start, index))
            start, used = index, 0
        used += length
    if start < len(word_lengths):
        windows.append((start, len(word_lengths)))
    return windows


def special_affixes(tokenizer) -> tuple[list[int], list[int]]:
    """Special tokens the tokenizer puts around one sequence (`[CLS]`…`[SEP]`, `<s>`…`</s>`)."""
    probe = tokenizer(["x"], is_split_into_words=True)
    word_ids = probe.word_ids()
    first = next(i for i, w in enumerate(word_ids) if w is not None)
    last = max(i for i, w in enumerate(word_ids) if w is not None)
    return list(probe["input_ids"][:first]), list(probe["input_ids"][last + 1 :])


def _tag_ids(task, dataset, sentences: list[list[str]]) -> list[list[int]]:
    index = {label: i for i, label in enumerate(task.labels)}
    result = []
    for example_id, words, tags in zip(_ids(dataset), sentences, dataset["tags"], strict=True):
        if len(tags) != len(words):
            raise DataError(f"training example id={example_id}: {len(words)} words but {len(tags)} tags")
        result.append([_label_index(index, tag, example_id, task.name) for tag in tags])
    return result


# -- sequence classification -------------------------------------------------------------------------


class SequenceClassificationHead:
    """One label per text or text pair; the pair is truncated longest-first to the maximum length."""

    auto_class = "AutoModelForSequenceClassification"

    def encode(self, task, dataset, tokenizer, max_length: int, *, training: bool) -> Encoded:
        texts = list(dataset["text"])
        pairs = list(dataset["text_pair"]) if task.spec.pair else None
        if pairs is not None:
            missing = next((i for i, text in zip(_ids(dataset), pairs, strict=True) if text is None), None)
            if missing is not None:
                raise DataError(f"example id={missing}: task {task.name} needs a text_pair, found none")
        features: list[Feature] = []
        for chunk in chunked(range(len(texts))):
            encoding = tokenizer(
                [texts[i] for i in chunk],
                [pairs[i] for i in chunk] if pairs is not None else None,
                truncation="longest_first",
                max_length=max_length,
            )
            keys = model_input_keys(tokenizer, encoding)
            features += [{key: as_array(encoding[key][row]) for key in keys} for row in range(len(chunk))]
        if training:
            index = {label: i for i, label in enumerate(task.labels)}
            for feature, example_id, label in zip(features, _ids(dataset), dataset["label"], strict=True):
                feature["labels"] = _label_index(index, label, example_id, task.name)
        return Encoded(features, list(range(len(texts))), len(texts))

    def feature_outputs(self, outputs, batch: dict) -> list[int]:
        return outputs.logits.argmax(dim=-1).tolist()

    def decode(self, task, dataset, encoded: Encoded, outputs) -> dict[str, str]:
        ids = _ids(dataset)
        return {
            ids[example]: task.labels[label_id]
            for example, label_id in zip(encoded.sources, outputs, strict=True)
        }


# -- shared helpers ----------------------------------------------------------------------------------


def require_fast_tokenizer(tokenizer, task_name: str) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise TokenizerNotSupported(
            f"task {task_name} needs a fast (Rust) tokenizer for word ids and character offsets; "
            f"{type(tokenizer).__name__} is a slow one (ship a tokenizer.json with the checkpoint)"
        )


def model_input_keys(tokenizer, encoding) -> list[str]:
    """The encoding's keys the model accepts (e.g. DistilBERT takes no `token_type_ids`), but the
    attention mask, which `collate` derives from lengths."""
    return [key for key in tokenizer.model_input_names if key in encoding and key != "attention_mask"]


def chunked(indices: Sequence[int], size: int = ENCODE_CHUNK) -> list[Sequence[int]]:
    return [indices[i : i + size] for i in range(0, len(indices), size)]


def _ids(dataset) -> list[str]:
    return [str(example_id) for example_id in dataset["id"]]


def _label_index(index: dict[str, int], label: str, example_id: str, task_name: str) -> int:
    if label not in index:
        raise DataError(
            f"training example id={example_id}: label {label!r} is not in task {task_name}'s label set"
        )
    return index[label]


def _unknown_id(tokenizer) -> int:
    if tokenizer.unk_token_id is None:
        raise TokenizerNotSupported(
            "a word produced no sub-tokens and the tokenizer has no unknown token to stand in for it"
        )
    return tokenizer.unk_token_id
