"""One reader per on-disk format (`LocalFormat` in the task spec), each turning one file into columns.

A reader returns plain Python columns (`dict[str, list]`) in the schema of its task type, without the
positional `id` of token and sequence classification: the loader adds it once every file of a split has
been read, because a split may concatenate several files. Readers validate as they go and raise
`DataError` one-liners that name the file and line (`xnli/dev.tsv:17: expected 5 tab-separated columns,
got 3`), so a bad file never turns into a silently wrong dataset.

Line-based readers stream: they hold one line at a time (at most `MAX_LINE_BYTES`, so a corrupt file
with a 50 MB line fails fast in bounded memory) and stop at `limit` examples instead of parsing the
whole file first. JSON is parsed whole (a SQuAD file is often a single line) but every string field is
bounded by `MAX_FIELD_CHARS`.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from glues_bench.errors import DataError
from glues_bench.tasks.spec import LocalFormat, TaskType

Columns = dict[str, list[Any]]
Reader = Callable[[Path, frozenset[str], "int | None"], Columns]
"""(file, label set, limit) → columns; `limit` stops reading after that many examples."""

MAX_LINE_BYTES = 1 << 20
"""No line of a line-based GLUES file comes near 1 MiB (MLDoc documents are a few KB)."""
MAX_FIELD_CHARS = 1 << 20
"""No SQuAD-style context, question or answer comes near a million characters."""

_CONLL_SEPARATOR = re.compile(r"[ \t]+")  # not str.split(): a word may hold a no-break space
_DOCSTART = "-DOCSTART-"


def read_text(path: Path) -> str:
    """The file decoded as UTF-8 (a leading BOM dropped); missing, undecodable or empty files raise."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise DataError(f"{path}: is a directory, expected a file") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 ({exc.reason})") from exc
    if not text.strip():
        raise DataError(f"{path}: empty file")
    return text


def iter_lines(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its end) for each line, read one at a time.

    Lines end at `\n` only (not `splitlines()`: text may legitimately contain U+2028, \x1c and friends);
    a trailing `\r` is dropped and so is a leading BOM. Missing, undecodable or blank files and lines
    longer than `max_line_bytes` raise a one-line `DataError` naming the file and line.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise DataError(f"{path}: is a directory, expected a file") from exc
    seen_text = False
    with handle:
        line_no = 0
        while True:
            raw = handle.readline(max_line_bytes + 1)  # bounded: never more than one line in memory
            if not raw:
                break
            line_no += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                raise DataError(f"{path}:{line_no}: line longer than {max_line_bytes} bytes (corrupt file?)")
            try:
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{line_no}: not valid UTF-8 ({exc.reason})") from exc
            line = line.removesuffix("\n").removesuffix("\r")
            seen_text = seen_text or bool(line.strip())
            yield line_no, line
    if not seen_text:
        raise DataError(f"{path}: empty file")


def _check_label(label: str, labels: frozenset[str], path: Path, line: int) -> str:
    if label not in labels:
        raise DataError(f"{path}:{line}: label {label!r} is not in the task's label set {sorted(labels)}")
    return label


def _non_empty(columns: Columns, path: Path) -> Columns:
    if not next(iter(columns.values())):
        raise DataError(f"{path}: no examples found")
    return columns


# --- token classification ---------------------------------------------------------------------------


def read_conll2002(path: Path, labels: frozenset[str], limit: int | None = None) -> Columns:
    """`word [POS ...] tag` per line, blank line between sentences; the tag is the last column.

    Every token line must have as many columns as the file's first one. `-DOCSTART-` lines (present in
    some CoNLL copies) separate documents and are not words.
    """
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    sentence_tokens: list[str] = []
    sentence_tags: list[str] = []
    n_columns: int | None = None

    def end_sentence() -> None:
        nonlocal sentence_tokens, sentence_tags
        if sentence_tokens:
            tokens.append(sentence_tokens)
            tags.append(sentence_tags)
            sentence_tokens, sentence_tags = [], []

    for line_no, line in iter_lines(path):
        stripped = line.strip(" \t")
        if not stripped or stripped.startswith(_DOCSTART):
            end_sentence()
            if limit is not None and len(tokens) >= limit:
                break
            continue
        fields = _CONLL_SEPARATOR.split(stripped)
        n_columns = n_columns or len(fields)
        if len(fields) < 2 or len(fields) != n_columns:
            expected = n_columns if n_columns >= 2 else "at least 2"
            raise DataError(
                f"{path}:{line_no}: expected {expected} space-separated columns, got {len(fields)}"
            )
        sentence_tokens.append(fields[0])
        sentence_tags.append(_check_label(fields[-1], labels, path, line_no))
    end_sentence()
    return _non_empty({"tokens": tokens, "tags": tags}, path)


def read_conllu(path: Path, labels: frozenset[str], limit: int | None = None) -> Columns:
    """CoNLL-U words with their UPOS (column 4); comments, multiword-token ranges and empty nodes skipped."""
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    sentence_tokens: list[str] = []
    sentence_tags: list[str] = []
    for line_no, line in iter_lines(path):
        if not line.strip():
            if sentence_tokens:
                tokens.append(sentence_tokens)
                tags.append(sentence_tags)
                sentence_tokens, sentence_tags = [], []
                if limit is not None and len(tokens) >= limit:
                    break
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise DataError(f"{path}:{line_no}: expected 10 tab-separated columns, got {len(fields)}")
        word_id = fields[0]
        # `1-2` is a multiword token ("del") whose words follow it; `1.1` is an empty node: neither is a word.
        if "-" in word_id or "." in word_id:
            continue
        if not word_id.isdigit():
            raise DataError(f"{path}:{line_no}: word id {word_id!r} is not a number")
        sentence_tokens.append(fields[1])
        sentence_tags.append(_check_label(fields[3], labels, path, line_no))
    if sentence_tokens:
        tokens.append(sentence_tokens)
        tags.append(sentence_tags)
    return _non_empty({"tokens": tokens, "tags": tags}, path)


# --- sequence classification ------------------------------------------------------------------------


def _tsv_rows(
    path: Path, lines: Iterator[tuple[int, str]], n_columns: int
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) per non-empty line. Quoting is off: `"` is text (PAWS-X has plenty;
    csv's default quoting would merge rows)."""
    for line_no, line in lines:
        if line == "":
            continue
        fields = line.split("\t")
        if len(fields) != n_columns:
            raise DataError(
                f"{path}:{line_no}: expected {n_columns} tab-separated columns, got {len(fields)}"
            )
        yield line_no, fields


def _classification_columns(
    rows: Iterator[tuple[int, str, str | None, str]],
    path: Path,
    labels: frozenset[str],
    limit: int | None,
) -> Columns:
    text: list[str] = []
    text_pair: list[str | None] = []
    label: list[str] = []
    for line_no, first, second, raw_label in itertools.islice(rows, limit):
        text.append(first)
        text_pair.append(second)
        label.append(_check_label(raw_label, labels, path, line_no))
    return _non_empty({"text": text, "text_pair": text_pair, "label": label}, path)


_PAWSX_HEADER = ["id", "sentence1", "sentence2", "label"]


def read_pawsx_tsv(path: Path, labels: frozenset[str], limit: int | None = None) -> Columns:
    """PAWS-X x-final: header `id sentence1 sentence2 label`; the `id` column is not the row position."""
    lines = iter_lines(path)
    _, first_line = next(lines)
    header = first_line.split("\t")
    if header != _PAWSX_HEADER:
        raise DataError(
            f"{path}:1: expected the header {' '.join(_PAWSX_HEADER)!r}, got {' '.join(header)!r}"
        )
    rows = ((n, f[1], f[2], f[3]) for n, f in _tsv_rows(path, lines, len(_PAWSX_HEADER)))
    return _classification_columns(rows, path, labels, limit)


def read_xnli_tsv(path: Path, labels: frozenset[str], limit: int | None = None) -> Columns:
    """SpanishGLUE XNLI layout, no header: `label premise_id hypothesis_id premise hypothesis`."""
    rows = ((n, f[3], f[4], f[0]) for n, f in _tsv_rows(path, iter_lines(path), 5))
    return _classification_columns(rows, path, labels, limit)


def read_mldoc_tsv(path: Path, labels: frozenset[str], limit: int | None = None) -> Columns:
    """MLDoc as its generation scripts write it: `label<TAB>text`."""
    rows = ((n, f[1], None, f[0]) for n, f in _tsv_rows(path, iter_lines(path), 2))
    return _classification_columns(rows, path, labels, limit)


# --- extractive QA ------------------------------------------------------------------------------------


def _field(obj: Any, key: str, kind: type | tuple[type, ...], path: Path, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(f"{path}: {where}: missing key {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataError(f"{path}: {where}.{key}: expected {_kind_name(kind)}, got {type(value).__name__}")
    if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
        raise DataError(f"{path}: {where}.{key}: longer than {MAX_FIELD_CHARS} characters (corrupt file?)")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


def read_squad_json(path: Path, labels: frozenset[str], limit: int | None = None) -> Columns:
    """SQuAD v1.1 JSON (`data[].paragraphs[].qas[]`). Extra fields (MLQA's `sentences`, a numeric
    `version`) are ignored; a missing title reads as "". Question ids must be unique: predictions use them."""
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    columns: Columns = {k: [] for k in ("id", "title", "context", "question", "answers")}
    seen: set[str] = set()
    for a, article in enumerate(_field(document, "data", list, path, "top level")):
        title = article.get("title", "") if isinstance(article, dict) else ""
        for p, paragraph in enumerate(_field(article, "paragraphs", list, path, f"data[{a}]")):
            where = f"data[{a}].paragraphs[{p}]"
            context = _field(paragraph, "context", str, path, where)
            for q, qa in enumerate(_field(paragraph, "qas", list, path, where)):
                if limit is not None and len(columns["id"]) >= limit:
                    return _non_empty(columns, path)
                qa_where = f"{where}.qas[{q}]"
                question_id = str(_field(qa, "id", (str, int), path, qa_where))
                if question_id in seen:
                    raise DataError(f"{path}: {qa_where}: duplicate question id {question_id!r}")
                seen.add(question_id)
                columns["id"].append(question_id)
                columns["title"].append(str(title))
                columns["context"].append(context)
                columns["question"].append(_field(qa, "question", str, path, qa_where))
                columns["answers"].append(
                    _answers(_field(qa, "answers", list, path, qa_where), path, qa_where)
                )
    return _non_empty(columns, path)


def _answers(answers: list[Any], path: Path, where: str) -> dict[str, list[Any]]:
    texts = [_field(ans, "text", str, path, f"{where}.answers[{i}]") for i, ans in enumerate(answers)]
    starts = [
        _field(ans, "answer_start", int, path, f"{where}.answers[{i}]") for i, ans in enumerate(answers)
    ]
    return {"text": texts, "answer_start": starts}


READERS: dict[LocalFormat, Reader] = {
    "conll2002": read_conll2002,
    "conllu": read_conllu,
    "pawsx_tsv": read_pawsx_tsv,
    "xnli_tsv": read_xnli_tsv,
    "mldoc_tsv": read_mldoc_tsv,
    "squad_json": read_squad_json,
}

FORMAT_TASK_TYPE: dict[LocalFormat, TaskType] = {
    "conll2002": "token_classification",
    "conllu": "token_classification",
    "pawsx_tsv": "sequence_classification",
    "xnli_tsv": "sequence_classification",
    "mldoc_tsv": "sequence_classification",
    "squad_json": "extractive_qa",
}
"""The schema each format's reader produces; a spec pairing a format with another task type is a bug."""
