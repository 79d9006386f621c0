"""Does a pretraining corpus contain GLUES evaluation text? N-gram overlap, as GPT-3's decontamination.

Every evaluation document (a sentence, premise, hypothesis, QA context or question of a dev/test split)
is cut into 13-gram shingles of lowercased words (`\\w+` runs, so punctuation and tokenisation do not
matter); documents shorter than 13 words count as one shingle of their full length when they have at
least `min_words` words (shorter ones are too generic to mean anything). The corpus is streamed once,
looking each of its windows up in the set of evaluation shingles, so memory grows with the evaluation
sets, not with the corpus. A document is *contaminated* when at least `doc_threshold` of its shingles
occur in the corpus; any contaminated document makes `enforce` refuse the corpus. `decontaminate`
instead drops every corpus document that shares a shingle with an evaluation document.

Found this way: CoNLL-2002 `esp.train` repeats EFE articles of `esp.testa`/`esp.testb` -- 144 of the
NER dev sentences and 109 of the test sentences occur verbatim in the train file -- so even the offline
default corpus must be decontaminated before pretraining.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from glues_bench.errors import ContaminationError
from glues_bench.tasks.spec import TaskType

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
DEFAULT_NGRAM = 13  # GPT-3's shingle length
DEFAULT_MIN_WORDS = 8  # a shorter document is too generic to count as one shingle
DEFAULT_DOC_THRESHOLD = 0.5
EVAL_SPLITS = ("dev", "test")  # what a benchmark is scored on, so what a corpus must not contain


@dataclass(frozen=True)
class EvalDocument:
    """One piece of evaluation text, checked on its own."""

    set_name: str  # "xquad/test"
    doc_id: str  # "<example id>:context"
    text: str


@dataclass
class SetReport:
    set_name: str
    n_documents: int = 0
    n_checked: int = 0  # documents long enough to have shingles
    n_contaminated: int = 0
    max_overlap: float = 0.0
    examples: list[tuple[str, float]] = field(default_factory=list)  # worst documents (id, overlap)


@dataclass
class ContaminationReport:
    ngram: int
    doc_threshold: float
    corpus_words: int
    sets: list[SetReport]
    unavailable: dict[str, str] = field(default_factory=dict)  # set name -> why it was not checked
    dropped_documents: int = 0  # corpus documents removed by `decontaminate` before this check

    @property
    def contaminated_sets(self) -> list[SetReport]:
        return [s for s in self.sets if s.n_contaminated]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        checked = f"{len(self.sets)} evaluation sets checked against {self.corpus_words:,} corpus words"
        if not self.sets:
            checked = "no evaluation set was available: contamination NOT checked"
        bad = self.contaminated_sets
        if self.dropped_documents:
            checked += f", after dropping {self.dropped_documents} overlapping corpus documents"
        if not bad:
            return f"clean: {checked} ({self.ngram}-grams)"
        listed = ", ".join(
            f"{s.set_name} ({s.n_contaminated}/{s.n_checked} docs, max {s.max_overlap:.0%})" for s in bad
        )
        return f"CONTAMINATED: {listed}; {checked}"


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(
    tokens: Sequence[str], n: int = DEFAULT_NGRAM, min_words: int = DEFAULT_MIN_WORDS
) -> set[tuple[str, ...]]:
    """The n-grams of a word sequence; a shorter sequence is one shingle if it has >= min_words words."""
    if len(tokens) < n:
        return {tuple(tokens)} if len(tokens) >= min_words else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


class EvalIndex:
    """The shingles of every evaluation document, hashed, for one pass over a corpus."""

    def __init__(
        self,
        eval_documents: Iterable[EvalDocument],
        ngram: int = DEFAULT_NGRAM,
        min_words: int = DEFAULT_MIN_WORDS,
    ) -> None:
        self.ngram = ngram
        self.doc_shingles: dict[EvalDocument, set[int]] = {}
        sizes: set[int] = set()
        self.wanted: set[int] = set()
        for doc in eval_documents:
            keys = shingles(words(doc.text), ngram, min_words)
            sizes.update(len(k) for k in keys)
            hashed = {hash(k) for k in keys}
            self.doc_shingles[doc] = hashed
            self.wanted.update(hashed)
        self.window_sizes = sorted(sizes)

    def hits(self, tokens: Sequence[str]) -> set[int]:
        """Evaluation shingles found in one corpus document's words (windows never span documents)."""
        found: set[int] = set()
        for size in self.window_sizes:
            for i in range(len(tokens) - size + 1):
                key = hash(tuple(tokens[i : i + size]))
                if key in self.wanted:
                    found.add(key)
        return found


def check_contamination(
    corpus_texts: Iterable[str],
    eval_documents: Iterable[EvalDocument],
    *,
    ngram: int = DEFAULT_NGRAM,
    min_words: int = DEFAULT_MIN_WORDS,
    doc_threshold: float = DEFAULT_DOC_THRESHOLD,
    n_examples: int = 3,
) -> ContaminationReport:
    """Overlap of each evaluation document with the corpus (one text per corpus document)."""
    index = EvalIndex(eval_documents, ngram, min_words)
    found: set[int] = set()
    corpus_words = 0
    for text in corpus_texts:
        tokens = words(text)
        corpus_words += len(tokens)
        found |= index.hits(tokens)
    reports: dict[str, SetReport] = {}
    overlaps: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for doc, keys in index.doc_shingles.items():
        report = reports.setdefault(doc.set_name, SetReport(doc.set_name))
        report.n_documents += 1
        if not keys:
            continue
        report.n_checked += 1
        overlap = len(keys & found) / len(keys)
        report.max_overlap = max(report.max_overlap, overlap)
        if overlap >= doc_threshold:
            report.n_contaminated += 1
        if overlap > 0:
            overlaps[doc.set_name].append((doc.doc_id, round(overlap, 4)))
    for name, report in reports.items():
        report.examples = sorted(overlaps[name], key=lambda item: -item[1])[:n_examples]
    return ContaminationReport(
        ngram, doc_threshold, corpus_words, sorted(reports.values(), key=lambda r: r.set_name)
    )


def decontaminate(
    corpus_texts: Sequence[str],
    eval_documents: Iterable[EvalDocument],
    *,
    ngram: int = DEFAULT_NGRAM,
    min_words: int = DEFAULT_MIN_WORDS,
) -> list[int]:
    """Indices of the corpus documents that share no shingle with any evaluation document.

    Whole documents go, not just the matching sentences: a duplicated news article repeats far more
    than the sentences an evaluation set happened to keep.
    """
    index = EvalIndex(eval_documents, ngram, min_words)
    return [i for i, text in enumerate(corpus_texts) if not index.hits(words(text))]


def enforce(report: ContaminationReport, allow: bool) -> None:
    """Refuse a contaminated corpus unless the user explicitly allowed it (the report says which sets)."""
    if report.contaminated_sets and not allow:
        raise ContaminationError(
            f"pretraining corpus overlaps evaluation data: {report.summary()} "
            "(--decontaminate drops the overlapping corpus documents; --allow-contamination trains anyway)"
        )
    if report.contaminated_sets:
        log.warning("training on a contaminated corpus (allowed): %s", report.summary())


# ---- GLUES evaluation sets ------------------------------------------------------------------------------


def glues_eval_documents(
    data_dir: Path | None, task_names: Sequence[str] | None = None, splits: Sequence[str] = EVAL_SPLITS
) -> tuple[list[EvalDocument], dict[str, str]]:
    """Texts of every available GLUES dev/test split (default variant), and the splits that were not
    available with the reason. Loads through `glues_bench.data.load_split`."""
    from glues_bench.data import DataUnavailable, load_split
    from glues_bench.tasks import all_tasks, get_task

    tasks = [get_task(name) for name in task_names] if task_names else list(all_tasks().values())
    documents: list[EvalDocument] = []
    unavailable: dict[str, str] = {}
    for spec in tasks:
        task = spec.resolve()
        for split in splits:
            set_name = f"{spec.name}/{split}"
            if split not in task.splits:
                continue
            try:
                # With a data folder, only its files: the hub is never tried (no network for a local run).
                loaded = load_split(task, split, data_dir, hub_fallback=data_dir is None)
            except DataUnavailable as exc:
                unavailable[set_name] = str(exc)
                continue
            documents.extend(example_documents(set_name, spec.task_type, loaded.dataset))
    return documents, unavailable


# The columns of each task type that hold free text (token classification's words are checked as a sentence).
FREE_TEXT_COLUMNS: dict[TaskType, tuple[str, ...]] = {
    "token_classification": (),
    "sequence_classification": ("text", "text_pair"),
    "extractive_qa": ("context", "question"),
}


def example_documents(
    set_name: str, task_type: TaskType, rows: Iterable[dict[str, Any]]
) -> list[EvalDocument]:
    """The free text of a split in the shared schema; repeated texts (a premise with 3 hypotheses, a
    context with 5 questions) are checked once."""
    fields = FREE_TEXT_COLUMNS[task_type]
    seen: set[str] = set()
    documents: list[EvalDocument] = []
    for row in rows:
        texts = (
            [(f"{row['id']}:tokens", " ".join(row["tokens"]))] if task_type == "token_classification" else []
        )
        texts += [(f"{row['id']}:{name}", row[name]) for name in fields if row.get(name)]
        for doc_id, text in texts:
            if text not in seen:
                seen.add(text)
                documents.append(EvalDocument(set_name, doc_id, text))
    return documents
