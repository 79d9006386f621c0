"""Extractive-QA F1 and exact match, exactly as the official scripts compute them.

Two normalisations, chosen by `ResolvedTask.qa_scoring`:

- `es`: facebookresearch/MLQA `mlqa_evaluation_v1.py` with answer language `es`: lower-case, drop every
  Unicode punctuation character (category P*) and `string.punctuation`, drop the Spanish articles
  el/la/los/las/un/una/unos/unas, collapse whitespace.
- `squad-en`: the SQuAD v1.1 script (and HF `squad`), which the ALBETO code used: lower-case, drop
  `string.punctuation` only (so `¿ « » —` survive), drop the English articles a/an/the, collapse whitespace.

Both keep the scripts' quirks on purpose, so numbers are comparable with published ones: F1 is 0 whenever
no token is shared, even when both sides normalise to nothing (gold "una" against prediction "una" gives
F1 0 but EM 1 under `es`), and a question scores the max over its gold answers.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import cache

from glues_bench.tasks.spec import QAScoring

SQUAD_PUNCT: frozenset[str] = frozenset(string.punctuation)


@cache
def mlqa_punct() -> frozenset[str]:
    """The MLQA script's PUNCT: `range(sys.maxunicode)` as there (U+10FFFF is not punctuation anyway).

    Built on first use, not at import: scanning all of Unicode costs every process that imports the
    metrics (each `run`, each worker) a few tenths of a second, and only QA scoring needs it."""
    return frozenset(
        {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}
        | set(string.punctuation)
    )


@cache
def _delete_table(scoring: str) -> dict[int, None]:
    """str.translate with a deletion table removes exactly the same characters as the scripts' generator
    `''.join(ch for ch in text if ch not in PUNCT)`, several times faster."""
    return dict.fromkeys(map(ord, mlqa_punct() if scoring == "es" else SQUAD_PUNCT))


def __getattr__(name: str) -> frozenset[str]:  # `MLQA_PUNCT` stays importable, built when first asked for
    if name == "MLQA_PUNCT":
        return mlqa_punct()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_ARTICLES: dict[str, re.Pattern[str]] = {
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "squad-en": re.compile(r"\b(a|an|the)\b"),
}


def normalize_answer(text: str, scoring: QAScoring) -> str:
    """The scripts' normalisation, in their order: lower → punctuation → articles → whitespace."""
    if scoring not in _ARTICLES:
        raise ValueError(f"unknown QA scoring {scoring!r}; expected one of {sorted(_ARTICLES)}")
    text = text.lower().translate(_delete_table(scoring))
    text = _ARTICLES[scoring].sub(" ", text)
    return " ".join(text.split())


def f1_score(prediction: str, ground_truth: str, scoring: QAScoring) -> float:
    """Bag-of-tokens F1 in [0, 1] between two answers after normalisation."""
    prediction_tokens = normalize_answer(prediction, scoring).split()
    truth_tokens = normalize_answer(ground_truth, scoring).split()
    num_same = sum((Counter(prediction_tokens) & Counter(truth_tokens)).values())
    if num_same == 0:  # also when both are empty: the official scripts return 0 there
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str, scoring: QAScoring) -> float:
    """1.0 when the normalised strings are equal (so "" == "" counts, unlike F1), else 0.0."""
    return float(normalize_answer(prediction, scoring) == normalize_answer(ground_truth, scoring))


def qa_scores(
    gold_answers: Sequence[Sequence[str]], predictions: Sequence[str | None], scoring: QAScoring
) -> dict[str, float]:
    """Corpus F1 and EM in percent: per question the max over its gold answers; `None` (missing) scores 0."""
    if len(gold_answers) != len(predictions):
        raise ValueError(f"{len(gold_answers)} questions but {len(predictions)} predictions")
    total_f1 = total_em = 0.0
    for answers, prediction in zip(gold_answers, predictions, strict=True):
        # Missing predictions score 0; so does a question without gold answers (the script would crash).
        if prediction is None or not answers:
            continue
        total_f1 += max(f1_score(prediction, answer, scoring) for answer in answers)
        total_em += max(exact_match_score(prediction, answer, scoring) for answer in answers)
    n = len(gold_answers)
    return {
        "f1": 100.0 * total_f1 / n if n else 0.0,
        "exact_match": 100.0 * total_em / n if n else 0.0,
    }
