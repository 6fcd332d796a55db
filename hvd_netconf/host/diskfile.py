"""A file disk's image: the truncate(1) and rm(1) argv that make, grow and delete it.

truncate(1): `truncate -s SIZE FILE` creates FILE when missing and sets its length; the
bytes added are a hole, so the file is sparse; SIZE takes the K, M, G and T suffixes (powers
of 1024) a disk's size uses. The file lives in the VM's disks dataset (names.disk_file).
"""

from __future__ import annotations

from hvd_netconf.host.zfs import Argv


def create(path: str, size: str) -> Argv:
    """Make the sparse image (or set an existing one's length)."""
    return ("truncate", "-s", size, path)


def remove(path: str) -> Argv:
    """rm(1) -f: gone, and no error when it is gone already (an undo run twice)."""
    return ("rm", "-f", path)
