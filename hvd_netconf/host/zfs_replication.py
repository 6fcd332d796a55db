"""zfs(8) argv builders for copies of datasets: send, receive, clone, bookmark, hold
(docs/freebsd-facts.md §2.6). Pure functions, forms from zfs-send(8), zfs-receive(8),
zfs-clone(8), zfs-promote(8), zfs-bookmark(8) and zfs-hold(8); host/stream.py runs a send
into a receive or a file, never through a shell.

Everything hvd makes by a clone or a receive is tagged as hvd's (`-o hvd:owner=hvd -o
hvd:role=<role>`, as zfs.create_filesystem does), so the checks before a `zfs destroy -r`
pass it and name anything else.
"""

from __future__ import annotations

import re

from hvd_netconf.host.zfs import OWNER, OWNER_PROP, ROLE_PROP, ZFS, Argv

RESUME_TOKEN_PROP = "receive_resume_token"


def _tags(role: str) -> Argv:
    return ("-o", f"{OWNER_PROP}={OWNER}", "-o", f"{ROLE_PROP}={role}")


def send(snapshot: str, *, base: str | None = None, intermediates: bool = False,
         raw: bool = False, compressed: bool = False, estimate: bool = False) -> Argv:
    """`zfs send [-n -P] [-L -e] [-c | -w] [-i base | -I base] ds@snap` (zfs-send(8)).

    base is a snapshot (`ds@a` or `@a`) or, for -i only, a bookmark (`ds#b`): -I sends every
    snapshot between base and snapshot and takes no bookmark. -w (raw) sends encrypted
    blocks as they are on disk and implies what -c gives, so the two are not combined;
    -L and -e keep large and embedded blocks as they are (the receiver needs the features,
    which any OpenZFS since 0.7 has). estimate (-n -P) prints `size\\t<bytes>` and sends
    nothing.
    """
    if intermediates and base is None:
        raise ValueError("-I needs a base snapshot")
    if intermediates and base is not None and "#" in base:
        raise ValueError("zfs send -I takes a snapshot, not a bookmark")
    argv: Argv = (ZFS, "send")
    if estimate:
        argv += ("-n", "-P")
    argv += ("-L", "-e")
    if raw:
        argv += ("-w",)
    elif compressed:
        argv += ("-c",)
    if base is not None:
        argv += ("-I" if intermediates else "-i", base)
    return (*argv, snapshot)


def send_resume(token: str, *, estimate: bool = False) -> Argv:
    """`zfs send [-n -P] -t <receive_resume_token>` (zfs-send(8)): the rest of an interrupted
    stream, from where the receiver's token says it stopped."""
    return (ZFS, "send", *(("-n", "-P") if estimate else ()), "-t", token)


def parse_estimate(stdout: str) -> int | None:
    """The bytes of a `send -n -P`: its `size\\t<n>` line (None when it has none)."""
    for line in stdout.splitlines():
        key, _, value = line.partition("\t")
        if key == "size" and value.strip().isdigit():
            return int(value)
    return None


def receive(target: str, *, role: str | None = None, force: bool = False,
            resumable: bool = True, dry_run: bool = False) -> Argv:
    """`zfs receive [-n] [-s] -u [-F] [-o hvd:owner=hvd -o hvd:role=R] <target>`
    (zfs-receive(8)): -u leaves what it makes unmounted, -s keeps a partly received stream
    with a receive_resume_token, -n checks the stream and writes nothing. -F rolls the target
    back to its newest snapshot and destroys snapshots the stream does not have: hvd passes
    it only for a target dataset it made and names."""
    argv: Argv = (ZFS, "receive")
    if dry_run:
        argv += ("-n",)
    if resumable:
        argv += ("-s",)
    argv += ("-u",)
    if force:
        argv += ("-F",)
    if role is not None:
        argv += _tags(role)
    return (*argv, target)


def rename(dataset: str, new: str) -> Argv:
    """`zfs rename <dataset> <new>` (zfs-rename(8)): its snapshots go with it; the new name
    must be free and its parent must exist."""
    return (ZFS, "rename", dataset, new)


def receive_abort(target: str) -> Argv:
    """`zfs receive -A <target>`: drop the partly received state a -s receive left."""
    return (ZFS, "receive", "-A", target)


def resume_token(target: str) -> Argv:
    """`zfs get -H -p -o value receive_resume_token <target>` (`-` when none)."""
    return (ZFS, "get", "-H", "-p", "-o", "value", RESUME_TOKEN_PROP, target)


def clone(snapshot: str, target: str, *, role: str) -> Argv:
    """`zfs clone -o hvd:owner=hvd -o hvd:role=R ds@snap <target>` (zfs-clone(8)): the clone
    shares the snapshot's blocks, so the snapshot cannot be destroyed while it exists."""
    return (ZFS, "clone", *_tags(role), snapshot, target)


def promote(dataset: str) -> Argv:
    """`zfs promote <clone>` (zfs-promote(8)): the clone becomes the origin's parent, so the
    former origin may be destroyed."""
    return (ZFS, "promote", dataset)


def bookmark(snapshot: str, name: str) -> Argv:
    """`zfs bookmark ds@snap ds#name` (zfs-bookmark(8)): the snapshot's place in time without
    its data, enough to be the base of an incremental send after the snapshot is gone."""
    dataset = snapshot.partition("@")[0]
    return (ZFS, "bookmark", snapshot, f"{dataset}#{name}")


def hold(tag: str, snapshot: str) -> Argv:
    """`zfs hold -r <tag> ds@snap` (zfs-hold(8)): `zfs destroy` refuses a held snapshot, so a
    retention policy cannot break a replication chain."""
    return (ZFS, "hold", "-r", tag, snapshot)


def release(tag: str, snapshot: str) -> Argv:
    """`zfs release -r <tag> ds@snap` (zfs-release(8))."""
    return (ZFS, "release", "-r", tag, snapshot)


def list_bookmarks(dataset: str) -> Argv:
    """`zfs list -H -p -t bookmark -o name -r <ds>` (zfs-list(8)): `<ds>#<name>` a line."""
    return (ZFS, "list", "-H", "-p", "-t", "bookmark", "-o", "name", "-r", dataset)


_REMOTE_WORD = re.compile(r"[A-Za-z0-9_.:@#/=+,-]+")


def over_ssh(argv: Argv, *, host: str, user: str, port: int, identity: str | None) -> Argv:
    """`ssh -o BatchMode=yes [-i key] -p port user@host <argv>` (ssh(1)): the command runs on
    the other host. ssh joins the words with blanks for the remote shell, so only words
    without blanks or shell characters may go (names from the YANG patterns, hvd's tags); a
    word that is not one is refused here rather than quoted."""
    for word in argv:
        if not _REMOTE_WORD.fullmatch(word):
            raise ValueError(f"{word!r} cannot be passed safely to a remote shell")
    return ("ssh", "-o", "BatchMode=yes", *(("-i", identity) if identity else ()),
            "-p", str(port), f"{user}@{host}", *argv)
