"""What to record with every run so that a number can be traced back: versions, git sha, device."""

from __future__ import annotations

import platform
import subprocess
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
