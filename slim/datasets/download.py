"""Resumable file downloads with a progress bar and checksum verification (standard library ``urllib`` only).

A download goes to ``<file>.partial`` and is renamed to ``<file>`` only once it is complete and its checksum (when
one is known) matches, so a finished file is never half-written. An interrupted download keeps its ``.partial``
file; the next call asks the server for the rest with an HTTP ``Range`` request and appends to it. Servers that
ignore ``Range`` (and ``file://`` URLs) simply send the whole file again.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request

from tqdm import tqdm

__all__ = ["download_url", "file_digest", "DownloadError", "ChecksumError"]

logger = logging.getLogger(__name__)

_CHUNK_SIZE = 1 << 20
_USER_AGENT = "torch-slim-downloader"


class DownloadError(IOError):
    """A download failed or ended early (the partial file is kept so that the next call resumes it)."""


class ChecksumError(ValueError):
    """A downloaded file's checksum differs from the published one."""


def file_digest(path: str, algorithm: str) -> str:
    """The hex digest (``'sha256'``, ``'md5'``, ...) of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _target_path(url: str, dest: str) -> str:
    if os.path.isdir(dest):
        name = os.path.basename(urllib.parse.urlparse(url).path)
        if not name:
            raise ValueError(f"download_url: cannot name a file after URL {url!r}; pass a file path as dest.")
        return os.path.join(dest, name)
    return dest


def _verify(path: str, url: str, checksums: dict[str, str]) -> None:
    for algorithm, expected in checksums.items():
        actual = file_digest(path, algorithm)
        if actual.lower() != expected.lower():
            os.remove(path)
            raise ChecksumError(
                f"Checksum mismatch for {url} (downloaded to {path}): expected {algorithm} {expected}, got {actual}. "
                "The file was deleted; run again to download it afresh, or check that the URL is the right one."
            )


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _content_range_total(value: str | None) -> int | None:
    match = re.match(r"bytes\s+(?:\d+-\d+|\*)/(\d+)", value or "")
    return int(match.group(1)) if match else None


def download_url(
    url: str,
    dest: str,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> str:
    """Downloads ``url`` to ``dest``, resuming an earlier interrupted download, and returns the file's path.

    Args:
      url: an ``http(s)://``, ``ftp://`` or ``file://`` URL.
      dest: an existing directory (the file is named after the URL's last path component, as TF-Slim's
        ``download_url(url, dataset_dir)``) or a file path.
      sha256: the published SHA-256 of the file, if any; a mismatch is an error and the file is deleted.
      md5: the published MD5 of the file, if any (several datasets publish only MD5).
      progress: show a tqdm progress bar on stderr.
      timeout: seconds to wait for the server on each read.

    Returns:
      The path of the complete file. An existing complete file is reused (after checking its checksum, if given).

    Raises:
      DownloadError: the server failed or the transfer ended early; ``<file>.partial`` keeps what arrived, and
        calling again resumes from there.
      ChecksumError: the complete file does not match ``sha256`` / ``md5``.
    """
    path = _target_path(url, dest)
    checksums = {name: value for name, value in (("sha256", sha256), ("md5", md5)) if value}
    if os.path.exists(path):
        _verify(path, url, checksums)
        logger.info("Reusing %s (already downloaded).", path)
        return path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    offset = os.path.getsize(partial) if os.path.exists(partial) else 0
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset and _content_range_total(error.headers.get("Content-Range")) == offset:
            response = None  # The partial file already holds every byte.
        elif error.code == 416:
            os.remove(partial)
            return download_url(url, dest, sha256=sha256, md5=md5, progress=progress, timeout=timeout)
        else:
            raise DownloadError(f"Downloading {url} failed: HTTP {error.code} {error.reason}.") from error
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(f"Downloading {url} failed: {error}. Check the URL and your network connection.") from error

    if response is not None:
        with response:
            status = getattr(response, "status", None)
            resumed = offset > 0 and status == 206
            if offset and not resumed:
                logger.info("%s does not support resuming; downloading it from the start.", url)
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            received = offset
            with (
                open(partial, "ab" if resumed else "wb") as out,
                tqdm(
                    total=total,
                    initial=offset,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=f">> Downloading {os.path.basename(path)}",
                    disable=not progress,
                ) as bar,
            ):
                try:
                    for chunk in iter(lambda: response.read(_CHUNK_SIZE), b""):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                except (OSError, http.client.HTTPException) as error:
                    raise DownloadError(
                        f"Downloading {url} stopped after {received} bytes ({error}); {partial} keeps them and "
                        "calling download_url again resumes the download."
                    ) from error
            if total is not None and received != total:
                raise DownloadError(
                    f"Downloading {url} ended after {received} of {total} bytes; {partial} keeps them and calling "
                    "download_url again resumes the download."
                )
    os.replace(partial, path)
    _verify(path, url, checksums)
    logger.info("Successfully downloaded %s (%d bytes).", os.path.basename(path), os.path.getsize(path))
    return path
