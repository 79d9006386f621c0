"""`glues-bench data fetch`: each task's original public release, downloaded, verified and unpacked into
exactly the `--data-dir` layout the loaders read.

- Sources: the URL a spec's `downloads` names, or a mirror (`--mirror`): an HTTP(S) base URL or a folder,
  both laid out as `<task>/<file name>` (what `glues-bench data mirror DIR` writes).
- Integrity: every placed file whose sha256 the spec pins is verified; a file without a pin is recorded
  in `<data-dir>/glues-bench.lock.json` on first download and verified against it ever after.
- Robustness: downloads go to `<name>.part` files that resume with HTTP Range requests, transient errors
  are retried a bounded number of times, and a file only appears under its final name once complete and
  verified (`os.replace`). Every failure is one line naming the URL.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from glues_bench.errors import FetchError, GluesError
from glues_bench.provenance import file_sha256 as sha256_of
from glues_bench.tasks.spec import ReleaseFile, ReleaseMember, TaskSpec

LOCK_NAME = "glues-bench.lock.json"
DOWNLOADS_DIR = ".downloads"  # archives and partial files, inside --data-dir
CHUNK = 1 << 16
RETRIES = 4
BACKOFF_S = 0.25  # doubled per retry, at most 5 s
TIMEOUT_S = 30.0
TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}


# --- lock file ------------------------------------------------------------------------------------------


class Lock:
    """sha256 of every unpinned file, recorded on first download (`<data-dir>/glues-bench.lock.json`)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self.entries: dict[str, str] = {}
        if self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text(encoding="utf-8"))["sha256"]
            except (ValueError, KeyError, TypeError) as exc:
                raise GluesError(f"{self.path}: not a glues-bench lock file; move it away") from exc

    def expected(self, relative: str, pinned: str | None) -> str | None:
        return pinned or self.entries.get(relative)

    def record(self, relative: str, digest: str) -> None:
        self.entries[relative] = digest

    def save(self) -> None:
        text = json.dumps({"version": 1, "sha256": dict(sorted(self.entries.items()))}, indent=2) + "\n"
        _atomic_write_text(self.path, text)


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8"
    ) as handle:
        handle.write(text)
    os.replace(handle.name, path)


# --- download -------------------------------------------------------------------------------------------


@dataclass
class Progress:
    """A byte progress bar with size and ETA, drawn only on a TTY."""

    label: str
    enabled: bool = field(default_factory=lambda: sys.stderr.isatty())
    _bar: object = None

    def start(self, total: int | None, done: int) -> None:
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, initial=done, unit="B", unit_scale=True, desc=self.label, leave=False
            )

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()  # type: ignore[attr-defined]
            self._bar = None


def _source_url(release: ReleaseFile, task: str, mirror: str | None) -> str:
    if mirror is None:
        return release.url
    if mirror.startswith(("http://", "https://")):
        return f"{mirror.rstrip('/')}/{task}/{release.name}"
    return str(Path(mirror) / task / release.name)


def download(url: str, target: Path, progress: Progress, retries: int | None = None) -> None:
    """`url` (HTTP(S) or a local path) to `target`, through `target.part`, resuming after interruptions."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not url.startswith(("http://", "https://")):
        source = Path(url)
        if not source.is_file():
            raise FetchError(f"{url}: not found in the mirror")
        part = target.with_name(target.name + ".part")
        shutil.copyfile(source, part)
        os.replace(part, target)
        return
    part = target.with_name(target.name + ".part")
    retries = RETRIES if retries is None else retries
    attempt = 0
    while True:
        try:
            _download_once(url, part, progress)
            os.replace(part, target)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and part.exists():  # a stale .part longer than the file: start over
                part.unlink()
            elif exc.code not in TRANSIENT_HTTP:
                raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
            error: Exception = exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            error = exc
        attempt += 1
        if attempt > retries:
            reason = getattr(error, "reason", None) or error
            raise FetchError(f"{url}: {reason} (gave up after {retries} retries; rerun to resume)") from error
        time.sleep(min(BACKOFF_S * 2**attempt, 5.0))


def _download_once(url: str, part: Path, progress: Progress) -> None:
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "glues-bench"})
    if done:
        request.add_header("Range", f"bytes={done}-")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        if done and response.status != 206:  # the server ignored Range: start from scratch
            done = 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length is not None else None
        progress.start(total, done)
        received = 0
        try:
            with part.open("ab" if done else "wb") as handle:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    handle.write(chunk)
                    received += len(chunk)
                    progress.update(len(chunk))
        finally:
            progress.close()
        if length is not None and received < int(length):
            raise ConnectionError(f"connection closed after {done + received} of {total} bytes")


# --- placing files --------------------------------------------------------------------------------------


@dataclass
class FetchReport:
    downloaded: list[str] = field(default_factory=list)  # source URLs actually transferred
    placed: list[str] = field(default_factory=list)  # data-dir paths written
    present: list[str] = field(default_factory=list)  # data-dir paths already there and verified
    failed: list[str] = field(default_factory=list)  # one-line errors


def _verify(path: Path, relative: str, expected: str | None, url: str) -> str:
    digest = sha256_of(path)
    if expected is not None and digest != expected:
        raise FetchError(
            f"{url}: checksum mismatch for {relative} (sha256 {digest[:16]}…, expected {expected[:16]}…)"
        )
    return digest


def fetch_release(
    task: str,
    release: ReleaseFile,
    data_dir: Path,
    lock: Lock,
    mirror: str | None,
    report: FetchReport,
    echo_error: Callable[[str], None],
) -> None:
    """Place every file of one release under `data_dir`, downloading only what is missing or wrong."""
    url = _source_url(release, task, mirror)
    todo = []
    for member in release.files:
        final = data_dir / member.path
        expected = lock.expected(member.path, member.sha256)
        if final.is_file() and (expected is None or sha256_of(final) == expected):
            if expected is None:
                lock.record(member.path, sha256_of(final))
            report.present.append(member.path)
        else:
            todo.append(member)
    if not todo:
        return
    downloads = data_dir / DOWNLOADS_DIR / task
    fetched = downloads / release.name
    download(url, fetched, Progress(f"{task}/{release.name}"))
    report.downloaded.append(url)
    try:
        # Only a pinned archive is checked as a whole: a mirror re-packs archives (different bytes, same
        # members), so what the lock records and verifies are the placed files themselves.
        _verify(fetched, f"{task}/{release.name}", release.sha256, url)
        for member in todo:  # one bad member does not stop the others
            try:
                _place(fetched, release, member, data_dir, lock, url)
            except FetchError as exc:
                report.failed.append(str(exc))
                echo_error(f"error: {exc}")
                continue
            report.placed.append(member.path)
    finally:
        # A plain file's download was staged under .downloads; an archive is kept only until unpacked.
        fetched.unlink(missing_ok=True)


def _place(
    fetched: Path, release: ReleaseFile, member: ReleaseMember, data_dir: Path, lock: Lock, url: str
) -> None:
    """Unpack (or copy) one file next to its final name, verify it, then move it there atomically."""
    final = data_dir / member.path
    staged = final.with_name(final.name + ".part")
    final.parent.mkdir(parents=True, exist_ok=True)
    _extract(fetched, release.archive, member.member, staged, url)
    try:
        digest = _verify(staged, member.path, lock.expected(member.path, member.sha256), url)
    except FetchError:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, final)
    if member.sha256 is None:
        lock.record(member.path, digest)


def _extract(fetched: Path, archive: str | None, member: str | None, staged: Path, url: str) -> None:
    if archive is None:
        shutil.copyfile(fetched, staged)
        return
    assert member is not None
    try:
        if archive == "zip":
            with zipfile.ZipFile(fetched) as zipped, zipped.open(member) as src, staged.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            with tarfile.open(fetched, "r:gz") as tarred:
                src = tarred.extractfile(member)
                if src is None:
                    raise KeyError(member)
                with src, staged.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    except KeyError as exc:
        staged.unlink(missing_ok=True)
        raise FetchError(f"{url}: the archive has no member {member}") from exc
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        staged.unlink(missing_ok=True)
        raise FetchError(f"{url}: not a readable {archive} archive ({exc.__class__.__name__})") from exc


def fetch_tasks(
    specs: list[TaskSpec],
    data_dir: Path,
    mirror: str | None = None,
    echo: Callable[[str], None] = print,
    echo_error: Callable[[str], None] | None = None,
) -> FetchReport:
    """Fetch every release file of `specs`; failures are collected and told (one line each through
    `echo_error`, default `echo`), not raised."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = Lock(data_dir)
    report = FetchReport()
    tell_error = echo_error or echo
    for spec in specs:
        if not spec.downloads:
            echo(f"{spec.name}: no public download ({spec.licence}); see `glues-bench data prepare --help`")
            continue
        research = " — research use only" if spec.research_only else ""
        echo(f"{spec.name}: licence: {spec.licence}{research}")
        for release in spec.downloads:
            try:
                fetch_release(spec.name, release, data_dir, lock, mirror, report, tell_error)
            except FetchError as exc:
                report.failed.append(str(exc))
                tell_error(f"error: {exc}")
            finally:
                lock.save()
    return report


def write_mirror(specs: list[TaskSpec], data_dir: Path, mirror_dir: Path) -> list[str]:
    """A mirror tree (`<task>/<file name>`) rebuilt from the files of a data dir; archives are re-packed
    with the members present. Returns the files written; a release with no member present is skipped."""
    written = []
    for spec in specs:
        for release in spec.downloads:
            present = [m for m in release.files if (data_dir / m.path).is_file()]
            if not present:
                continue
            target = mirror_dir / spec.name / release.name
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = target.with_name(target.name + ".part")
            if release.archive is None:
                shutil.copyfile(data_dir / present[0].path, staged)
            elif release.archive == "zip":
                with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as zipped:
                    for member in present:
                        zipped.write(data_dir / member.path, member.member)
            else:
                with tarfile.open(staged, "w:gz") as tarred:
                    for member in present:
                        tarred.add(data_dir / member.path, member.member)
            os.replace(staged, target)
            written.append(f"{spec.name}/{release.name}")
    return written
