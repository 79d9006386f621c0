"""What the pretraining and distillation scripts share: corpus loading, the contamination gate, tokenizers,
checkpoint lookup and the error-to-exit-code edge."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from glues_bench.errors import GluesError, PretrainError
from glues_bench.pretrain.corpus import Document, document_texts, load_documents, parse_corpus_source

if TYPE_CHECKING:  # the heavy modules are imported where used: `--help` must not wait for torch
    from glues_bench.pretrain import contamination

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTAMINATION_REPORT = "contamination.json"


def default_data_dir() -> Path:
    """$GLUES_SHARED_DATA, else ../shared/data next to the repository (where the GLUES files live here)."""
    return Path(os.environ.get("GLUES_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def load_corpus(specs: Sequence[str], data_dir: Path | None) -> tuple[list[Document], list[str]]:
    """(documents of every source, their descriptions)."""
    sources = [parse_corpus_source(spec, data_dir) for spec in specs]
    documents: list[Document] = []
    for source in sources:
        loaded = load_documents(source)
        log.info(
            "corpus %s: %d documents, %d sentences", source.describe(), len(loaded), sum(map(len, loaded))
        )
        documents.extend(loaded)
    return documents, [_portable_description(source, data_dir) for source in sources]


def _portable_description(source, data_dir: Path | None) -> str:
    """`conll:conll2002/esp.train`: a file corpus relative to the data folder (or the working directory),
    since the description is stored in the manifest's notes and published; hub corpora as they are."""
    from glues_bench.provenance import portable_path

    if source.kind == "hf":
        return source.describe()
    return f"{source.kind}:{portable_path(source.location, data_dir)}"


def contamination_gate(
    documents: Sequence[Document], data_dir: Path | None, out_dir: Path, allow: bool, decontaminate: bool
) -> tuple[list[Document], contamination.ContaminationReport]:
    """Check the corpus against every available GLUES dev/test split (after dropping overlapping corpus
    documents when `decontaminate`), save the report, refuse a contaminated corpus unless `allow`."""
    from glues_bench.pretrain import contamination

    eval_documents, unavailable = contamination.glues_eval_documents(data_dir)
    kept = list(documents)
    if decontaminate:
        keep = contamination.decontaminate(list(document_texts(kept)), eval_documents)
        kept = [kept[i] for i in keep]
        log.info(
            "decontamination dropped %d of %d corpus documents", len(documents) - len(kept), len(documents)
        )
    report = contamination.check_contamination(document_texts(kept), eval_documents)
    report.unavailable = unavailable
    report.dropped_documents = len(documents) - len(kept)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / CONTAMINATION_REPORT).write_text(json.dumps(report.to_dict(), indent=2))
    log.info("contamination check: %s", report.summary())
    if unavailable:
        log.warning("not checked (unavailable): %s", ", ".join(sorted(unavailable)))
    contamination.enforce(report, allow)
    return kept, report


def resolve_resume(resume: str | None, out_dir: Path) -> Path | None:
    """`--resume` alone (= "latest") picks the newest complete checkpoint under `out_dir`."""
    if resume is None:
        return None
    if resume == "latest":
        from glues_bench.pretrain.loop import latest_checkpoint

        found = latest_checkpoint(out_dir)
        if found is None:
            raise PretrainError(f"--resume: no checkpoint under {out_dir / 'checkpoints'}")
        return found
    path = Path(resume)
    if not (path / "state.json").is_file():
        raise PretrainError(f"--resume {resume}: not a checkpoint directory (no state.json)")
    return path


def stay_offline_for_local_inputs(*sources: str | None) -> None:
    """Set HF offline mode unless one of `sources` (tokenizer, teacher, `hf:` corpus) needs the hub.

    A local path never touches the network: without this, transformers and datasets still ask the hub
    (retrying for a minute when there is no network) whenever HF_HUB_OFFLINE is unset. Call it before
    importing them.
    """
    needs_hub = any(source and _is_hub_reference(source) for source in sources)
    if not needs_hub:
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ[name] = "1"


def _is_hub_reference(source: str) -> bool:
    if source.startswith("hf:"):
        return True
    if ":" in source.split("/")[0] and source.split(":", 1)[0] in ("text", "conll"):
        return False  # text:PATH / conll:PATH corpus specs
    return not Path(source).exists()


def configure_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads (the dev machine is shared: use 1 in long jobs)."""
    import torch

    if threads:
        torch.set_num_threads(threads)


def run_main(main: Callable[[], None]) -> None:
    """Scripts' edge: user errors print one line and exit 2, like `glues-bench`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        main()
    except GluesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def add_common_options(p: argparse.ArgumentParser, submissions_dir: Path) -> None:
    """Options every pretraining script shares: data, output, device, resume, contamination, manifest."""
    p.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="GLUES data (contamination check, relative corpus paths)",
    )
    p.add_argument("--out", type=Path, required=True, help="run directory (checkpoints, log, final model)")
    p.add_argument("--log-every", type=int, default=1, help="steps between log.jsonl records")
    p.add_argument("--device", help="cuda / cpu (default: cuda when available)")
    p.add_argument("--no-bf16", action="store_true", help="disable bf16 autocast on GPU")
    p.add_argument("--threads", type=int, help="torch CPU threads (use 1 on a shared machine)")
    p.add_argument(
        "--resume", nargs="?", const="latest", help="resume from a checkpoint dir (alone: the newest in OUT)"
    )
    p.add_argument(
        "--decontaminate",
        action="store_true",
        help="drop corpus documents sharing a 13-gram with GLUES eval text",
    )
    p.add_argument(
        "--allow-contamination", action="store_true", help="train even if the corpus contains GLUES eval text"
    )
    p.add_argument("--submissions-dir", type=Path, default=submissions_dir)
    p.add_argument(
        "--licence", help="licence of the trained weights (default: CoNLL-2002's terms for that corpus)"
    )
    p.add_argument("--no-register", action="store_true", help="do not write a submission manifest")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing manifest of the same name (checked before training starts)",
    )
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
