"""`glues-bench data prepare mldoc`: MLDoc built from an RCV2-shaped tree and the MLDoc id lists."""

from __future__ import annotations

import warnings
from pathlib import Path

from glues_bench.cli import main
from glues_bench.data import load_split
from glues_bench.tasks.registry import get_task

NEWSITEM = """<?xml version="1.0" encoding="iso-8859-1" ?>
<newsitem itemid="{id}" date="1997-01-01" xml:lang="es">
<title>T</title>
<text>
<p>{first}</p>
<p>segunda frase.</p>
</text>
<metadata>
<codes class="bip:countries:1.0"><code code="SPAIN"></code></codes>
<codes class="bip:topics:1.0"><code code="{sub}"></code><code code="{topic}"></code></codes>
</metadata>
</newsitem>
"""


def make_rcv2(root: Path) -> dict[str, list[tuple[str, str]]]:
    """A few RCV2-shaped Spanish items and MLDoc-style index files; returns the expected rows per split."""
    expected: dict[str, list[tuple[str, str]]] = {}
    indices = root / "indices"
    indices.mkdir(parents=True)
    topics = ["CCAT", "ECAT", "GCAT", "MCAT"]
    for s, name in enumerate(("spanish.train.10000", "spanish.dev", "spanish.test")):
        lines, rows = [], []
        for i in range(3):
            doc_id = f"{s}{i}"
            topic = topics[(s + i) % 4]
            folder = root / "rcv2" / "spanish" / f"REUTES{s}"
            folder.mkdir(parents=True, exist_ok=True)
            sub = "C15" if topic == "CCAT" else "E11"  # a sub-topic that is not one of the four
            first = f"Noticia {doc_id} en español"
            (folder / f"{doc_id}.xml").write_text(
                NEWSITEM.format(id=doc_id, first=first, sub=sub, topic=topic), encoding="iso-8859-1"
            )
            lines.append(f"REUTES{s}-{doc_id}")
            rows.append((topic, f"{first} segunda frase."))
        (indices / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        expected[name] = rows
    return expected


def test_prepare_mldoc_builds_the_splits_the_loader_reads(tmp_path: Path, capsys) -> None:
    expected = make_rcv2(tmp_path / "src")
    data_dir = tmp_path / "data"
    code = main(
        ["data", "prepare", "mldoc", "--rcv2", str(tmp_path / "src/rcv2"), "--data-dir", str(data_dir),
         "--indices", str(tmp_path / "src/indices")]
    )  # fmt: skip
    assert code == 0, capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 3 documents, not the official 1,000: drift warning expected
        dev = load_split(get_task("mldoc").resolve(), "dev", data_dir)
    assert list(zip(dev.dataset["label"], dev.dataset["text"], strict=True)) == expected["spanish.dev"]
    assert "[rows 3 ≠ official 1000]" in dev.source


def test_prepare_mldoc_without_rcv2_or_indices_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["data", "prepare", "mldoc", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--rcv2 PATH is required" in err[0]
    (tmp_path / "rcv2").mkdir()
    assert (
        main(["data", "prepare", "mldoc", "--rcv2", str(tmp_path / "rcv2"), "--data-dir", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`glues-bench data fetch mldoc` downloads them" in err[0]
    assert not (tmp_path / "mldoc" / "spanish.dev").exists()
