"""Training throughput of glues-bench's loop vs HF `Trainer` and a bare loop (the training half of
`bench_eval.py`, which it reuses), on a checkpoint of your choice. Offline by default: a tiny random ALBERT
on the demo PAWS-X pairs.

    python scripts/bench_finetune.py                      # tiny ALBERT, demo PAWS-X train (400 pairs)
    python scripts/bench_finetune.py --checkpoint DIR --task pawsx --data-dir ../shared/data --limit 2000

For a real pretrained checkpoint and one task of each type, eval included: `scripts/bench_eval.py`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

DEMO_DATA = Path(__file__).resolve().parents[1] / "glues_bench" / "demo_data"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", help="a model directory (default: a fresh tiny ALBERT)")
    parser.add_argument("--task", default="pawsx")
    parser.add_argument("--data-dir", type=Path, default=DEMO_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N training examples")
    parser.add_argument("--batch-size", type=int, default=16, dest="train_batch_size")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the box is shared)")
    args = parser.parse_args()
    # Heavy imports after parsing: `--help` answers at once.
    import torch
    import transformers

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_eval sits next to this script
    from bench_eval import bench_train

    from glues_bench.data import load_split
    from glues_bench.model_ref import ModelRef
    from glues_bench.tasks.registry import get_task
    from glues_bench.train import HEADS, build_tiny_checkpoint
    from glues_bench.train.finetune import effective_max_length, load_config

    torch.set_num_threads(args.threads)

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    task = get_task(args.task).resolve()
    train = load_split(task, "train", args.data_dir, limit=args.limit).dataset
    checkpoint = args.checkpoint or build_tiny_checkpoint(
        tempfile.mkdtemp(prefix="bench-tiny-"), (str(t) for t in train["text"])
    )
    config = load_config(task, ModelRef.of(checkpoint))
    tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint)
    transformers.set_seed(0)
    model = getattr(transformers, HEADS[task.task_type].auto_class).from_pretrained(checkpoint, config=config)
    max_length = effective_max_length(args.max_seq_length, tokenizer, config)
    bench_train(task, model, tokenizer, train, max_length, args)


if __name__ == "__main__":
    main()
