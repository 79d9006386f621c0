"""Checking a registered submission's weights on this machine against its manifest.

It sits above both `manifest` (the `Submission`) and `weights` (files, hashes, hub snapshots), so that
neither of those imports the other's upper half.
"""

from __future__ import annotations

from pathlib import Path

from glues_bench.errors import SubmissionError
from glues_bench.submissions.manifest import Submission
from glues_bench.submissions.weights import find_weight_files, hub_snapshot, sha256_files


def checkpoint_directory(submission: Submission) -> Path:
    """Where the submission's weight files are on this machine (a hub id: its cached snapshot)."""
    if submission.is_hub:
        assert submission.revision is not None  # is_hub means a pinned revision
        return hub_snapshot(submission.checkpoint, submission.revision, allow_pickle=submission.allow_pickle)
    return Path(submission.resolve_checkpoint())


def verify_weights(submission: Submission) -> None:
    """Check a checkpoint before anything loads it: its weight files must be ones the manifest allows (no
    pickle unless `allow_pickle`) and must hash to the registered sha256 — local folders and hub ids alike."""
    directory = checkpoint_directory(submission)
    _, paths = find_weight_files(
        directory, allow_pickle=submission.allow_pickle, label=f"submission {submission.name}"
    )
    actual = sha256_files(paths)
    if actual == submission.weights_sha256:
        return
    hashes = f"(sha256 {actual[:12]}…, manifest {submission.weights_sha256[:12]}…)"
    if submission.is_hub:
        raise SubmissionError(
            f"submission {submission.name}: the weights of {submission.checkpoint}@{submission.revision} "
            f"in the hub cache ({directory}) differ from the manifest {hashes}: "
            "delete that cached snapshot, or register the revision again with --force"
        )
    raise SubmissionError(
        f"submission {submission.name}: weights in {directory} changed since registration {hashes}: "
        "register again with --force"
    )
