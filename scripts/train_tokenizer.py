#!/usr/bin/env python
"""Train ALBETO's vocabulary: a lowercase SentencePiece unigram model saved as an ALBERT tokenizer.

    python scripts/train_tokenizer.py --corpus conll:conll2002/esp.train --out work/tokenizer
    python scripts/train_tokenizer.py --corpus text:my_corpus.txt --vocab-size 31000 --out work/tok
    python scripts/train_tokenizer.py --corpus hf:wikimedia/wikipedia/20231101.es:train:text@<sha> --out ...

`AutoTokenizer.from_pretrained(OUT)` then loads it (AlbertTokenizerFast, do_lower_case, keep_accents).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from glues_bench.pretrain.corpus import DEFAULT_CORPUS_SPEC, document_texts
from glues_bench.pretrain.runs import default_data_dir, load_corpus, run_main
from glues_bench.pretrain.tokenizer import DEFAULT_VOCAB_SIZE, train_tokenizer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", action="append", help=f"text:PATH, conll:PATH or hf:... (default {DEFAULT_CORPUS_SPEC})"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="where relative corpus paths are also looked up",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE, help="pieces (ALBETO: 31000)")
    parser.add_argument(
        "--hard-vocab-limit",
        action="store_true",
        help="fail instead of shrinking the vocabulary on small corpora",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    documents, described = load_corpus(args.corpus or [DEFAULT_CORPUS_SPEC], args.data_dir)
    out = train_tokenizer(
        document_texts(documents), args.out, args.vocab_size, hard_vocab_limit=args.hard_vocab_limit
    )
    from transformers import AutoTokenizer

    print(f"{len(AutoTokenizer.from_pretrained(out))} pieces from {', '.join(described)} -> {out}")


if __name__ == "__main__":
    run_main(main)
