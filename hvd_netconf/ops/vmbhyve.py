"""import-vm-bhyve (hvd-vm.yang): a vm-bhyve directory translated (templates/vmbhyve.py) and,
when asked, added by one commit through the server's usual path."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from hvd_netconf.errors import DataMissing
from hvd_netconf.namespaces import BASE, NETWORK, VM, default_ns, qn
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.vm import reply, rpc_leaf
from hvd_netconf.templates import vmbhyve

RPC = "import-vm-bhyve"


def _fresh(els: list[etree._Element], kind: str, ns: str, t: vmbhyve.Translation,
           have: set[tuple[str, str]]) -> list[etree._Element]:
    """The entries hvd does not have yet; one it has is reported and left as it is."""
    out = []
    for el in els:
        name = el.findtext(qn(ns, "name")) or ""
        if (kind, name) in have:
            t.untranslated.append(vmbhyve.Untranslated(
                f"{'vm' if kind == 'vm' else 'switch'} {name}", "name", name,
                f"hvd has a {kind} {name} already: left as it is, not imported"))
        else:
            out.append(el)
    return out


def import_vm_bhyve(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    directory = Path(rpc_leaf(ctx, op, RPC, "directory") or "")
    if not directory.is_dir():
        raise DataMissing(f"{directory} is not a directory (vm-bhyve's vm_dir)",
                          info=[("bad-element", "directory")])
    dataset = rpc_leaf(ctx, op, RPC, "dataset")
    commit = rpc_leaf(ctx, op, RPC, "commit") == "true"
    t = vmbhyve.translate(directory, dataset)
    committer = tx.committer(ctx.server)
    _schema, dss = tx.components(ctx.server)
    with committer.lock:
        have = set(dss.running.keys())
        nets = _fresh(t.networks, "network", NETWORK, t, have)
        vms = _fresh(t.vms, "vm", VM, t, have)
        config = etree.Element(qn(BASE, "config"), nsmap=default_ns(BASE))
        if nets:
            etree.SubElement(config, qn(NETWORK, "networks"), nsmap=default_ns(NETWORK)).extend(
                nets)
        if vms:
            etree.SubElement(config, qn(VM, "vms"), nsmap=default_ns(VM)).extend(vms)
        text = etree.tostring(config, pretty_print=True, encoding="unicode")
        commit_id = tx.edit_running(
            ctx.server, ctx.session, config, RPC,
            f"{len(vms)} VMs and {len(nets)} networks from vm-bhyve's {directory}",
        ) if commit and (vms or nets) else None
    out = []
    for kind, els, ns in (("vm", vms, VM), ("network", nets, NETWORK)):
        for el in els:
            item = etree.Element(qn(VM, kind), nsmap=default_ns(VM))
            item.text = el.findtext(qn(ns, "name"))
            out.append(item)
    out += reply(VM, config=text)
    for u in t.untranslated:
        item = etree.Element(qn(VM, "untranslated"), nsmap=default_ns(VM))
        item.extend(reply(VM, entry=u.entry, key=u.key, value=u.value, reason=u.reason))
        out.append(item)
    return out + reply(VM, **{"commit-id": commit_id})
