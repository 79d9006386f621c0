"""Cut the small, redistributable slices the offline demo ships (glues_bench/demo_data/).

Run from the repo root with the real files at ../shared/data (or --source DIR). Slices are written in each
release's own format and file names, laid out like a `--data-dir`, so the demo exercises the real loaders.
Only data whose licence allows redistribution is shipped (see glues_bench/demo_data/ATTRIBUTION.md).
Train splits of these releases are not available offline, so each demo "train" file is cut from a
different part of the same release than its dev/test files, with no overlapping article or sentence.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def conllu_sentences(path: Path) -> list[str]:
    blocks = path.read_text(encoding="utf-8").strip("\n").split("\n\n")
    return [b + "\n" for b in blocks if b.strip()]


def write_conllu(path: Path, sentences: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(sentences) + "\n", encoding="utf-8")


def tsv_rows(path: Path) -> tuple[str, list[str]]:
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    return header, rows


def write_tsv(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def squad_articles(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def write_squad(path: Path, articles: list[dict], version: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": version, "data": articles}, ensure_ascii=False, indent=1) + "\n")


def first_paragraphs(articles: list[dict], n_paragraphs: int) -> list[dict]:
    """The first paragraphs of each article in turn, until n_paragraphs are taken."""
    out, taken = [], 0
    for article in articles:
        if taken >= n_paragraphs:
            break
        paragraphs = article["paragraphs"][: n_paragraphs - taken]
        out.append({"title": article["title"], "paragraphs": paragraphs})
        taken += len(paragraphs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("glues_bench/demo_data"))
    args = parser.parse_args()
    src, out = args.source, args.out

    # POS: UD v1.4 Spanish (GSD), CC BY-NC-SA 3.0 US. Train = dev sentences 0-299, dev = 300-399,
    # test = test 0-99.
    ud_dev = conllu_sentences(src / "ud/UD_Spanish-GSD_r1.4/es-ud-dev.conllu")
    ud_test = conllu_sentences(src / "ud/UD_Spanish-GSD_r1.4/es-ud-test.conllu")
    ud_out = out / "ud/UD_Spanish-GSD_r1.4"
    write_conllu(ud_out / "es-ud-train.conllu", ud_dev[:300])
    write_conllu(ud_out / "es-ud-dev.conllu", ud_dev[300:400])
    write_conllu(ud_out / "es-ud-test.conllu", ud_test[:100])

    # PAWS-X es (free to use). Train = dev rows 0-399, dev = dev rows 1000-1099, test = test rows 0-99.
    header, paws_dev = tsv_rows(src / "pawsx/dev_2k.tsv")
    _, paws_test = tsv_rows(src / "pawsx/test_2k.tsv")
    write_tsv(out / "pawsx/translated_train.tsv", header, paws_dev[:400])
    write_tsv(out / "pawsx/dev_2k.tsv", header, paws_dev[1000:1100])
    write_tsv(out / "pawsx/test_2k.tsv", header, paws_test[:100])

    # TAR (CC BY 4.0) -> XQuAD (CC BY-SA 4.0). Both cover the same 48 SQuAD dev articles, so slices are cut
    # from disjoint articles: train from TAR articles 0-9, dev from TAR 10-13, test from XQuAD 40-47.
    tar = squad_articles(src / "tar/dev-v1.1-es_small.json")
    xquad = squad_articles(src / "xquad/xquad.es.json")
    write_squad(out / "tar/train-v1.1-es.json", first_paragraphs(tar[:10], 40), "v1.1")
    write_squad(out / "tar/dev-v1.1-es.json", first_paragraphs(tar[10:14], 8), "v1.1")
    write_squad(out / "xquad/xquad.es.json", first_paragraphs(xquad[40:48], 10), "1.0")
    train_titles = {a["title"].replace(" _ ", "_") for a in tar[:14]}
    test_titles = {a["title"] for a in xquad[40:48]}
    if train_titles & test_titles:
        raise SystemExit(f"demo QA slices overlap: {train_titles & test_titles}")
    print(f"wrote demo slices under {out}")


if __name__ == "__main__":
    main()
