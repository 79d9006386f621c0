"""Pretraining corpora as documents: lists of sentences, in reading order.

Sentence-order prediction needs consecutive text from one document, so every source keeps document
boundaries: plain text in BERT's `create_pretraining_data` layout (one sentence per line, a blank line
between documents), CoNLL-2002 column files (articles split at their EFE dateline sentence), or a
Hugging Face dataset whose rows are documents.

The offline default corpus is CoNLL-2002 `esp.train`: real Spanish newswire (EFE, May 2000), local,
and not a GLUES evaluation split (GLUES evaluates NER on `esp.testa`/`esp.testb`). Its licence allows
research use only, so models trained on it are research artefacts: never ship them or the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from glues_bench.errors import PretrainError

Document = list[str]

DEFAULT_CORPUS_SPEC = "conll:conll2002/esp.train"  # relative to the shared data dir
CORPUS_FORMATS = ("text", "conll", "hf")
# Newswire articles open with a dateline sentence such as "Santander , 25 may ( EFE ) ."
_EFE_DATELINE = re.compile(r"\( EFE \)")
_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?)\]}%»])")
_NO_SPACE_AFTER = re.compile(r"([(\[{¿¡«]) ")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'«¿¡(A-ZÁÉÍÓÚÑ0-9])")


@dataclass(frozen=True)
class HubColumn:
    """One text column of one split of a hub dataset (`NAME[/CONFIG]:SPLIT:COLUMN[@REVISION]`)."""

    name: str
    config: str | None
    split: str
    column: str
    revision: str | None  # None: the default branch, whatever it holds today

    def describe(self) -> str:
        name = f"{self.name}/{self.config}" if self.config else self.name
        return f"hf:{name}:{self.split}:{self.column}@{self.revision or 'unpinned'}"


@dataclass(frozen=True)
class CorpusSource:
    """Where a corpus comes from: `text:PATH`, `conll:PATH` or `hf:NAME[/CONFIG]:SPLIT:COLUMN[@REVISION]`
    (`hub` is set for the last kind only)."""

    kind: str
    location: str
    hub: HubColumn | None = None

    def describe(self) -> str:
        return self.hub.describe() if self.hub is not None else f"{self.kind}:{self.location}"


def parse_corpus_source(spec: str, data_dir: Path | None = None) -> CorpusSource:
    """`text:a.txt`, `conll:esp.train`, `hf:wikimedia/wikipedia/20231101.es:train:text@<sha>`; a bare
    path means `text:`. Relative paths that do not exist are tried under `data_dir`."""
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in CORPUS_FORMATS:
        kind, rest = "text", spec
    if kind == "hf":
        return _parse_hf_source(spec, rest)
    path = Path(rest)
    if not path.exists() and data_dir is not None and (data_dir / path).exists():
        path = data_dir / path
    if not path.is_file():
        raise PretrainError(f"corpus {spec!r}: file {path} not found")
    return CorpusSource(kind=kind, location=str(path))


def _parse_hf_source(spec: str, rest: str) -> CorpusSource:
    rest, _, revision = rest.partition("@")
    parts = rest.split(":")
    if len(parts) != 3 or not all(parts):
        raise PretrainError(f"corpus {spec!r}: expected hf:NAME[/CONFIG]:SPLIT:COLUMN[@REVISION]")
    name, split, column = parts
    owner_name = name.split("/")
    config = owner_name[2] if len(owner_name) == 3 else None
    location = "/".join(owner_name[:2])
    return CorpusSource("hf", location, HubColumn(location, config, split, column, revision or None))


def load_documents(source: CorpusSource) -> list[Document]:
    """Every document of the source, each a non-empty list of sentences."""
    if source.hub is not None:
        documents = read_hf_documents(source.hub)
    elif source.kind == "conll":
        documents = read_conll_documents(Path(source.location))
    else:
        documents = read_text_documents(Path(source.location))
    if not documents:
        raise PretrainError(f"corpus {source.describe()}: no text found")
    return documents


def read_text_documents(path: Path) -> list[Document]:
    """BERT's layout: one sentence per line, documents separated by blank lines."""
    documents: list[Document] = []
    current: Document = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                current.append(line)
            elif current:
                documents.append(current)
                current = []
    if current:
        documents.append(current)
    return documents


def write_text_documents(documents: Iterable[Document], path: Path) -> Path:
    """The inverse of `read_text_documents`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n\n".join("\n".join(doc) for doc in documents) + "\n")
    return path


def read_conll_documents(path: Path) -> list[Document]:
    """CoNLL-2002 column files (`word POS TAG`, blank line between sentences) as detokenised text.

    The Spanish files have no `-DOCSTART-` markers; a new article starts at each EFE dateline.
    """
    documents: list[Document] = []
    for words in _conll_sentences(path):
        if words[0] == "-DOCSTART-":
            documents.append([])
            continue
        if not documents or _EFE_DATELINE.search(" ".join(words[:25])):
            documents.append([])
        documents[-1].append(detokenize(words))
    return [doc for doc in documents if doc]


def _conll_sentences(path: Path) -> Iterable[list[str]]:
    words: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields:
                words.append(fields[0])
            elif words:
                yield words
                words = []
    if words:
        yield words


def detokenize(words: Sequence[str]) -> str:
    """Rejoin tokenised words the way Spanish prose is written ("( EFE ) ." -> "(EFE).")."""
    text = " ".join(words)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    return _NO_SPACE_AFTER.sub(r"\1", text)


def read_hf_documents(hub: HubColumn) -> list[Document]:
    """A hub dataset whose rows are documents; paragraphs and sentences are split heuristically."""
    import datasets

    try:
        dataset = datasets.load_dataset(hub.name, hub.config, split=hub.split, revision=hub.revision)
    except (OSError, ValueError) as exc:  # offline, not found, bad split name
        raise PretrainError(f"corpus {hub.describe()}: cannot load ({exc})") from exc
    if hub.column not in dataset.column_names:
        raise PretrainError(f"corpus {hub.describe()}: no column {hub.column!r} (has {dataset.column_names})")
    return [doc for doc in (split_sentences(text) for text in dataset[hub.column]) if doc]


def split_sentences(text: str) -> Document:
    """Lines, then sentence ends followed by a capital or an opening mark; good enough for SOP pairs."""
    return [s.strip() for line in text.splitlines() for s in _SENTENCE_END.split(line) if s.strip()]


def document_texts(documents: Iterable[Document]) -> Iterable[str]:
    """One string per document (for the tokenizer trainer and the contamination check)."""
    return ("\n".join(doc) for doc in documents)
