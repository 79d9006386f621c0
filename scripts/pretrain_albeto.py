#!/usr/bin/env python
"""Pretrain ALBETO (ALBERT, MLM with n-gram masking + sentence-order prediction) from scratch.

    # the paper's ALBETO tiny schedule (Table 2), on real hardware:
    python scripts/pretrain_albeto.py --preset tiny --corpus text:spanish.txt --tokenizer work/tok \\
        --out work/albeto-tiny
    # a CPU-sized run on the offline default corpus (CoNLL-2002 esp.train), killable and resumable:
    nice -n 10 python scripts/pretrain_albeto.py --preset tiny --seq-len 128 --max-steps 300 \\
        --batch-size 32 --accumulation 1 --threads 1 --decontaminate --out work/albeto-tiny
    python scripts/pretrain_albeto.py ... --resume          # continue from the newest checkpoint

Before training the corpus is checked against every available GLUES dev/test set (13-gram overlap) and
refused when it contains evaluation text: --decontaminate drops the overlapping corpus documents first
(needed for the default corpus, whose train file repeats NER dev/test articles), --allow-contamination
trains anyway. Output: `OUT/model` (HF format, safetensors, with tokenizer), `OUT/log.jsonl`,
`OUT/checkpoints/`, `OUT/contamination.json` and `submissions/<name>.yaml`.
"""

from __future__ import annotations

import argparse

# Only light modules here: `--help` answers before torch and transformers are imported (in main()).
from glues_bench.pretrain.corpus import DEFAULT_CORPUS_SPEC, document_texts
from glues_bench.pretrain.manifest import (
    CONLL2002_LICENCE,
    budget_notes,
    refuse_to_overwrite,
    register_inhouse,
)
from glues_bench.pretrain.presets import PRESETS, get_preset
from glues_bench.pretrain.runs import (
    REPO_ROOT,
    add_common_options,
    configure_threads,
    contamination_gate,
    load_corpus,
    resolve_resume,
    run_main,
    stay_offline_for_local_inputs,
)
from glues_bench.pretrain.tokenizer import DEFAULT_VOCAB_SIZE, train_tokenizer


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="tiny",
        help="model size (Table 1) and schedule (Table 2)",
    )
    p.add_argument(
        "--corpus",
        action="append",
        help=f"text:PATH, conll:PATH or hf:NAME:SPLIT:COLUMN (default {DEFAULT_CORPUS_SPEC})",
    )
    p.add_argument("--tokenizer", help="tokenizer directory or hub id; default: train one into OUT/tokenizer")
    p.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE, help="when training the tokenizer")
    p.add_argument("--max-steps", type=int, help="optimiser steps (default: the preset's total)")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per forward pass (micro-batch)")
    p.add_argument(
        "--accumulation", type=int, help="micro-batches per step (default: reach the preset's batch)"
    )
    p.add_argument("--seq-len", type=int, default=512, help="tokens per sequence (ALBERT: 512)")
    p.add_argument("--lr", type=float, help="peak learning rate (default: the preset's)")
    p.add_argument("--warmup-steps", type=int, help="default: the preset's, scaled to --max-steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints")
    p.add_argument("--submission-name", help="manifest name (default: albeto-<preset>-inhouse)")
    add_common_options(p, REPO_ROOT / "submissions")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    name = args.submission_name or f"albeto-{args.preset}-inhouse"
    if not args.no_register:
        refuse_to_overwrite(name, args.submissions_dir, force=args.force)
    stay_offline_for_local_inputs(args.tokenizer, *(args.corpus or []))
    from glues_bench.pretrain.albert import PretrainConfig, pretrain
    from glues_bench.pretrain.instances import tokenize_documents

    configure_threads(args.threads)
    get_preset(args.preset)
    resume_from = resolve_resume(args.resume, args.out)
    corpus_specs = args.corpus or [DEFAULT_CORPUS_SPEC]
    documents, described = load_corpus(corpus_specs, args.data_dir)
    documents, report = contamination_gate(
        documents, args.data_dir, args.out, args.allow_contamination, args.decontaminate
    )
    tokenizer = _tokenizer(args, documents)
    tokenized = tokenize_documents(documents, tokenizer)
    config = PretrainConfig(
        preset=args.preset,
        seq_len=args.seq_len,
        max_steps=args.max_steps,
        micro_batch_size=args.batch_size,
        accumulation=args.accumulation,
        learning_rate=args.lr,
        warmup_steps=args.warmup_steps,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
        device=args.device,
        bf16=False if args.no_bf16 else None,
        progress=not args.no_progress,
    )
    extra = {"corpus": described, "tokenizer": args.tokenizer or "OUT/tokenizer"}
    result = pretrain(tokenized, tokenizer, config, args.out, resume_from, extra_run_config=extra)
    print(f"model: {result.model_dir} ({result.n_parameters:,} parameters)")
    print(
        f"steps {result.loop.start_step}->{result.loop.end_step}, {result.loop.tokens:,} tokens, "
        f"{result.loop.tokens_per_second:,.0f} tokens/s, final loss {result.loop.final_loss():.4f}"
    )
    if not args.no_register:
        import json

        summary = json.loads((result.model_dir / "training_summary.json").read_text())
        family = "ALBETO" if get_preset(args.preset).family == "albert" else "BERT"
        notes = budget_notes(
            summary, ", ".join(described), f"in-house {family} {args.preset}; {report.summary()}"
        )
        licence = args.licence or (CONLL2002_LICENCE if any("esp.train" in d for d in described) else None)
        path = register_inhouse(
            result.model_dir, name, family, notes, args.submissions_dir, licence, force=args.force
        )
        print(f"manifest: {path}")


def _tokenizer(args: argparse.Namespace, documents):
    from transformers import AutoTokenizer

    if args.tokenizer:
        return AutoTokenizer.from_pretrained(args.tokenizer)
    directory = args.out / "tokenizer"
    if not (
        directory / "tokenizer.json"
    ).is_file():  # else resuming or rerunning: keep the model's vocabulary
        train_tokenizer(document_texts(documents), directory, args.vocab_size)
    return AutoTokenizer.from_pretrained(directory)


if __name__ == "__main__":
    run_main(main)
