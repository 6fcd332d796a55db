"""install-vm, list-isos, add-iso and write-disk-image (hvd-vm.yang): installing a guest from
an ISO, or from a disk image written onto its zvol.

install-vm sets the VM's install-iso through the one commit path and starts the VM, which
boots the ISO as a CD-ROM (host/bhyve.py, slot 3). The supervisor leaves the ISO out after the
guest's first reboot and reports it (`installed`); hvd then removes install-iso with a commit
of its own, in the history like any other, so a later start (even by another hvd) boots the
disk and what runs is what get-config shows. The ISO directory is hvd.conf's iso-dir.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from hvd_netconf.errors import (
    DataExists,
    DataMissing,
    InUse,
    InvalidValue,
    OperationFailed,
    RpcError,
)
from hvd_netconf.host import bhyve, media, specs
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.namespaces import BASE, VM, default_ns, qn
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext, ServerView
from hvd_netconf.ops.vm import reply, rpc_leaf, supervisor, vm_name

log = logging.getLogger("hvd.install")


def vm_edit(name: str) -> tuple[etree._Element, etree._Element]:
    """A <config> that merges into VM `name`, and its <vm> element to add leaves to."""
    config = etree.Element(qn(BASE, "config"), nsmap=default_ns(BASE))
    vm = etree.SubElement(etree.SubElement(config, qn(VM, "vms"), nsmap=default_ns(VM)),
                          qn(VM, "vm"))
    etree.SubElement(vm, qn(VM, "name")).text = name
    return config, vm


def _missing(path: str, element: str) -> InvalidValue:
    """The file is not there: in the words FreeBSD uses (docs/freebsd-facts.md §16.2)."""
    why = os.strerror(errno.EISDIR if os.path.isdir(path) else errno.ENOENT)
    return InvalidValue(f"{path}: {why}", info=[("bad-element", element)])


def iso_path(ctx: OpContext, text: str) -> str:
    """install-vm's iso: an absolute path, or a name in the ISO directory; it must exist."""
    if text.startswith("/"):
        path = text
    else:
        rpc = ctx.server.schema.rpc(VM, "add-iso") if ctx.server.schema is not None else None
        node = rpc.child(VM, "name") if rpc is not None else None
        if node is None:
            raise OperationFailed("the loaded hvd-vm module has no add-iso/name")
        path = str(ctx.server.settings.iso_path / node.check_value(text))
    if not os.path.isfile(path):
        raise _missing(path, "iso")
    return path


def install_vm(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    name = vm_name(ctx, op)
    iso = iso_path(ctx, rpc_leaf(ctx, op, "install-vm", "iso") or "")
    start = rpc_leaf(ctx, op, "install-vm", "start") == "true"
    sup = supervisor(ctx)
    if sup.is_running(name):
        raise InUse(f"VM {name} is running: stop it first (install-vm boots it from the ISO)",
                    error_type="application")
    committer = tx.committer(ctx.server)
    _schema, dss = tx.components(ctx.server)
    with committer.lock:
        if dss.running.get(("vm", name)) is None:
            raise DataMissing(f"no VM named {name!r} is configured")
        config, vm = vm_edit(name)
        etree.SubElement(vm, qn(VM, "install-iso")).text = iso
        commit = tx.edit_running(ctx.server, ctx.session, config, "install-vm",
                                 f"install VM {name} from {iso}")
        if commit is None:  # install-iso already named this ISO
            commit = dss.history.last_id
    if start:
        sup.start(name)
    return reply(VM, iso=iso, **{"commit-id": commit})


def installed(server: ServerView) -> Callable[[str, str], None]:
    """The supervisor's report that VM name's guest rebooted after booting iso: install-iso is
    removed by a commit of hvd's own, in a thread of its own (the supervisor calls this with
    its locks held, and a commit may ask the supervisor about the VM)."""

    def clear(name: str, iso: str) -> None:
        try:
            committer = tx.committer(server)
            _schema, dss = tx.components(server)
            with committer.lock:
                el = dss.running.get(("vm", name))
                if el is None or (el.findtext(qn(VM, "install-iso")) or "").strip() != iso:
                    return  # changed meanwhile: the newer configuration stands
                config, vm = vm_edit(name)
                leaf = etree.SubElement(vm, qn(VM, "install-iso"))
                leaf.set(qn(BASE, "operation"), "remove")
                tx.edit_running(server, None, config, "install-done",
                                f"VM {name} rebooted after its install from {iso}: "
                                "install-iso removed, it boots its disk")
        except RpcError as e:
            log.error("VM %s: removing install-iso %s after the install failed: %s",
                      name, iso, e.message)

    def report(name: str, iso: str) -> None:
        threading.Thread(target=clear, args=(name, iso), name=f"installed-{name}",
                         daemon=True).start()

    return report


def _isos(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def list_isos(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    out = []
    for path in _isos(ctx.server.settings.iso_path):
        entry = etree.Element(qn(VM, "iso"), nsmap=default_ns(VM))
        for key, value in (("name", path.name), ("path", str(path)),
                           ("size", str(path.stat().st_size))):
            etree.SubElement(entry, qn(VM, key)).text = value
        out.append(entry)
    return out


def add_iso(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    source = rpc_leaf(ctx, op, "add-iso", "source") or ""
    url = media.is_url(source)
    if not url and not source.startswith("/"):
        raise InvalidValue(f"add-iso takes an absolute path or an http, https or ftp URL, "
                           f"not {source!r}", info=[("bad-element", "source")])
    base = source.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    given = rpc_leaf(ctx, op, "add-iso", "name")
    if given is None:
        rpc = ctx.server.schema.rpc(VM, "add-iso") if ctx.server.schema is not None else None
        node = rpc.child(VM, "name") if rpc is not None else None
        if node is None:
            raise OperationFailed("the loaded hvd-vm module has no add-iso/name")
        try:
            given = node.check_value(base)
        except RpcError as e:
            raise InvalidValue(f"{source!r} does not end in a usable file name ({e.message}): "
                               "give a name", info=[("bad-element", "name")]) from e
    directory = ctx.server.settings.iso_path
    dest = directory / given
    if dest.exists():
        raise DataExists(f"{dest} already exists: delete it first or give another name",
                         info=[("bad-element", "name")])
    host = ctx.server.host
    if host is None:
        raise OperationFailed("this hvd has no host backend attached")
    if url and host.simulated:
        raise OperationFailed(f"the sim backend does not download {source}: it copies local "
                              "files only (fetch it yourself, then add-iso the file)")
    if not url and not os.path.isfile(source):
        raise _missing(source, "source")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{given}.part"
    try:
        if url:
            host.run(media.fetch(source, str(tmp)))
        else:
            shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    except CommandFailed as e:
        raise OperationFailed(f"cannot download {source}: {e.stderr.strip()}") from e
    except OSError as e:
        raise OperationFailed(f"cannot copy {source} to {dest}: {e.strerror}") from e
    finally:
        tmp.unlink(missing_ok=True)
    return reply(VM, path=str(dest), size=dest.stat().st_size)


def write_image(ctx: OpContext, name: str, disk: str, image: str) -> tuple[str, int]:
    """Write image onto disk `disk` of the stopped VM `name`; (format, bytes)."""
    if supervisor(ctx).is_running(name):
        raise InUse(f"VM {name} is running: stop it first (writing its disk under a running "
                    "guest would corrupt it)", error_type="application")
    _schema, dss = tx.components(ctx.server)
    el = dss.running.get(("vm", name))
    if el is None:
        raise DataMissing(f"no VM named {name!r} is configured")
    target = next((d for d in specs.read_vm(el).disks if d.name == disk), None)
    if target is None:
        raise DataMissing(f"VM {name} has no disk {disk!r}", info=[("bad-element", "disk")])
    if not target.zvol:
        what = (f"the iSCSI LUN {target.iscsi.lun} of {target.iscsi.target}"
                if target.iscsi is not None else
                f"the existing {'device' if target.device else 'image'} {target.existing}")
        raise OperationFailed(f"disk {disk} of VM {name} is {what}, which hvd did not "
                              "create; it writes images onto its own zvols only")
    check_image(image)
    with open(image, "rb") as f:
        fmt = media.image_format(f.read(len(media.QCOW2_MAGIC)))
    host = ctx.server.host
    if host is None:
        raise OperationFailed("this hvd has no host backend attached")
    device = bhyve.disk_path(ctx.server.settings.zfs_parent, name, target)
    argv = media.write_raw(image, device) if fmt == "raw" else media.convert_qcow2(image, device)
    try:
        host.run(argv)
    except CommandFailed as e:
        missing = (" (qemu-img is not installed: it comes with the qemu package)"
                   if e.returncode == 127 and argv[0] == media.QEMU_IMG else "")
        raise OperationFailed(f"cannot write {image} onto disk {disk} of VM {name}: "
                              f"{e.stderr.strip()}{missing}") from e
    return fmt, os.path.getsize(image)


def check_image(image: str) -> None:
    if not os.path.isfile(image):
        raise _missing(image, "image")


def write_disk_image(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    fmt, size = write_image(ctx, vm_name(ctx, op),
                            rpc_leaf(ctx, op, "write-disk-image", "disk") or "",
                            rpc_leaf(ctx, op, "write-disk-image", "image") or "")
    return reply(VM, format=fmt, bytes=size)
