"""One `datasets.Features` schema per task type. Every loader returns exactly these columns.

- token_classification:    id, tokens (list of words), tags (list of label strings, one per word)
- sequence_classification: id, text, text_pair (None for single-text tasks), label (label string)
- extractive_qa:           id, title, context, question, answers {text: [...], answer_start: [...]}

`id` is the example's 0-based position as a string for the first two types (the key `glues-bench
score` predictions use) and the dataset's own question id for QA.
"""

from __future__ import annotations

from datasets import Features, Sequence, Value

from glues_bench.tasks.spec import TaskType

FEATURES: dict[TaskType, Features] = {
    "token_classification": Features(
        {"id": Value("string"), "tokens": Sequence(Value("string")), "tags": Sequence(Value("string"))}
    ),
    "sequence_classification": Features(
        {
            "id": Value("string"),
            "text": Value("string"),
            "text_pair": Value("string"),
            "label": Value("string"),
        }
    ),
    "extractive_qa": Features(
        {
            "id": Value("string"),
            "title": Value("string"),
            "context": Value("string"),
            "question": Value("string"),
            "answers": {"text": Sequence(Value("string")), "answer_start": Sequence(Value("int32"))},
        }
    ),
}
