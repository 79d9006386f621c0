#!/usr/bin/env python
"""Measure pretraining and distillation throughput (tokens/s) on this machine.

    python scripts/bench_pretrain.py                      # ALBETO tiny + DistilBERT from a bert-mini teacher
    python scripts/bench_pretrain.py --preset base --seq-len 512 --batch-size 8 --device cuda

Runs a few optimiser steps of each (after one warm-up step, not timed) on the offline default corpus
(CoNLL-2002 esp.train) with a small tokenizer trained on the spot; nothing is saved outside a temp dir.
Tokens are non-padding tokens; the distillation figure includes the teacher's forward pass.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

# Only light modules here: `--help` answers before torch and transformers are imported (in main()).
from glues_bench.pretrain.corpus import DEFAULT_CORPUS_SPEC, document_texts
from glues_bench.pretrain.presets import PRESETS, LossWeights, get_preset
from glues_bench.pretrain.runs import configure_threads, default_data_dir, load_corpus, run_main
from glues_bench.pretrain.tokenizer import train_tokenizer

if TYPE_CHECKING:
    import torch


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="tiny", help="model to pretrain")
    p.add_argument(
        "--teacher-preset", choices=sorted(PRESETS), default="bert-mini", help="BERT teacher to distil"
    )
    p.add_argument("--corpus", default=DEFAULT_CORPUS_SPEC)
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=5, help="timed optimiser steps of each")
    p.add_argument("--vocab-size", type=int, default=8000, help="of the throwaway tokenizer")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", help="cuda / cpu (default: cuda when available)")
    return p.parse_args()


def tokens_per_second(
    objective, optimizer, stream, steps: int, batch_size: int, device: torch.device
) -> float:
    """Forward + backward + optimiser step, bf16 autocast on CUDA like the real loop."""
    import torch

    objective.to(device)
    objective.trainable.train()
    tokens, started = 0, 0.0
    for step in range(steps + 1):  # step 0 warms up (allocations, kernels) and is not timed
        if step == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            started, tokens = time.perf_counter(), 0
        batch = {k: v.to(device) for k, v in stream.next_batch(batch_size).items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss, _ = objective.loss(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(batch["attention_mask"].sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return tokens / (time.perf_counter() - started)


def main() -> None:
    args = parse_args()
    import torch

    from glues_bench.pretrain.albert import build_model, make_optimizer, objective_for
    from glues_bench.pretrain.distill import DistillationObjective, build_student
    from glues_bench.pretrain.instances import InstanceStream, tokenize_documents
    from glues_bench.pretrain.loop import resolve_device
    from glues_bench.pretrain.masking import MaskingConfig, max_predictions_for

    configure_threads(args.threads)
    device = resolve_device(args.device)
    from transformers import AutoTokenizer

    documents, _ = load_corpus([args.corpus], args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = AutoTokenizer.from_pretrained(
            train_tokenizer(document_texts(documents), tmp, args.vocab_size)
        )
    tokenized = tokenize_documents(documents, tokenizer)
    masking = MaskingConfig(max_predictions=max_predictions_for(args.seq_len))
    special = {"pad_token_id": tokenizer.pad_token_id}

    preset = get_preset(args.preset)
    model = build_model(preset, len(tokenizer), **special)
    stream = InstanceStream(tokenized, tokenizer, args.seq_len, masking, pairs=preset.family == "albert")
    pretrain_rate = tokens_per_second(
        objective_for(preset, model),
        make_optimizer(model, preset.learning_rate, preset.weight_decay),
        stream,
        args.steps,
        args.batch_size,
        device,
    )
    print(
        f"pretraining   {args.preset:>9} seq {args.seq_len} batch {args.batch_size}: "
        f"{pretrain_rate:10,.0f} tokens/s"
    )

    teacher = build_model(get_preset(args.teacher_preset), len(tokenizer), **special)
    student = build_student(teacher)
    single = MaskingConfig(max_predictions=max_predictions_for(args.seq_len), max_ngram=1, whole_word=False)
    stream = InstanceStream(tokenized, tokenizer, args.seq_len, single, pairs=False)
    distill_rate = tokens_per_second(
        DistillationObjective(student, teacher, LossWeights()),
        torch.optim.AdamW(student.parameters(), lr=5e-4),
        stream,
        args.steps,
        args.batch_size,
        device,
    )
    print(
        f"distillation  {args.teacher_preset:>9} -> {student.config.n_layers} layers seq {args.seq_len} "
        f"batch {args.batch_size}: {distill_rate:10,.0f} tokens/s"
    )
    print(f"device {device}, {torch.get_num_threads()} CPU thread(s), torch {torch.__version__}")


if __name__ == "__main__":
    run_main(main)
