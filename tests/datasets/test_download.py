"""download_url: resuming with HTTP Range against a local server, restarting where Range is ignored, checksums."""

import hashlib
import http.server
import os
import threading

import pytest

from slim.datasets.download import ChecksumError, DownloadError, download_url

PAYLOAD = bytes(range(256)) * 64  # 16 KiB


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /data.bin; honours Range unless server.ignore_range; can cut the body short once."""

    def do_GET(self):  # noqa: N802 - http.server's name
        server = self.server
        server.requests.append(self.headers.get("Range"))
        if self.path != "/data.bin":
            self.send_error(404)
            return
        start = 0
        range_header = self.headers.get("Range")
        if range_header and not server.ignore_range:
            start = int(range_header.split("=")[1].split("-")[0])
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.cut_after is not None:
            self.wfile.write(body[: server.cut_after])
            server.cut_after = None
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.requests, httpd.ignore_range, httpd.cut_after = [], False, None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(httpd):
    return f"http://127.0.0.1:{httpd.server_address[1]}/data.bin"


def test_download_into_directory_names_file_after_url(server, tmp_path):
    path = download_url(_url(server), str(tmp_path), progress=False)
    assert path == str(tmp_path / "data.bin")
    assert open(path, "rb").read() == PAYLOAD
    assert not os.path.exists(path + ".partial")


def test_resume_from_partial_file_sends_range(server, tmp_path):
    half = len(PAYLOAD) // 2
    (tmp_path / "data.bin.partial").write_bytes(PAYLOAD[:half])
    path = download_url(_url(server), str(tmp_path), sha256=hashlib.sha256(PAYLOAD).hexdigest(), progress=False)
    assert server.requests == [f"bytes={half}-"]
    assert open(path, "rb").read() == PAYLOAD


def test_interrupted_download_keeps_partial_and_next_call_resumes(server, tmp_path):
    server.cut_after = 5000
    with pytest.raises(DownloadError, match="resumes"):
        download_url(_url(server), str(tmp_path), progress=False)
    partial = tmp_path / "data.bin.partial"
    assert partial.read_bytes() == PAYLOAD[:5000]
    path = download_url(_url(server), str(tmp_path), progress=False)
    assert server.requests == [None, "bytes=5000-"]
    assert open(path, "rb").read() == PAYLOAD


def test_server_ignoring_range_restarts_from_scratch(server, tmp_path):
    server.ignore_range = True
    (tmp_path / "data.bin.partial").write_bytes(b"garbage that must not survive")
    path = download_url(_url(server), str(tmp_path), progress=False)
    assert open(path, "rb").read() == PAYLOAD


def test_complete_partial_file_is_finished_on_416(server, tmp_path):
    (tmp_path / "data.bin.partial").write_bytes(PAYLOAD)
    path = download_url(_url(server), str(tmp_path), md5=hashlib.md5(PAYLOAD).hexdigest(), progress=False)
    assert open(path, "rb").read() == PAYLOAD


def test_checksum_mismatch_is_an_error_and_deletes_the_file(server, tmp_path):
    wrong = "0" * 64
    with pytest.raises(ChecksumError, match=f"expected sha256 {wrong}, got {hashlib.sha256(PAYLOAD).hexdigest()}"):
        download_url(_url(server), str(tmp_path), sha256=wrong, progress=False)
    assert not (tmp_path / "data.bin").exists()


def test_existing_file_is_reused_without_request(server, tmp_path):
    (tmp_path / "data.bin").write_bytes(PAYLOAD)
    download_url(_url(server), str(tmp_path), sha256=hashlib.sha256(PAYLOAD).hexdigest(), progress=False)
    assert server.requests == []


def test_http_error_names_the_url(server, tmp_path):
    url = _url(server).replace("data.bin", "missing.bin")
    with pytest.raises(DownloadError, match="missing.bin failed: HTTP 404"):
        download_url(url, str(tmp_path), progress=False)


def test_file_url_to_explicit_path(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "copy.bin"
    path = download_url(source.as_uri(), str(dest), progress=False)
    assert path == str(dest) and dest.read_bytes() == PAYLOAD
