"""GLUES data: one loader for every task, driven by its spec, returning the schema of `schema.py`.

Importing this package imports `datasets`; keep it out of CLI start-up paths.
"""

from __future__ import annotations

from glues_bench.data.loader import (
    DataUnavailable,
    LoadedSplit,
    dataset_fingerprint,
    load_split,
    local_files,
    read_gold_file,
)
from glues_bench.data.schema import FEATURES

__all__ = [
    "FEATURES",
    "DataUnavailable",
    "LoadedSplit",
    "dataset_fingerprint",
    "load_split",
    "local_files",
    "read_gold_file",
]
