"""A new VM made from another's data (clone-vm, restore-vm): its configuration goes into
running by one ordinary commit, then its empty disks are replaced by the copies.

The commit is the one path every write of running takes (committer.write): validated,
NACM-checked, in the history and undone by `rollback`. Its plan creates the new VM's
datasets and empty zvols, tagged as hvd's; `fill` then swaps each empty zvol for the copy.
When the copying fails, `withdraw` removes the VM again by a second commit, whose plan
destroys what the first one made.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from lxml import etree

from hvd_netconf.edit.diff import entries
from hvd_netconf.errors import DataExists, OperationFailed, RpcErrors
from hvd_netconf.host import constraints, names, specs, zfs
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.keys import Key
from hvd_netconf.namespaces import VM, qn
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.transactions import committer, components
from hvd_netconf.schema.validate import validate


def configured(ctx: OpContext, vm: str) -> etree._Element | None:
    _schema, dss = components(ctx.server)
    return dss.running.get(("vm", vm))


def host_of(ctx: OpContext) -> Host:
    if ctx.server.host is None:
        raise OperationFailed("this hvd has no host backend attached")
    return ctx.server.host


def zvols_only(entry: etree._Element, what: str) -> None:
    """Clones and backups copy a VM's zvols: a file disk, hvd's own data, would be left
    behind without a word, so a VM with one is refused."""
    spec = specs.read_vm(entry)
    files = [d.name for d in spec.disks if d.file]
    if files:
        raise OperationFailed(
            f"VM {spec.name} has file disk{'s' if len(files) > 1 else ''} {', '.join(files)}: "
            f"{what} copies zvols only, and would leave {'them' if len(files) > 1 else 'it'} "
            "behind; snapshots and rollbacks do include file disks")


def renamed(entry: etree._Element, name: str) -> etree._Element:
    """The entry as a new VM's: the new name, no configured SMBIOS UUID or MAC addresses, so
    hvd derives the new VM's own from its name (names.vm_uuid, names.mac_address)."""
    new = copy.deepcopy(entry)
    name_el = new.find(qn(VM, "name"))
    assert name_el is not None  # a list entry has its key
    name_el.text = name
    for el in [*new.findall(qn(VM, "uuid")), *new.findall(f"{qn(VM, 'nic')}/{qn(VM, 'mac')}")]:
        parent = el.getparent()
        assert parent is not None
        parent.remove(el)
    return new


def _write(ctx: OpContext, key: Key, entry: etree._Element | None, source: str,
           comment: str) -> int:
    with committer(ctx.server).lock:  # a clone or restore runs outside it while it streams
        return _write_locked(ctx, key, entry, source, comment)


def _write_locked(ctx: OpContext, key: Key, entry: etree._Element | None, source: str,
                  comment: str) -> int:
    schema, dss = components(ctx.server)
    ctx.server.locks.check_writable("running", ctx.session.id)
    new_root = copy.deepcopy(dss.running.root)
    vms = new_root.find(qn(VM, "vms"))
    if vms is None:
        vms = etree.SubElement(new_root, qn(VM, "vms"))
    for old in vms.findall(qn(VM, "vm")):
        if old.findtext(qn(VM, "name")) == key[1]:
            vms.remove(old)
    if entry is not None:
        vms.append(copy.deepcopy(entry))
        errors = validate(schema, new_root, None, "full") or constraints.check(
            ctx.server.host, new_root, None, entries(new_root).get, dss.running.get)
        if errors:
            raise RpcErrors(errors)
    return committer(ctx.server).write(ctx.session, {key: entry}, new_root, source, comment)


def add(ctx: OpContext, entry: etree._Element, source: str, comment: str) -> int:
    """Commit a new VM entry (refused when its name is taken); returns the commit id."""
    name = entry.findtext(qn(VM, "name")) or ""
    if configured(ctx, name) is not None:
        raise DataExists(f"a VM named {name!r} is configured already")
    return _write(ctx, ("vm", name), entry, source, comment)


def replace(ctx: OpContext, entry: etree._Element, source: str, comment: str) -> int:
    """Commit an entry in place of the configured VM of its name; returns the commit id."""
    return _write(ctx, ("vm", entry.findtext(qn(VM, "name")) or ""), entry, source, comment)


def withdraw(ctx: OpContext, name: str, source: str, why: str) -> None:
    """Remove a VM `add` made, after its copying failed (a commit of its own)."""
    _write(ctx, ("vm", name), None, source, f"undo: {why}")


def fill(host: Host, parent: str, vm: str, disk: str, copy_into: Callable[[str], None]
         ) -> str:
    """Replace the empty zvol the commit made for `disk` by a copy: destroy it (hvd made it
    moments ago and nothing wrote to it), then `copy_into(dataset)` makes the new one."""
    ds = names.disk_dataset(parent, vm, disk)
    host.run(zfs.destroy(ds))
    copy_into(ds)
    return ds


def failed(e: BaseException) -> str:
    return e.stderr.strip() if isinstance(e, CommandFailed) else str(e)
