"""Argv builders for guest media: downloading an installation image (docs/freebsd-facts.md
§14.1). Pure functions, like host/bhyve.py and host/zfs.py."""

from __future__ import annotations

FETCH = "fetch"
URL_SCHEMES = ("http://", "https://", "ftp://")  # what fetch(1) fetches that hvd accepts


def is_url(source: str) -> bool:
    return source.lower().startswith(URL_SCHEMES)


def fetch(url: str, dest: str) -> tuple[str, ...]:
    """`fetch -o <dest> <url>` (fetch(1)): one file, written to dest."""
    return (FETCH, "-o", dest, url)
