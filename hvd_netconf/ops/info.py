"""vm-info (hvd-vm.yang): the host side of one VM, for `hv info`: each disk's zvol with its
size and the bytes it takes (one `zfs list`), each NIC's MAC, bridge and tap."""

from __future__ import annotations

from lxml import etree

from hvd_netconf.errors import DataMissing, OperationFailed
from hvd_netconf.host import bhyve, names, specs, zfs
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.namespaces import VM, default_ns, qn
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.vm import check_readable, supervisor, vm_name


def _entry(tag: str, **leaves: object) -> etree._Element:
    el = etree.Element(qn(VM, tag), nsmap=default_ns(VM))
    for key, value in leaves.items():
        if value is not None:
            etree.SubElement(el, qn(VM, key)).text = str(value)
    return el


def vm_info(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    name = vm_name(ctx, op)
    check_readable(ctx, name)
    _schema, dss = tx.components(ctx.server)
    el = dss.running.get(("vm", name))
    if el is None:
        raise DataMissing(f"no VM named {name!r} is configured")
    spec = specs.read_vm(el)
    host = ctx.server.host
    if host is None:
        raise OperationFailed("this hvd has no host backend attached")
    parent = ctx.server.settings.zfs_parent
    try:
        usage = zfs.parse_usage(host.run(zfs.list_usage(names.disks_dataset(parent, name))))
    except CommandFailed as e:
        raise OperationFailed(f"cannot read the disks of VM {name}: {e.stderr.strip()}") from e
    out = []
    for d in spec.disks:
        volsize, used, _referenced = usage.get(names.disk_dataset(parent, name, d.name),
                                               (None, None, None))
        device = (names.disk_file(str(ctx.server.settings.root), name, d.name) if d.file
                  else bhyve.disk_path(parent, name, d))
        out.append(_entry("disk", name=d.name, device=device, volsize=volsize, used=used))
    taps = supervisor(ctx).status(name)["tap"]
    for i, nic in enumerate(spec.nics):
        out.append(_entry("nic", name=nic.name, mac=nic.mac, network=nic.network,
                          bridge=names.bridge_name(nic.network),
                          tap=taps[i] if i < len(taps) else None))
    return out
