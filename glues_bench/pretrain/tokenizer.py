"""A lowercase SentencePiece unigram vocabulary, saved so `AutoTokenizer` loads it as an ALBERT tokenizer.

ALBETO's vocabulary: 31K lowercase pieces built with SentencePiece (paper, section 3.2). The special
pieces follow ALBERT's `spiece.model` layout -- `<pad>`=0, `<unk>`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4 --
and the tokenizer settings follow the published ALBETO tokenizers (`do_lower_case`, `keep_accents`):
stripping accents would merge Spanish words such as "sí"/"si" and "él"/"el".
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from glues_bench.errors import PretrainError

log = logging.getLogger(__name__)

DEFAULT_VOCAB_SIZE = 31_000
SPECIAL_PIECES = ("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]")
# ALBERT's trainer flags: no BOS/EOS, the three BERT control symbols, near-full character coverage.
_TRAINER_DEFAULTS = {
    "model_type": "unigram",
    "pad_id": 0,
    "unk_id": 1,
    "bos_id": -1,
    "eos_id": -1,
    "control_symbols": ["[CLS]", "[SEP]", "[MASK]"],
    "character_coverage": 0.99995,
    "shuffle_input_sentence": True,
}


def train_tokenizer(
    texts_or_files: Iterable[str | Path] | str | Path,
    out_dir: str | Path,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    *,
    hard_vocab_limit: bool = False,
    max_sentences: int = 10_000_000,
    model_max_length: int = 512,
    seed: int = 0,
    num_threads: int = 1,
) -> Path:
    """Train the vocabulary on text files (one sentence per line) or on strings; return `out_dir`.

    `texts_or_files` is a path, or an iterable whose items are all paths or all texts (a
    `datasets.Dataset` column works). Text is lowercased before training. With
    `hard_vocab_limit=False` (the default) a corpus too small for `vocab_size` gives a smaller
    vocabulary instead of an error, so a few hundred KB train in about a second.
    """
    import sentencepiece as spm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if vocab_size <= len(SPECIAL_PIECES):
        raise PretrainError(f"vocab_size {vocab_size} is too small: {len(SPECIAL_PIECES)} pieces are special")
    sentences = _lowercased_lines(texts_or_files)
    spm.set_random_generator_seed(seed)  # sentence sampling/shuffling is the only randomness
    with tempfile.TemporaryDirectory(prefix="spm-") as tmp:
        prefix = Path(tmp) / "spiece"
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=sentences,
                model_prefix=str(prefix),
                vocab_size=vocab_size,
                hard_vocab_limit=hard_vocab_limit,
                input_sentence_size=max_sentences,
                num_threads=num_threads,
                minloglevel=2,
                **_TRAINER_DEFAULTS,
            )
        except RuntimeError as exc:  # sentencepiece reports bad input (e.g. no text) as RuntimeError
            raise PretrainError(f"SentencePiece training failed: {exc}") from exc
        (out_dir / "spiece.model").write_bytes(prefix.with_suffix(".model").read_bytes())
    tokenizer = load_albert_tokenizer(out_dir, model_max_length=model_max_length)
    tokenizer.save_pretrained(out_dir)
    log.info("tokenizer with %d pieces written to %s", len(tokenizer), out_dir)
    return out_dir


def load_albert_tokenizer(directory: str | Path, model_max_length: int = 512):
    """The ALBERT tokenizer of a directory holding `spiece.model` (converted by transformers)."""
    from transformers import AlbertTokenizerFast

    # ALBETO's published tokenizer_config: lowercase, accents kept.
    return AlbertTokenizerFast.from_pretrained(
        str(directory), do_lower_case=True, keep_accents=True, model_max_length=model_max_length
    )


def _lowercased_lines(texts_or_files: Iterable[str | Path] | str | Path) -> Iterator[str]:
    items: Iterable[str | Path] = (
        [texts_or_files] if isinstance(texts_or_files, (str, Path)) else texts_or_files
    )
    n_yielded = 0
    for item in items:
        lines = _file_lines(item) if _is_file(item) else str(item).splitlines()
        for line in lines:
            line = line.strip()
            if line:
                n_yielded += 1
                yield line.lower()
    if n_yielded == 0:
        raise PretrainError("no text to train the tokenizer on (all inputs were empty)")


def _is_file(item: str | Path) -> bool:
    if isinstance(item, Path):
        if not item.is_file():
            raise PretrainError(f"{item}: tokenizer training file not found")
        return True
    # A short single-line string naming an existing file is a path; anything else is text.
    return "\n" not in item and len(item) < 4096 and Path(item).is_file()


def _file_lines(path: str | Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        yield from handle
