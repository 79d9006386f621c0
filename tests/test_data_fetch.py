"""`glues-bench data fetch|mirror|status` against a real HTTP server on 127.0.0.1 serving a mirror built
from ../shared/data (archives re-packed from its files)."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from glues_bench.cli import main
from glues_bench.data import fetch as fetch_module
from glues_bench.tasks.registry import all_tasks

pytestmark = pytest.mark.shared_data


class MirrorServer:
    """Serves a folder with Range support; can drop a connection halfway or corrupt a file, once or always."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.drop_once: set[str] = set()
        self.corrupt: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                path = self.path.lstrip("/")
                server.requests.append((path, self.headers.get("Range")))
                file = server.root / path
                if not file.is_file():
                    self.send_error(404, "Not Found")
                    return
                body = file.read_bytes()
                if path in server.corrupt:
                    body = body[:-10] + b"corrupted!"
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if path in server.drop_once:
                    server.drop_once.discard(path)
                    self.wfile.write(body[start : start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MirrorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mirror_dir(shared_data: Path, tmp_path: Path) -> Path:
    mirror = tmp_path / "mirror"
    assert main(["data", "mirror", str(mirror), "--data-dir", str(shared_data)]) == 0
    return mirror


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_module, "BACKOFF_S", 0.01)
    monkeypatch.setattr(fetch_module, "RETRIES", 2)


def status_json(data_dir: Path, capsys: pytest.CaptureFixture) -> dict[tuple[str, str], dict]:
    capsys.readouterr()
    assert main(["data", "status", "--data-dir", str(data_dir), "--json"]) == 0
    return {(r["task"], r["split"]): r for r in json.loads(capsys.readouterr().out)}


def test_mirror_holds_archives_re_packed_from_the_data_dir(mirror_dir: Path) -> None:
    import zipfile

    with zipfile.ZipFile(mirror_dir / "ner/conll2002.zip") as zipped:
        assert sorted(zipped.namelist()) == [
            "conll2002/README", "conll2002/esp.testa", "conll2002/esp.testb", "conll2002/esp.train",
        ]  # fmt: skip
    assert (mirror_dir / "pawsx/x-final.tar.gz").is_file()
    assert (mirror_dir / "pos/r2.2-es_ancora-ud-dev.conllu").is_file()
    assert not (mirror_dir / "mldoc").exists()


def test_fetch_from_http_mirror_resumes_verifies_and_second_fetch_downloads_nothing(
    mirror_dir: Path, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with MirrorServer(mirror_dir) as server:
        server.drop_once.add("ner/conll2002.zip")
        code = main(["data", "fetch", "--data-dir", str(data_dir), "--mirror", server.url])
        captured = capsys.readouterr()
        out = captured.out
        # Splits the mirror lacks (train files over the copy limit) fail with one line each on stderr: exit 1.
        assert code == 1
        assert f"error: {server.url}/pos/es-ud-train.conllu: HTTP 404 Not Found" in captured.err.splitlines()
        assert "error:" not in out
        assert "ner: licence: research use in the context of the CoNLL-2002 shared task only" in out
        assert "— research use only" in out
        # The dropped connection was resumed with a Range request, to the right bytes.
        ranges = [r for p, r in server.requests if p == "ner/conll2002.zip"]
        assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
        for path in ("conll2002/esp.train", "conll2002/esp.testa", "xnli/dev.tsv", "xquad/xquad.es.json"):
            assert sha256(data_dir / path) == sha256(shared_data / path)
        assert not list(data_dir.rglob("*.part"))

        rows = status_json(data_dir, capsys)
        assert rows[("xnli", "dev")]["rows"] == 2490 and rows[("xnli", "test")]["rows"] == 5010
        assert rows[("ner", "train")]["rows"] == 8323 and rows[("ner", "train")]["verified"] is True
        assert rows[("pawsx", "dev")]["rows"] == 2000 and rows[("pos", "test")]["rows"] == 274
        assert not rows[("xnli", "train")]["found"]

        n_requests = len(server.requests)
        capsys.readouterr()
        # (pawsx is left out: its mirror archive lacks translated_train.tsv, so fetching it again is right.)
        again_args = ["data", "fetch", "ner", "pos", "xnli", "xquad", "--data-dir", str(data_dir)]
        assert main([*again_args, "--mirror", server.url]) == 1
        assert "downloaded 0 file(s), placed 0" in capsys.readouterr().out
        # Only what is still missing is asked for again (and 404s); nothing present is re-downloaded.
        again = [p for p, _ in server.requests[n_requests:]]
        assert "ner/conll2002.zip" not in again and "xnli/dev.tsv" not in again


def test_corrupted_file_is_refused_and_nothing_lands_under_its_name(
    mirror_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with MirrorServer(mirror_dir) as server:
        server.corrupt.add("xquad/xquad.es.json")
        assert main(["data", "fetch", "xquad", "--data-dir", str(data_dir), "--mirror", server.url]) == 1
    [line] = [line for line in capsys.readouterr().err.splitlines() if "checksum mismatch" in line]
    assert line.startswith(
        f"error: {server.url}/xquad/xquad.es.json: checksum mismatch for xquad/xquad.es.json"
    )
    assert not (data_dir / "xquad/xquad.es.json").exists()
    assert not [p for p in data_dir.rglob("*") if p.is_file() and "xquad.es" in p.name]
    assert (data_dir / "tar/dev-v1.1-es_small.json").is_file()  # the good file of the same task arrived


def test_unpinned_file_is_locked_on_first_download_and_verified_after(
    mirror_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (mirror_dir / "xnli/train.tsv").write_text("neutral\t1\t2\tUna premisa.\tUna hipótesis.\n", "utf-8")
    data_dir = tmp_path / "data"
    with MirrorServer(mirror_dir) as server:
        assert main(["data", "fetch", "xnli", "--data-dir", str(data_dir), "--mirror", server.url]) == 0
        lock = json.loads((data_dir / "glues-bench.lock.json").read_text("utf-8"))
        assert lock["sha256"]["xnli/train.tsv"] == sha256(mirror_dir / "xnli/train.tsv")
        assert "xnli/dev.tsv" not in lock["sha256"]  # pinned in the spec: no lock entry needed
        (data_dir / "xnli/train.tsv").unlink()
        (mirror_dir / "xnli/train.tsv").write_text("neutral\t1\t2\tOtra.\tOtra.\n", "utf-8")
        capsys.readouterr()
        assert main(["data", "fetch", "xnli", "--data-dir", str(data_dir), "--mirror", server.url]) == 1
    assert "checksum mismatch for xnli/train.tsv" in capsys.readouterr().err
    assert not (data_dir / "xnli/train.tsv").exists()


def test_folder_mirror_works_without_a_server(mirror_dir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert main(["data", "fetch", "ner", "--data-dir", str(data_dir), "--mirror", str(mirror_dir)]) == 0
    assert (data_dir / "conll2002/esp.testb").is_file()


def test_404_and_refused_connection_are_one_line_errors(
    mirror_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    shutil.rmtree(mirror_dir / "ner")
    with MirrorServer(mirror_dir) as server:
        assert main(["data", "fetch", "ner", "--data-dir", str(tmp_path / "a"), "--mirror", server.url]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {server.url}/ner/conll2002.zip: HTTP 404 Not Found"]

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert main(["data", "fetch", "ner", "--data-dir", str(tmp_path / "b"), "--mirror", url]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {url}/ner/conll2002.zip: ") and "refused" in errors[0]


def test_status_on_shared_data_lists_exactly_the_splits_present(
    shared_data: Path, capsys: pytest.CaptureFixture
) -> None:
    rows = status_json(shared_data, capsys)
    present = {key for key, row in rows.items() if row["found"]}
    assert present == {
        ("pos", "dev"), ("pos", "test"), ("ner", "train"), ("ner", "dev"), ("ner", "test"),
        ("pawsx", "dev"), ("pawsx", "test"), ("xnli", "dev"), ("xnli", "test"),
        ("mlqa", "dev"), ("xquad", "dev"), ("xquad", "test"),
    }  # fmt: skip
    assert len(rows) == 3 * len(all_tasks())
    assert (rows[("xnli", "dev")]["rows"], rows[("xnli", "test")]["rows"]) == (2490, 5010)
    assert rows[("xnli", "train")]["fetch"].startswith("glues-bench data fetch xnli --data-dir")
    assert rows[("mldoc", "dev")]["fetch"].startswith("no public download")
    assert rows[("mlqa", "dev")]["verified"] is None and rows[("xnli", "dev")]["verified"] is True


def test_bad_inputs_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", "utf-8")
    for argv in (
        ["data", "status", "--data-dir", str(tmp_path / "missing")],
        ["data", "fetch", "ner", "--data-dir", str(tmp_path), "--mirror", str(tmp_path / "missing")],
        ["data", "fetch", "ner", "--data-dir", str(not_a_dir)],
        ["data", "fetch", "nosuchtask", "--data-dir", str(tmp_path)],
        ["data", "prepare", "ner", "--data-dir", str(tmp_path)],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), (argv, err)
    assert not (tmp_path / "conll2002").exists()


def test_a_part_file_left_by_a_killed_fetch_is_resumed(
    mirror_dir: Path, shared_data: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    whole = (mirror_dir / "xquad/xquad.es.json").read_bytes()
    part = data_dir / ".downloads/xquad/xquad.es.json.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(whole[:1000])
    with MirrorServer(mirror_dir) as server:
        assert main(["data", "fetch", "xquad", "--data-dir", str(data_dir), "--mirror", server.url]) == 1
    assert ("xquad/xquad.es.json", "bytes=1000-") in server.requests
    assert sha256(data_dir / "xquad/xquad.es.json") == sha256(shared_data / "xquad/xquad.es.json")
    assert not part.exists()


def test_status_compares_a_split_of_several_files_with_all_their_official_counts() -> None:
    """POS reads GSD and, when present, AnCora: the official count is the sum, or unknown if one lacks it."""
    from glues_bench.data.status import _official_rows

    official = {"ud/gsd-test.conllu": 426, "ud/ancora-test.conllu": 1721}
    assert _official_rows(official, ["ud/gsd-test.conllu"]) == 426
    assert _official_rows(official, ["ud/gsd-test.conllu", "ud/ancora-test.conllu"]) == 426 + 1721
    assert _official_rows(official, ["ud/gsd-test.conllu", "ud/other.conllu"]) is None
    assert _official_rows(official, []) is None
