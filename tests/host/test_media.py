"""Golden argv of the guest-media builders (host/media.py), from their manual pages."""

from __future__ import annotations

from hvd_netconf.host import media


def test_fetch_argv_is_fetch_1() -> None:
    # fetch(1): -o file writes the download to file
    assert media.fetch("https://download.freebsd.org/x/disc1.iso", "/hv/iso/.disc1.iso.part") \
        == ("fetch", "-o", "/hv/iso/.disc1.iso.part", "https://download.freebsd.org/x/disc1.iso")


def test_only_http_https_ftp_are_urls() -> None:
    assert media.is_url("HTTPS://a/b.iso") and media.is_url("ftp://a/b.iso")
    assert not media.is_url("/tmp/b.iso") and not media.is_url("file:///tmp/b.iso")
