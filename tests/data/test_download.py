"""Downloads: checksum verification and the error when offline (no real network is used)."""
import hashlib
import urllib.error
import urllib.request

import pytest

from ganglion.data import MNIST
from ganglion.data.datasets.download import (ChecksumError, DownloadError, check_digest,
                                             download_file)


def test_check_digest_accepts_md5_and_sha256(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"ganglion")
    check_digest(path, hashlib.md5(b"ganglion").hexdigest())
    check_digest(path, hashlib.sha256(b"ganglion").hexdigest().upper())
    with pytest.raises(ChecksumError, match=r"file\.bin: sha256 checksum .* does not match"):
        check_digest(path, "0" * 64)
    with pytest.raises(ValueError, match="unrecognised checksum"):
        check_digest(path, "abc")


def test_download_verifies_before_moving_into_place(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    url = "file://" + str(source)
    good = download_file([url], tmp_path / "out" / "a.bin", hashlib.sha256(b"payload").hexdigest())
    assert good.read_bytes() == b"payload"
    target = tmp_path / "out" / "b.bin"
    with pytest.raises(ChecksumError, match="source.bin: md5 checksum"):
        download_file([url], target, "0" * 32)
    assert not target.exists() and not list(tmp_path.glob("out/b.bin*"))


def test_offline_error_is_clear(tmp_path, monkeypatch):
    def no_network(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DownloadError, match=r"could not download train-images-idx3-ubyte\.gz "
                                            r"\(offline\?\).*name resolution.*by hand"):
        MNIST(root=tmp_path, download=True)
    assert not list(tmp_path.rglob("*.part"))
