"""Fetching official dataset files: download with a progress bar, verify the checksum, then
move into place, so a half-written or corrupted download never looks like a dataset file."""
import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["file_digest", "check_digest", "download_file", "DownloadError", "ChecksumError"]


class DownloadError(RuntimeError):
    """A file could not be fetched (no network, server error)."""


class ChecksumError(ValueError):
    """A file's content does not match the published checksum."""


def file_digest(path, algorithm="sha256"):
    """The hex digest of a file's bytes, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _algorithm(expected):
    # Published checksums come as MD5 (32 hex digits) or SHA-256 (64).
    algorithms = {32: "md5", 64: "sha256"}
    if len(expected) not in algorithms:
        raise ValueError(f"unrecognised checksum {expected!r}: expected MD5 or SHA-256 hex digits")
    return algorithms[len(expected)]


def check_digest(path, expected, source=None):
    """Raise ChecksumError naming ``source`` (default ``path``) unless the file's MD5 or SHA-256
    equals ``expected``."""
    algorithm = _algorithm(expected)
    actual = file_digest(path, algorithm)
    if actual != expected.lower():
        raise ChecksumError(f"{source or path}: {algorithm} checksum {actual} does not match the "
                            f"published {expected}; the file is corrupt or not the official one")


def _progress(total, name):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False)


def download_file(urls, destination, expected, chunk_size=1 << 16):
    """Fetch the first of ``urls`` that answers into ``destination`` and verify its checksum.

    The bytes go to a temporary file beside ``destination``, which is renamed only after the
    checksum matches. Raises DownloadError (with the URLs tried and where to put the file by
    hand) when no URL can be reached, ChecksumError when the content is wrong.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    failures = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                bar = _progress(total, destination.name)
                for chunk in iter(lambda: response.read(chunk_size), b""):
                    out.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                if bar is not None:
                    bar.close()
        except (urllib.error.URLError, OSError) as error:
            failures.append(f"{url}: {getattr(error, 'reason', error)}")
            partial.unlink(missing_ok=True)
            continue
        try:
            check_digest(partial, expected, source=url)
        except ChecksumError:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, destination)
        return destination
    raise DownloadError(f"could not download {destination.name} (offline?). Tried: "
                        + "; ".join(failures)
                        + f". Put the official file at {destination} by hand, or point root= or "
                          "$GANGLION_DATA at a folder that has it.")
