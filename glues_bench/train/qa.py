"""Extractive QA head: SQuAD-style windows over long contexts, and span post-processing.

Mirrors HF `run_qa.py` (`prepare_train_features` / `prepare_validation_features`) and `utils_qa.py`
(`postprocess_qa_predictions`, SQuAD v1: no null answer): the question comes first, the context is cut
into windows of `max_length` tokens overlapping by `doc_stride`; a training window is labelled with the
answer's start/end tokens, or with the CLS index when the answer is not wholly inside it; an answer is
the best start+end logit pair over the n-best starts × n-best ends of all windows of a question,
skipping spans outside the context, reversed, or longer than `max_answer_length` tokens.

Differences from the reference, all on inputs where it would crash or mislabel: questions longer than
half the window are cut (run_qa would fail), the training start index never runs past the context
(run_qa can land on the final [SEP] when the answer starts in the last context token), and a question
with no valid span gets "" (utils_qa inserts the string "empty").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from glues_bench.errors import DataError, GluesError
from glues_bench.train.batching import as_array
from glues_bench.train.heads import Encoded, _ids, chunked, model_input_keys, require_fast_tokenizer

Offsets = np.ndarray
"""Per token, a row [start, end) of its character span in the context; [-1, -1] for question and special
tokens. An int32 array of shape (tokens, 2): 8 bytes a token where tuples of Python ints took ~100, which
for TAR dev's windows of 384-512 tokens was most of the evaluation features' memory."""

NOT_CONTEXT = -1

QA_ENCODE_CHUNK = 256
"""Questions tokenised per call. The tokenizer's output for one call is Python lists (ids, offset tuples)
of every window, several hundred bytes a token; small calls keep that transient peak, and the RSS the
allocator keeps after it, small (TAR small dev, 512 tokens: +719 MiB RSS at 2,000 a call, +166 MiB at 256;
`scripts/bench_qa_memory.py`)."""

QUESTION_MARGIN = 2
"""Tokens of slack between the question budget and the stride, in case a cut question re-tokenises longer."""


@dataclass(frozen=True)
class QAWindow:
    example: int
    context_offsets: Offsets


class ExtractiveQAHead:
    """A span in the context: start and end logits per token."""

    auto_class = "AutoModelForQuestionAnswering"

    def encode(self, task, dataset, tokenizer, max_length: int, *, training: bool) -> Encoded:
        require_fast_tokenizer(tokenizer, task.name)
        contexts, questions = list(dataset["context"]), list(dataset["question"])
        examples = list(range(len(contexts)))
        answers: list[tuple[int, str] | None] = []
        if training:
            # Some gold sets have empty first answers (TAR dev: 1,194); train on the first non-empty one.
            answers = [first_answer(a) for a in dataset["answers"]]
            examples = [i for i in examples if answers[i] is not None]
            if not examples:
                raise DataError(f"task {task.name}: no training example has a non-empty answer")
        question_budget = max_length // 2
        stride = doc_stride_for(tokenizer, max_length, question_budget, task.spec.doc_stride)
        features, sources = [], []
        for chunk in chunked(examples, QA_ENCODE_CHUNK):
            encoding = tokenizer(
                # run_qa strips leading spaces: some questions start with many, which wastes the window.
                fit_questions([questions[i].lstrip() for i in chunk], tokenizer, question_budget),
                [contexts[i] for i in chunk],
                truncation="only_second",
                max_length=max_length,
                stride=stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
            keys = model_input_keys(tokenizer, encoding)
            for i, input_ids in enumerate(encoding["input_ids"]):
                example = chunk[encoding["overflow_to_sample_mapping"][i]]
                offsets = context_offsets(encoding["offset_mapping"][i], encoding.sequence_ids(i))
                feature = {key: as_array(encoding[key][i]) for key in keys}
                if training:
                    start_char, text = answers[example]
                    start, end = answer_token_span(
                        offsets, start_char, start_char + len(text), cls_position(input_ids, tokenizer)
                    )
                    feature["start_positions"], feature["end_positions"] = start, end
                    sources.append(example)  # training windows are never decoded: keep them light
                else:
                    sources.append(QAWindow(example, offsets))
                features.append(feature)
        return Encoded(features, sources, len(examples))

    def feature_outputs(self, outputs, batch: dict) -> list[tuple[np.ndarray, np.ndarray]]:
        starts = outputs.start_logits.float().cpu().numpy()
        ends = outputs.end_logits.float().cpu().numpy()
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        return [(s[:n], e[:n]) for s, e, n in zip(starts, ends, lengths, strict=True)]

    def decode(self, task, dataset, encoded: Encoded, outputs) -> dict[str, str]:
        windows_of: dict[int, list] = defaultdict(list)
        for window, (start_logits, end_logits) in zip(encoded.sources, outputs, strict=True):
            windows_of[window.example].append((start_logits, end_logits, window.context_offsets))
        contexts = list(dataset["context"])
        predictions = {}
        for example, question_id in enumerate(_ids(dataset)):
            span = best_span(windows_of[example], task.spec.n_best_size, task.spec.max_answer_length)
            predictions[question_id] = contexts[example][span[0] : span[1]] if span else ""
        return predictions


def first_answer(answers: dict) -> tuple[int, str] | None:
    """(answer_start, text) of the first answer with visible text, or None."""
    for text, start in zip(answers["text"], answers["answer_start"], strict=True):
        if text.strip():
            return int(start), text
    return None


def fit_questions(questions: list[str], tokenizer, max_tokens: int) -> list[str]:
    """Cut questions longer than `max_tokens` sub-tokens at a token boundary (real ones never are)."""
    encoding = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    return [
        question if len(offsets) <= max_tokens else question[: offsets[max_tokens - 1][1]]
        for question, offsets in zip(questions, encoding["offset_mapping"], strict=True)
    ]


def doc_stride_for(tokenizer, max_length: int, question_budget: int, doc_stride: int) -> int:
    """The spec's stride, shrunk only when the window is too small for it (tokenizers panic otherwise)."""
    room = max_length - question_budget - tokenizer.num_special_tokens_to_add(pair=True) - QUESTION_MARGIN
    if room < 1:
        raise GluesError(f"max_seq_length {max_length} is too short for extractive QA windows")
    return min(doc_stride, room)


def cls_position(input_ids: list[int], tokenizer) -> int:
    """Where unanswerable windows point: the CLS token (or position 0 for tokenizers without one)."""
    cls_id = tokenizer.cls_token_id
    return input_ids.index(cls_id) if cls_id is not None and cls_id in input_ids else 0


def context_offsets(offsets: Sequence[tuple[int, int]], sequence_ids: Sequence[int | None]) -> Offsets:
    """The tokenizer's offsets with every token outside the context (sequence id ≠ 1) set to -1."""
    array = np.array(offsets, dtype=np.int32).reshape(len(offsets), 2)
    in_context = np.fromiter((s == 1 for s in sequence_ids), dtype=bool, count=len(sequence_ids))
    array[~in_context] = NOT_CONTEXT
    return array


def offsets_array(spans: Sequence[tuple[int, int] | None]) -> Offsets:
    """Character spans with None for non-context tokens → the (tokens, 2) int32 array `Offsets`."""
    array = np.full((len(spans), 2), NOT_CONTEXT, dtype=np.int32)
    for i, span in enumerate(spans):
        if span is not None:
            array[i] = span
    return array


def answer_token_span(offsets: Offsets, start_char: int, end_char: int, cls_index: int) -> tuple[int, int]:
    """Token positions of the first and last token of [start_char, end_char), or CLS twice when the
    answer is not entirely inside this window's part of the context."""
    context = np.flatnonzero(offsets[:, 0] != NOT_CONTEXT)
    if not len(context):
        return cls_index, cls_index
    first, last = int(context[0]), int(context[-1])
    if not (offsets[first, 0] <= start_char and offsets[last, 1] >= end_char):
        return cls_index, cls_index
    start = first
    while start <= last and offsets[start, 0] <= start_char:
        start += 1
    end = last
    while end >= first and offsets[end, 1] >= end_char:
        end -= 1
    return start - 1, end + 1


def best_span(
    windows: Sequence[tuple[np.ndarray, np.ndarray, Offsets]], n_best_size: int, max_answer_length: int
) -> tuple[int, int] | None:
    """Character span of the highest start+end logit over all windows of one question, or None.

    The n-best starts × n-best ends of a window are scored as one matrix; `argmax` takes the first
    maximum in start-major order and a later window must beat the best strictly, so ties resolve as in
    the candidate loop of HF's `postprocess_qa_predictions` (a stable sort over the same order).
    """
    best: tuple[float, int, int] | None = None
    for start_logits, end_logits, offsets in windows:
        starts = np.argsort(start_logits)[-1 : -n_best_size - 1 : -1]
        ends = np.argsort(end_logits)[-1 : -n_best_size - 1 : -1]
        in_context = offsets[:, 0] != NOT_CONTEXT
        width = ends[None, :] - starts[:, None] + 1
        valid = in_context[starts][:, None] & in_context[ends][None, :] & (width >= 1)
        valid &= width <= max_answer_length
        if not valid.any():
            continue
        scores = np.where(valid, start_logits[starts][:, None] + end_logits[ends][None, :], -np.inf)
        row, column = np.unravel_index(int(np.argmax(scores)), scores.shape)
        score = float(scores[row, column])
        if best is None or score > best[0]:  # strict: ties keep the first, like a stable sort
            best = (score, int(offsets[starts[row], 0]), int(offsets[ends[column], 1]))
    return None if best is None else (best[1], best[2])
