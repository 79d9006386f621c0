"""What to record with every run so that a number can be traced back: versions, git sha, device."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

import glues_bench

_LIBRARIES = ("torch", "transformers", "datasets", "tokenizers", "seqeval", "numpy", "sqlalchemy")


@cache
def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "glues-bench": glues_bench.__version__}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@cache
def harness_git_sha() -> str | None:
    """The harness's git commit (with `-dirty` when the tree has changes), or None outside a checkout."""
    root = Path(glues_bench.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def resolve_device(requested: str) -> str:
    """`auto` → cuda when available, else cpu; `cuda` without a GPU is an error, not a silent fallback."""
    import torch

    from glues_bench.errors import GluesError

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise GluesError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    if requested not in ("cpu", "cuda"):
        raise GluesError(f"--device {requested!r}: expected cpu, cuda or auto")
    return requested


def describe_device(device: str) -> str:
    import torch

    if device == "cuda":
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return f"cpu:{platform.processor() or platform.machine()} ×{torch.get_num_threads()} threads"


def portable_path(path: str | Path, base: Path | None = None) -> str:
    """`path` as stored and shown: relative to `base` (e.g. --data-dir) when under it, else to the working
    directory (the repo, for the documented commands). Never an absolute path of the machine that ran it.
    """
    absolute = Path(os.path.abspath(path))
    for root in (base, Path.cwd()):
        if root is None:
            continue
        try:
            return absolute.relative_to(Path(os.path.abspath(root))).as_posix()
        except ValueError:
            continue
    return Path(os.path.relpath(absolute, Path.cwd())).as_posix()


_ABSOLUTE_IN_SOURCE = re.compile(r"(?<![\w:])/[^,\[\]]+?(?=,\s|\s\[|$)")


def portable_source(source: str, data_dir: Path | None) -> str:
    """A split's `source` (`/abs/a.conllu, /abs/b.conllu [first 300]`, or a hub id) with its file paths
    made relative by `portable_path`; hub origins (`hub:…`) are left as they are."""
    return _ABSOLUTE_IN_SOURCE.sub(lambda match: portable_path(match.group(0), data_dir), source)


_HASH_CHUNK = 1 << 20  # stream files in 1 MiB chunks; never hold a file in memory


def sha256_files(paths: Iterable[Path]) -> str:
    """sha256 of the files' bytes concatenated in the given order, streamed in 1 MiB chunks."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of one file (a download, a predictions file, a data split): the one way every layer hashes."""
    return sha256_files([path])
