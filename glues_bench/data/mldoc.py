"""Build MLDoc Spanish from a user's own Reuters RCV2 copy and the MLDoc release's document-id lists.

MLDoc cannot be redistributed (Reuters RCV2 licence, obtained from NIST), so nobody can download it; the
MLDoc release (github.com/facebookresearch/MLDoc) publishes only which RCV2 documents make each split
(`mldoc-indices/spanish.{train.10000,dev,test}`, one `<sub-corpus>-<file name>` per line). This follows
that release's documented procedure: each listed document is `<rcv2>/<sub-corpus>/<file name>.xml`; its
label is its one top-level topic among CCAT/ECAT/GCAT/MCAT (`codes[@class="bip:topics:1.0"]`), its text
the `<p>` paragraphs joined by spaces, and each split is written as `label<TAB>text` lines, the layout
the `mldoc_tsv` reader reads.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from glues_bench.errors import DataError, GluesError

SPLIT_FILES = ("spanish.train.10000", "spanish.dev", "spanish.test")
TOPIC_CLASS = "bip:topics:1.0"
TOPICS = ("CCAT", "ECAT", "GCAT", "MCAT")


def _spanish_root(rcv2: Path) -> Path:
    """`--rcv2` may name the RCV2 root (holding `spanish/`) or the Spanish part itself."""
    if not rcv2.is_dir():
        raise GluesError(f"--rcv2 {rcv2}: not a directory")
    return rcv2 / "spanish" if (rcv2 / "spanish").is_dir() else rcv2


def document(path: Path) -> tuple[str, str]:
    """(topic, text) of one RCV2 news item."""
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: listed in the MLDoc indices but not in your RCV2 copy") from exc
    except ET.ParseError as exc:
        raise DataError(f"{path}: not valid XML ({exc})") from exc
    topics = [
        code.attrib.get("code")
        for code in root.findall(f".//codes[@class='{TOPIC_CLASS}']/code")
        if code.attrib.get("code") in TOPICS
    ]
    if len(topics) != 1:
        raise DataError(f"{path}: expected exactly one of {', '.join(TOPICS)} as topic, found {topics}")
    text = " ".join(p.text or "" for p in root.findall(".//p"))
    if "\t" in text or "\n" in text:  # would break the label<TAB>text layout
        text = " ".join(text.split())
    return topics[0], text


def prepare_mldoc(rcv2: Path, indices_dir: Path, out_dir: Path) -> dict[str, int]:
    """Write the three Spanish splits into `out_dir`; returns the documents written per file."""
    spanish = _spanish_root(rcv2)
    missing = [name for name in SPLIT_FILES if not (indices_dir / name).is_file()]
    if missing:
        raise GluesError(
            f"{indices_dir}: missing MLDoc index file(s) {', '.join(missing)}; "
            "`glues-bench data fetch mldoc` downloads them"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for name in SPLIT_FILES:
        index = indices_dir / name
        lines = []
        for line_no, entry in enumerate(index.read_text(encoding="utf-8").splitlines(), start=1):
            if not entry.strip():
                continue
            sub_corpus, sep, file_name = entry.strip().partition("-")
            if not sep or not file_name:
                raise DataError(f"{index}:{line_no}: expected <sub-corpus>-<file name>, got {entry!r}")
            topic, text = document(spanish / sub_corpus / f"{file_name}.xml")
            lines.append(f"{topic}\t{text}\n")
        with tempfile.NamedTemporaryFile(
            "w", dir=out_dir, delete=False, suffix=".part", encoding="utf-8"
        ) as handle:
            handle.writelines(lines)
        os.replace(handle.name, out_dir / name)  # never a half-written split under its final name
        written[name] = len(lines)
    return written
