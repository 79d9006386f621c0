#!/usr/bin/env python
"""Distil DistilBETO: a 6-layer DistilBERT student from a BERT teacher (BETO), Sanh et al.'s triple loss.

    # the paper's setting (needs the hub): BETO cased teacher, 90k steps
    python scripts/distill_distilbeto.py --teacher dccuchile/bert-base-spanish-wwm-cased \\
        --teacher-revision <sha> --corpus text:spanish.txt --out work/distilbeto
    # offline, from a local teacher directory (e.g. one made with pretrain_albeto.py --preset bert-mini):
    nice -n 10 python scripts/distill_distilbeto.py --teacher work/bert-mini/model --seq-len 128 \\
        --max-steps 200 --batch-size 16 --accumulation 1 --threads 1 --decontaminate \\
        --out work/distilbeto-mini

The student copies the teacher's embeddings (not token types), evenly spaced layers (12 -> 0,2,4,7,9,11)
and MLM head; it has no pooler. The corpus passes the same GLUES contamination check as pretraining.
Output: `OUT/model` (HF DistilBertForMaskedLM + the teacher's tokenizer), `OUT/log.jsonl`,
`OUT/checkpoints/`, `submissions/<name>.yaml`.
"""

from __future__ import annotations

import argparse
import json

# Only light modules here: `--help` answers before torch and transformers are imported (in main()).
from glues_bench.pretrain.corpus import DEFAULT_CORPUS_SPEC
from glues_bench.pretrain.manifest import (
    CONLL2002_LICENCE,
    budget_notes,
    refuse_to_overwrite,
    register_inhouse,
)
from glues_bench.pretrain.presets import BETO_CASED, DistillConfig
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

DEFAULTS = DistillConfig(teacher=BETO_CASED)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", default=BETO_CASED, help="BERT checkpoint: hub id or local directory")
    p.add_argument("--teacher-revision", help="hub commit sha of the teacher (pin it for reproducibility)")
    p.add_argument(
        "--corpus", action="append", help=f"text:PATH, conll:PATH or hf:... (default {DEFAULT_CORPUS_SPEC})"
    )
    p.add_argument(
        "--max-steps", type=int, default=DEFAULTS.max_steps, help="optimiser steps (DistilBETO: 90k)"
    )
    p.add_argument(
        "--batch-size", type=int, default=DEFAULTS.micro_batch_size, help="sequences per forward pass"
    )
    p.add_argument("--accumulation", type=int, default=DEFAULTS.accumulation, help="micro-batches per step")
    p.add_argument("--seq-len", type=int, default=DEFAULTS.seq_len)
    p.add_argument("--lr", type=float, default=DEFAULTS.learning_rate)
    p.add_argument("--warmup-ratio", type=float, default=DEFAULTS.warmup_ratio)
    p.add_argument("--student-layers", type=int, help="default: half the teacher's")
    p.add_argument("--temperature", type=float, default=DEFAULTS.temperature)
    p.add_argument("--alpha-ce", type=float, default=DEFAULTS.alpha_ce)
    p.add_argument("--alpha-mlm", type=float, default=DEFAULTS.alpha_mlm)
    p.add_argument("--alpha-cos", type=float, default=DEFAULTS.alpha_cos)
    p.add_argument("--restrict-ce-to-mask", action="store_true", help="distil only on masked tokens")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--checkpoint-every", type=int, default=DEFAULTS.checkpoint_every)
    p.add_argument("--submission-name", default="distilbeto-inhouse", help="manifest name")
    add_common_options(p, REPO_ROOT / "submissions")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if not args.no_register:
        refuse_to_overwrite(args.submission_name, args.submissions_dir, force=args.force)
    stay_offline_for_local_inputs(args.teacher, *(args.corpus or []))
    from glues_bench.pretrain.distill import distill, load_teacher
    from glues_bench.pretrain.instances import tokenize_documents

    configure_threads(args.threads)
    resume_from = resolve_resume(args.resume, args.out)
    documents, described = load_corpus(args.corpus or [DEFAULT_CORPUS_SPEC], args.data_dir)
    documents, report = contamination_gate(
        documents, args.data_dir, args.out, args.allow_contamination, args.decontaminate
    )
    teacher, tokenizer = load_teacher(args.teacher, args.teacher_revision)
    tokenized = tokenize_documents(documents, tokenizer)
    config = DistillConfig(
        teacher=args.teacher,
        seq_len=args.seq_len,
        max_steps=args.max_steps,
        micro_batch_size=args.batch_size,
        accumulation=args.accumulation,
        learning_rate=args.lr,
        warmup_ratio=args.warmup_ratio,
        student_layers=args.student_layers,
        temperature=args.temperature,
        alpha_ce=args.alpha_ce,
        alpha_mlm=args.alpha_mlm,
        alpha_cos=args.alpha_cos,
        restrict_ce_to_mask=args.restrict_ce_to_mask,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
        device=args.device,
        bf16=False if args.no_bf16 else None,
        progress=not args.no_progress,
    )
    extra = {"corpus": described, "teacher_revision": args.teacher_revision}
    result = distill(tokenized, tokenizer, teacher, config, args.out, resume_from, extra_run_config=extra)
    print(
        f"student: {result.model_dir} ({result.n_parameters:,} parameters, "
        f"teacher layers {result.teacher_layers})"
    )
    print(
        f"steps {result.loop.start_step}->{result.loop.end_step}, {result.loop.tokens:,} tokens, "
        f"{result.loop.tokens_per_second:,.0f} tokens/s, final loss {result.loop.final_loss():.4f}"
    )
    if not args.no_register:
        summary = json.loads((result.model_dir / "training_summary.json").read_text())
        what = f"in-house DistilBETO-style student of {args.teacher}; {report.summary()}"
        notes = budget_notes(summary, ", ".join(described), what)
        licence = args.licence or (CONLL2002_LICENCE if any("esp.train" in d for d in described) else None)
        path = register_inhouse(
            result.model_dir,
            args.submission_name,
            "DistilBETO",
            notes,
            args.submissions_dir,
            licence,
            force=args.force,
        )
        print(f"manifest: {path}")


if __name__ == "__main__":
    run_main(main)
