"""Training throughput of glues-bench's plain loop vs HF `Trainer`, same model, data and hyper-parameters.

Both train the same encoded features (the head's encoding and `collate`), so the difference is the loop
itself: batching (length-grouped in both), optimiser step, scheduler, bookkeeping. Prints examples/s
side by side and their ratio. Offline by default: a tiny random ALBERT on the demo PAWS-X pairs.

    python scripts/bench_finetune.py                      # tiny ALBERT, demo PAWS-X train (400 pairs)
    python scripts/bench_finetune.py --checkpoint DIR --task pawsx --data-dir ../shared/data --limit 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glues_bench.tasks.spec import HParams


DEMO_DATA = Path(__file__).resolve().parents[1] / "glues_bench" / "demo_data"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", help="a model directory (default: a fresh tiny ALBERT)")
    parser.add_argument("--task", default="pawsx")
    parser.add_argument("--data-dir", type=Path, default=DEMO_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N training examples")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the box is shared)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    # Heavy imports after parsing: `--help` answers at once.
    import torch

    from glues_bench.data import load_split
    from glues_bench.tasks.registry import get_task
    from glues_bench.tasks.spec import HParams
    from glues_bench.train import build_tiny_checkpoint, finetune

    torch.set_num_threads(args.threads)

    task = get_task(args.task).resolve()
    train = load_split(task, "train", args.data_dir, limit=args.limit).dataset
    dev = train.select(range(min(8, len(train))))  # prediction is not timed; keep it negligible
    checkpoint = args.checkpoint or build_tiny_checkpoint(
        tempfile.mkdtemp(prefix="bench-tiny-"), (str(t) for t in train["text"])
    )
    hparams = HParams(batch_size=args.batch_size, learning_rate=5e-5, epochs=args.epochs)

    plain = finetune(
        task, checkpoint, train, dev, hparams, 42,
        device=args.device, progress=False, max_seq_length=args.max_seq_length,
    )  # fmt: skip
    plain_rate = plain.n_train_features * args.epochs / plain.seconds
    trainer_seconds, n_features = time_trainer(task, checkpoint, train, hparams, args)
    trainer_rate = n_features * args.epochs / trainer_seconds

    print(f"task {task.name}, {n_features} training features, {args.epochs} epochs, batch {args.batch_size}")
    print(f"{'loop':<12}{'seconds':>10}{'examples/s':>14}")
    print(f"{'plain':<12}{plain.seconds:>10.2f}{plain_rate:>14.1f}")
    print(f"{'HF Trainer':<12}{trainer_seconds:>10.2f}{trainer_rate:>14.1f}")
    print(f"plain / Trainer throughput ratio: {plain_rate / trainer_rate:.2f}")


def time_trainer(task, checkpoint, train, hparams: HParams, args) -> tuple[float, int]:
    """HF Trainer on the same features, with the plain loop's settings (length-grouped, no eval/saving)."""
    import transformers

    from glues_bench.model_ref import ModelRef
    from glues_bench.train import HEADS
    from glues_bench.train.batching import collate
    from glues_bench.train.finetune import effective_max_length, load_config

    head = HEADS[task.task_type]
    config = load_config(task, ModelRef.of(checkpoint))
    tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint)
    max_length = effective_max_length(args.max_seq_length, tokenizer, config)
    features = head.encode(task, train, tokenizer, max_length, training=True).features
    transformers.set_seed(42)
    model = getattr(transformers, head.auto_class).from_pretrained(checkpoint, config=config)
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as output_dir:
        training_args = transformers.TrainingArguments(
            output_dir=output_dir,
            per_device_train_batch_size=hparams.batch_size,
            learning_rate=hparams.learning_rate,
            num_train_epochs=hparams.epochs,
            warmup_steps=hparams.warmup_ratio,  # a float below 1 is a ratio in transformers 5
            weight_decay=hparams.weight_decay,
            train_sampling_strategy="group_by_length",
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=args.device == "cpu",
            dataloader_pin_memory=False,
            seed=42,
        )
        trainer = transformers.Trainer(
            model=model,
            args=training_args,
            train_dataset=features,
            data_collator=lambda batch: collate(batch, tokenizer.pad_token_id or 0),
        )
        started = time.perf_counter()
        trainer.train()
        return time.perf_counter() - started, len(features)


if __name__ == "__main__":
    main()
