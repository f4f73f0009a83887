"""Fetch the paper's data (DIV2K zips, EDSR's benchmark.tar, published weights) reliably.

The archives are gigabytes behind slow academic servers, so a transfer must survive being cut
off: bytes go to ``<dest>.part``, an interrupted transfer resumes with an HTTP ``Range`` request,
transient failures are retried with exponential back-off, and the file is only renamed to
``dest`` once its size and SHA-256 are verified.  A Snakemake rule that sees ``dest`` can
therefore trust it.  Standard library only (``urllib``), so nothing extra needs installing.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from patchmine.locks import exclusive
from patchmine.workflow import job_attempt

__all__ = ["ChecksumError", "DownloadError", "HTTPStatusError", "download", "sha256sum"]

_LOG = logging.getLogger(__name__)

#: Longest pause between two attempts, however many have failed.
MAX_BACKOFF = 120.0
#: At most one progress line per this many seconds (plus one per 10 % step).
PROGRESS_INTERVAL = 5.0
#: Client errors that mean "try again later" rather than "this will never work".
_RETRYABLE_4XX = {408, 429}
_USER_AGENT = "patchmine-download/1.0 (+urllib)"


class DownloadError(RuntimeError):
    """A download that cannot complete; the message names the URL or the file."""


class HTTPStatusError(DownloadError):
    """The server answered with an error status that retrying will not fix (e.g. 404)."""

    def __init__(self, url: str, status: int, reason: str):
        super().__init__(f"{url}: HTTP {status} {reason} (not retried)")
        self.url, self.status, self.reason = url, status, reason


class ChecksumError(DownloadError):
    """The transferred bytes are not the expected file (size or SHA-256 differ)."""

    def __init__(self, path: Path, what: str, expected: object, actual: object, note: str = ""):
        message = f"{path}: {what} mismatch: expected {expected}, got {actual}"
        super().__init__(message + (f" ({note})" if note else ""))
        self.path, self.what, self.expected, self.actual = path, what, expected, actual


class _Transient(Exception):
    """A failure worth retrying (truncated body, server hiccup)."""


class _Restart(Exception):
    """The partial file is unusable; start again from byte 0 without counting a failure."""


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in blocks so multi-GB archives need no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,
    size: int | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60,
    chunk: int = 1 << 20,
    log: logging.Logger | logging.LoggerAdapter | None = None,
    refetch_mismatch: bool | None = None,
) -> Path:
    """Download ``url`` to ``dest`` resumably and verified; return ``dest`` as a Path.

    ``url`` may be ``http(s)://``, ``file://`` or a plain local path (copied the same way, for
    data already on disk).  ``sha256``/``size`` are checked when given; an existing ``dest``
    that passes them is returned without any transfer.  ``retries`` counts consecutive failed
    attempts: an attempt that received bytes resets the count, so a flaky server still gets a
    multi-GB file through.  Waits are ``backoff * 2**(n-1)`` seconds, capped at MAX_BACKOFF.

    A ChecksumError is remembered in ``<dest>.mismatch.json``. With ``refetch_mismatch=False``
    (a Snakemake retry of the same run) a call that finds that record for the same URL and
    checksum raises it again at once: a server that sent the wrong bytes for a whole file will
    send them again, and the archives are gigabytes. ``None`` (the default) means False in a
    retried rule job (:func:`patchmine.workflow.job_attempt` above 1) and True everywhere else.

    Raises HTTPStatusError (4xx, not retried), ChecksumError (bad size/digest; the ``.part``
    is deleted) or DownloadError (retries exhausted, bad URL).
    """
    log = log if log is not None else _LOG
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Another workflow sharing this data folder may be fetching the same file: wait for it,
    # then find the file it saved verified below, instead of writing into its .part.
    with exclusive(dest.with_name(dest.name + ".lock"), what=f"downloading {url}", log=log):
        expected = sha256.strip().lower() if sha256 else None
        if dest.exists():
            if _matches(dest, expected, size, chunk):
                log.info("%s: already present and verified; not downloading", dest)
                return dest
            log.warning(
                "%s: exists but does not match the expected size/sha256; fetching again", dest
            )

        source = _local_source(url)
        label = str(source if source is not None else url)
        record = dest.with_name(dest.name + ".mismatch.json")
        if refetch_mismatch is None:
            refetch_mismatch = job_attempt() == 1
        if refetch_mismatch:
            record.unlink(missing_ok=True)  # only what this run's attempts found counts
        else:
            _raise_known_mismatch(record, dest, label, expected, size)

        part = dest.with_name(dest.name + ".part")
        if source is not None:
            _copy(source, part, chunk=chunk, log=log)
        else:
            _fetch(
                label,
                part,
                size=size,
                retries=retries,
                backoff=backoff,
                timeout=timeout,
                chunk=chunk,
                log=log,
            )
        try:
            _verify(part, dest, expected, size, chunk)
        except ChecksumError as exc:
            _remember_mismatch(record, exc, label, expected, size)
            raise
        os.replace(part, dest)
        record.unlink(missing_ok=True)
        log.info("%s: saved from %s", dest, label)
        return dest


# --------------------------------------------------------------------------- verification


def _matches(path: Path, expected: str | None, size: int | None, chunk: int) -> bool:
    """Whether an existing file passes the checks we know of (none known: trust it, since
    ``dest`` is only ever written by an atomic rename after verification)."""
    if size is not None and path.stat().st_size != size:
        return False
    return expected is None or sha256sum(path, chunk) == expected


def _verify(part: Path, dest: Path, expected: str | None, size: int | None, chunk: int) -> None:
    """Check the finished ``.part``; on mismatch delete it so a rerun starts clean."""
    actual_size = part.stat().st_size
    _validator_path(part).unlink(missing_ok=True)  # whatever follows, this version is done
    if size is not None and actual_size != size:
        part.unlink(missing_ok=True)
        raise ChecksumError(dest, "size", f"{size} bytes", f"{actual_size} bytes")
    if expected is not None:
        actual = sha256sum(part, chunk)
        if actual != expected:
            part.unlink(missing_ok=True)
            raise ChecksumError(dest, "sha256", expected, actual)


def _identity(label: str, expected: str | None, size: int | None) -> dict:
    """What a mismatch is a mismatch of: the same URL checked against the same values."""
    return {"url": label, "sha256": expected, "size": size}


def _remember_mismatch(record: Path, exc: ChecksumError, label, expected, size) -> None:
    found = {"what": exc.what, "expected": str(exc.expected), "actual": str(exc.actual)}
    tmp = record.with_name(record.name + ".tmp")
    tmp.write_text(json.dumps({**_identity(label, expected, size), **found}))
    os.replace(tmp, record)


def _raise_known_mismatch(record: Path, dest: Path, label, expected, size) -> None:
    """Raise the ChecksumError an earlier attempt recorded for this very download, if any."""
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(known, dict) or any(
        known.get(key) != value for key, value in _identity(label, expected, size).items()
    ):
        return
    note = "as on the previous attempt, which downloaded the whole file; not fetched again"
    raise ChecksumError(dest, known.get("what"), known.get("expected"), known.get("actual"), note)


# --------------------------------------------------------------------------- local files


def _local_source(url: str | os.PathLike) -> Path | None:
    """The local path behind ``url`` (``file://`` or a bare path), or None for http(s)."""
    if isinstance(url, os.PathLike):
        return Path(url)
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return None
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise DownloadError(f"{url}: file:// URLs on another host are not supported")
        return Path(urllib.request.url2pathname(parts.path))
    if scheme == "" or len(scheme) == 1:  # a relative path, or a Windows drive letter
        return Path(url)
    raise DownloadError(f"{url}: unsupported URL scheme {parts.scheme!r} (use http, https, file)")


def _copy(source: Path, part: Path, *, chunk: int, log) -> None:
    """Copy a local file into ``part`` with the same progress logging as a transfer."""
    if not source.is_file():
        raise DownloadError(f"{source}: no such file to copy")
    total = source.stat().st_size
    progress = _Progress(part.name.removesuffix(".part"), total, 0, log)
    done = 0
    with open(source, "rb") as src, open(part, "wb") as out:
        while block := src.read(chunk):
            out.write(block)
            done += len(block)
            progress.update(done)
        out.flush()
        os.fsync(out.fileno())
    progress.finish(done)


# --------------------------------------------------------------------------- HTTP


def _fetch(url, part: Path, *, size, retries, backoff, timeout, chunk, log) -> None:
    """Bring ``part`` to the complete file, resuming and retrying as needed."""
    # A fresh opener per call reads the proxy environment now, not at first import.
    opener = urllib.request.build_opener()
    failures = restarts = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have > size:
            log.warning("%s: partial file is larger than %d bytes; starting over", part, size)
            part.unlink()
            have = 0
        if size is not None and have == size and have > 0:
            log.info("%s: partial file already has all %d bytes", part, size)
            return
        try:
            _attempt(opener, url, part, have, size=size, timeout=timeout, chunk=chunk, log=log)
            return
        except _Restart as exc:
            restarts += 1
            if restarts > 3:  # a server that keeps answering the wrong range
                raise DownloadError(f"{url}: {exc} (gave up after 3 restarts)") from None
            log.warning("%s: %s", url, exc)
            continue
        except urllib.error.HTTPError as exc:
            exc.close()
            if 400 <= exc.code < 500 and exc.code not in _RETRYABLE_4XX:
                raise HTTPStatusError(url, exc.code, exc.reason) from None
            reason = f"HTTP {exc.code} {exc.reason}"
        except (
            _Transient,
            urllib.error.URLError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
        ) as exc:
            reason = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
        if part.exists() and part.stat().st_size > have:
            failures = 0  # progress was made: the retry budget starts afresh
        failures += 1
        if failures > retries:
            raise DownloadError(
                f"{url}: giving up after {failures} failed attempts; last: {reason}"
            ) from None
        delay = min(backoff * 2 ** (failures - 1), MAX_BACKOFF)
        log.warning("%s: %s; retry %d/%d in %.2f s", url, reason, failures, retries, delay)
        time.sleep(delay)


_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)", re.IGNORECASE)


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total length) from a Content-Range header; None where absent or '*'."""
    m = _CONTENT_RANGE.match(header or "")
    if not m:
        return None, None
    first = int(m.group(1)) if m.group(1) else None
    total = int(m.group(3)) if m.group(3) != "*" else None
    return first, total


def _validator_path(part: Path) -> Path:
    """Beside ``<name>.part``: the ETag (or Last-Modified) of the response that started it."""
    return part.with_name(part.name + ".validator")


def _validator(headers) -> str | None:
    """What identifies this version of the file for ``If-Range``: a strong ETag, else the
    Last-Modified date (a weak ETag may not be used there)."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def _attempt(opener, url: str, part: Path, have: int, *, size, timeout, chunk, log) -> None:
    """One request: append to ``part`` from byte ``have`` (206) or rewrite it (200).

    A resume sends ``If-Range`` with the version the ``.part`` began with, so a file replaced
    on the server in between comes whole (200) instead of being spliced onto the old bytes.
    """
    request = urllib.request.Request(
        url, headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    )
    validator_file = _validator_path(part)
    if have:
        request.add_header("Range", f"bytes={have}-")
        if validator_file.exists():
            request.add_header("If-Range", validator_file.read_text().strip())
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not have:
            raise
        _, total = _content_range(exc.headers.get("Content-Range"))
        exc.close()
        if total == have:  # the .part is already the whole file
            log.info("%s: server says the partial file is complete (%d bytes)", part, have)
            return
        part.unlink(missing_ok=True)
        raise _Restart(f"server refused a resume from byte {have} (length {total})") from None

    name = part.name.removesuffix(".part")
    with response:
        _refuse_a_web_page(response, url, name)
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if response.status == 206:
            first, total = _content_range(response.headers.get("Content-Range"))
            if first != have:
                part.unlink(missing_ok=True)
                raise _Restart(f"server resumed at byte {first}, not {have}; restarting")
            mode = "ab"
        else:
            if have and request.has_header("If-range"):
                log.warning("%s: the file changed on the server; restarting from byte 0", url)
            elif have:
                log.info("%s: server ignored the Range request; restarting from byte 0", url)
            have, total, mode = 0, length, "wb"
        if size is not None and total is not None and total != size:
            part.unlink(missing_ok=True)
            raise ChecksumError(part.with_name(name), "size", f"{size} bytes", f"{total} bytes")
        if have:
            log.info("%s: resuming at %.1f MB", name, have / 1e6)
        elif validator := _validator(response.headers):
            validator_file.write_text(validator + "\n")
        else:
            validator_file.unlink(missing_ok=True)

        progress = _Progress(name, total if total is not None else size, have, log)
        received = 0
        with open(part, mode) as out:
            try:
                while block := response.read(chunk):
                    out.write(block)
                    received += len(block)
                    progress.update(have + received)
            finally:
                out.flush()
                os.fsync(out.fileno())
    if length is not None and received < length:
        raise _Transient(f"connection closed after {received} of {length} bytes")
    progress.finish(have + received)


def _refuse_a_web_page(response, url: str, name: str) -> None:
    """A server that answers with a web page (a login or error page, a moved file) says 200
    too; saved under an archive's name it would be kept as downloaded, and only extraction
    would fail, every time. So an HTML answer for a file not named .html is refused."""
    if response.headers.get_content_type() == "text/html" and not name.lower().endswith(
        (".html", ".htm")
    ):
        raise DownloadError(
            f"{url} answered with a web page (Content-Type {response.headers['Content-Type']}), "
            f"not the file {name}: an error or login page, or the file has moved; check the "
            "URL in a browser"
        )


# --------------------------------------------------------------------------- progress


class _Progress:
    """Throttled progress lines: one per PROGRESS_INTERVAL seconds or per 10 % step, so a
    Snakemake log stays readable for a 3.5 GB transfer."""

    def __init__(self, name: str, total: int | None, start: int, log, interval=PROGRESS_INTERVAL):
        self.name, self.total, self.start, self.log = name, total, start, log
        self.interval = interval
        self.t0 = self.last_time = time.monotonic()
        self.last_step = self._step(start)
        self.last_done = start

    def _step(self, done: int) -> int:
        return math.floor(10 * done / self.total) if self.total else 0

    def update(self, done: int) -> None:
        now = time.monotonic()
        step = self._step(done)
        if now - self.last_time >= self.interval or step > self.last_step:
            self._emit(done, now)
            self.last_time, self.last_step = now, step

    def finish(self, done: int) -> None:
        if done != self.last_done or done == self.start:
            self._emit(done, time.monotonic())

    def _emit(self, done: int, now: float) -> None:
        self.last_done = done
        rate = (done - self.start) / max(now - self.t0, 1e-6) / 1e6
        if self.total:
            self.log.info(
                "%s: %3d%% %.1f/%.1f MB at %.2f MB/s",
                self.name,
                100 * done // self.total,
                done / 1e6,
                self.total / 1e6,
                rate,
            )
        else:
            self.log.info("%s: %.1f MB at %.2f MB/s", self.name, done / 1e6, rate)
