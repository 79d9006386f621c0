"""The offline demo: a tiny in-house ALBERT through the whole pipeline in about a minute on 2 CPU cores.

build a Spanish SentencePiece vocabulary and a small ALBERT from the shipped demo slices → register it →
import the paper's reported results → fine-tune on one task of each type (POS, PAWS-X, TAR→XQuAD) with
one small config → build the site. No network, no GPU. The model is randomly initialised and fine-tuned on a
few hundred examples, so its scores only show that the pipeline works.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEMO_TASKS = ("pos", "pawsx", "xquad")
DEMO_MODEL = "demo-albert-tiny"
# Small enough to fine-tune in seconds on 2 cores; ALBERT's factorised embedding as in ALBETO.
DEMO_CONFIG = {
    "embedding_size": 64,
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 256,
    "max_position_embeddings": 512,
}


@dataclass(frozen=True)
class DemoResult:
    out_dir: Path
    db_url: str
    site_index: Path
    summaries: list


def demo_data_dir() -> Path:
    return Path(str(resources.files("glues_bench") / "demo_data"))


def reported_results_file() -> Path | None:
    """The paper's Tables 3-5 (leaderboard/reported_results.yaml in a source checkout)."""
    candidate = Path(__file__).resolve().parent.parent / "leaderboard" / "reported_results.yaml"
    return candidate if candidate.exists() else None


def demo_texts(data_dir: Path) -> Iterator[str]:
    """Text of the demo *train* slices only (never dev/test), one sentence or passage per item."""
    from glues_bench.data import load_split
    from glues_bench.tasks import get_task

    for name in DEMO_TASKS:
        task = get_task(name).resolve()
        rows = load_split(task, "train", data_dir).dataset
        for column in ("tokens", "text", "text_pair", "context", "question"):
            if column not in rows.column_names:
                continue
            for value in rows[column]:
                if value:
                    yield " ".join(value) if isinstance(value, list) else value


def build_demo_model(out_dir: Path, texts: list[str], seed: int = 0) -> Path:
    """A lowercase SentencePiece vocabulary (as ALBETO's) and a randomly initialised small ALBERT."""
    import torch
    from transformers import AlbertConfig, AlbertForMaskedLM

    from glues_bench.pretrain.tokenizer import load_albert_tokenizer, train_tokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = out_dir / "tokenizer-corpus.txt"  # kept next to the model: what its vocabulary was built from
    corpus.write_text("\n".join(t.replace("\n", " ") for t in texts) + "\n", encoding="utf-8")
    train_tokenizer(corpus, out_dir, vocab_size=4000, seed=seed)

    tokenizer = load_albert_tokenizer(out_dir)
    config = AlbertConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        **DEMO_CONFIG,
    )
    torch.manual_seed(seed)
    AlbertForMaskedLM(config).save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def run_demo(
    out_dir: Path, *, fresh: bool = False, progress: bool = True, echo: Callable[[str], None] = print
) -> DemoResult:
    from glues_bench.data.sources import RowCountWarning

    # The demo data are deliberate slices: their row counts differ from the official ones by design (the
    # difference is still recorded in each split's source, in the runs' provenance).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RowCountWarning)
        return _run_demo(out_dir, fresh=fresh, progress=progress, echo=echo)


def _run_demo(out_dir: Path, *, fresh: bool, progress: bool, echo: Callable[[str], None]) -> DemoResult:
    from glues_bench.runner import RunOptions, run_benchmark
    from glues_bench.site import build_site
    from glues_bench.store import open_store
    from glues_bench.submissions import RegisterRequest, load_manifest, manifest_path, register_checkpoint
    from glues_bench.tasks import get_task

    if fresh and out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = demo_data_dir()
    submissions_dir = out_dir / "submissions"
    model_dir = out_dir / "models" / DEMO_MODEL
    existing = manifest_path(DEMO_MODEL, submissions_dir)
    if existing.exists():
        submission = load_manifest(existing)
        echo(f"[1/5] reusing {DEMO_MODEL} from {model_dir}")
    else:
        echo("[1/5] building a SentencePiece vocabulary and a tiny ALBERT from the demo train slices")
        build_demo_model(model_dir, list(demo_texts(data_dir)))
        submission, _ = register_checkpoint(
            RegisterRequest(
                source=str(model_dir),
                name=DEMO_MODEL,
                family="ALBETO",
                origin="in-house",
                display_name="demo ALBERT (random init)",
                licence="Apache-2.0",
                notes="Offline demo: randomly initialised 2-layer ALBERT, fine-tuned on a few hundred "
                "examples. Its scores only show that the pipeline works.",
            ),
            submissions_dir,
        )
    db_url = f"sqlite:///{out_dir / 'demo.db'}"
    store = open_store(db_url)
    reported = reported_results_file()
    if reported is not None:
        summary = store.import_reported(reported)
        echo(f"[2/5] imported the paper's reported results: {summary.models} models from {reported.name}")
    else:
        echo("[2/5] leaderboard/reported_results.yaml not found (not a source checkout): no reported rows")
    echo(
        f"[3/5] fine-tuning on {', '.join(DEMO_TASKS)} (demo grid: bs 16, lr 1e-3, 3 epochs) from {data_dir}"
    )
    options = RunOptions(
        grid=str(data_dir / "demo_grid.yaml"),
        seeds=1,
        data_dir=data_dir,
        device="cpu",
        artifacts_dir=out_dir / "predictions",
        progress=progress,
        threads=1,
    )
    summaries = run_benchmark(store, [submission], [get_task(t) for t in DEMO_TASKS], options, echo=echo)
    echo("[4/5] building the site")
    site_dir = out_dir / "site"
    build_site(store.snapshot(), site_dir)
    store.close()
    echo("[5/5] done")
    return DemoResult(out_dir, db_url, site_dir / "index.html", summaries)
