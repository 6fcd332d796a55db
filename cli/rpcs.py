"""The NETCONF requests hv sends, as text built from a tiny element tree.

Strings, not lxml: the one-shot path stays cheap to import, and the same tree prints
compact for the wire and indented for --show-rpc and the golden tests.
"""

from __future__ import annotations

from hvd_netconf.namespaces import BASE, HVD, NC_NOTIFICATIONS, NETWORK, NOTIF, TEMPLATE, VM

OP = f"{{{BASE}}}operation"  # the nc:operation attribute


class El:
    """One element of a request (a plain class: the one-shot path does not load
    dataclasses, whose import costs more than the rest of a small command)."""

    __slots__ = ("attrs", "children", "tag", "text")

    def __init__(self, tag: str, children: list[El] | None = None, text: str | None = None,
                 attrs: dict[str, str] | None = None) -> None:
        self.tag = tag
        self.children = children if children is not None else []
        self.text = text
        self.attrs = attrs if attrs is not None else {}


def el(tag: str, *children: El, text: str | None = None, **attrs: str) -> El:
    return El(tag, list(children), text, {k.replace("_", "-"): v for k, v in attrs.items()})


def _esc(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def to_xml(node: El, indent: str | None = None, depth: int = 0) -> str:
    attrs = "".join(
        f' {"nc:operation" if k == OP else k}="{_esc(v, True)}"' for k, v in node.attrs.items()
    )
    pad = "" if indent is None else "\n" + indent * depth
    if node.text is not None:
        return f"{pad}<{node.tag}{attrs}>{_esc(node.text)}</{node.tag}>"
    if not node.children:
        return f"{pad}<{node.tag}{attrs}/>"
    inner = "".join(to_xml(c, indent, depth + 1) for c in node.children)
    return f"{pad}<{node.tag}{attrs}>{inner}{pad}</{node.tag}>"


def rpc(body: El, message_id: int) -> El:
    return el("rpc", body, xmlns=BASE, message_id=str(message_id))


# ---- configuration data ----------------------------------------------------------------------

TOP = {"vm": ("vms", VM), "network": ("networks", NETWORK)}


def leaf(path: str, value: str | None, op: str | None = None, outer: bool = True) -> El:
    """`loader.type` -> <loader><type>v</type></loader>.

    The operation goes on the outer node (merge: the containers may not exist yet) or, with
    outer=False, on the leaf itself (remove must not take the leaf's siblings with it).
    """
    names = path.split(".")
    node = inner = el(names[-1], text=value)
    for name in reversed(names[:-1]):
        node = el(name, node)
    if op:
        (node if outer else inner).attrs[OP] = op
    return node


def entry(obj: str, name: str, *children: El, op: str | None = None) -> El:
    node = el(obj, el("name", text=name), *children)
    if op:
        node.attrs[OP] = op
    return node


def config_tree(top: str, *entries: El) -> El:
    """<vms xmlns="urn:hvd:vm" xmlns:nc=...> holding the entries."""
    container, ns = TOP[top]
    return el(container, *entries, xmlns=ns, **{"xmlns:nc": BASE})


def edit_config(target: str, config: El | list[El], default_operation: str = "merge") -> El:
    """config: one top container, or several (a loaded file)."""
    tops = config if isinstance(config, list) else [config]
    return el(
        "edit-config",
        el("target", el(target)),
        el("default-operation", text=default_operation),
        el("error-option", text="rollback-on-error"),
        el("config", *tops),
    )


# ---- reads -----------------------------------------------------------------------------------

def get(filter_tree: El) -> El:
    return get_all([filter_tree])


def get_all(filter_trees: list[El]) -> El:
    """<get> with a subtree filter of several top-level nodes."""
    return el("get", el("filter", *filter_trees, type="subtree"))


def get_config(source: str, filter_tree: El | None = None) -> El:
    """The whole datastore without a filter."""
    node = el("get-config", el("source", el(source)))
    if filter_tree is not None:
        node.children.append(el("filter", filter_tree, type="subtree"))
    return node


def select(top: str, name: str | None = None) -> El:
    container, ns = TOP[top]
    inner = [el(top, el("name", text=name))] if name is not None else []
    return el(container, *inner, xmlns=ns)


def pending_restart(vm: str | None = None) -> El:
    """The filter for the pending-restart state leaf of one VM, or of every VM."""
    return el("vms", el("vm", el("name", text=vm), el("state", el("pending-restart"))), xmlns=VM)


def host() -> El:
    return el("host", xmlns=HVD)


# ---- operations ------------------------------------------------------------------------------

def vm_rpc(name: str, vm: str, **params: str) -> El:
    return el(name, el("name", text=vm), *(el(k, text=v) for k, v in params.items()), xmlns=VM)


def snapshot_rpc(rpc: str, vm: str, **params: str) -> El:
    """snapshot-vm, delete-snapshot or rollback-vm (hvd-vm): the VM is the `vm` leaf."""
    return el(rpc, el("vm", text=vm), *(el(k, text=v) for k, v in params.items()), xmlns=VM)


def snapshot_schedules(vm: str) -> list[El]:
    """The filters for a VM's own snapshot-schedule and the host-wide one (configuration)."""
    return [el("vms", el("vm", el("name", text=vm), el("snapshot-schedule")), xmlns=VM),
            el("snapshot-schedule", xmlns=VM)]


def host_snapshot_schedule(period: str, count: str | None) -> El:
    """The host-wide snapshot-schedule with one count merged, or removed (count None)."""
    if count is None:
        return el("snapshot-schedule", leaf(period, None, "remove"), xmlns=VM,
                  **{"xmlns:nc": BASE})
    node = el("snapshot-schedule", el(period, text=count), xmlns=VM, **{"xmlns:nc": BASE})
    node.attrs[OP] = "merge"
    return node


def guest_rpc(rpc: str, ns: str = VM, **params: str) -> El:
    """install-vm, list-isos, add-iso (hvd-vm) or create-vm, list-templates (hvd-template),
    with these input leaves in order."""
    return el(rpc, *(el(k, text=v) for k, v in params.items()), xmlns=ns)


def create_vm(name: str, template: str, network: str | None, keys: list[str],
              image: str | None) -> El:
    """create-vm (hvd-template): a VM from a template, with cloud-init keys and an image."""
    node = el("create-vm", el("name", text=name), el("template", text=template),
              xmlns=TEMPLATE)
    if network:
        node.children.append(el("network", text=network))
    node.children += [el("ssh-authorized-key", text=k) for k in keys]
    if image:
        node.children.append(el("image", text=image))
    return node


def list_templates() -> El:
    return guest_rpc("list-templates", TEMPLATE)
def vm_rpc_leaves(rpc: str, **params: str) -> El:
    """An hvd-vm RPC whose input is these leaves, in this order (backup-vm, restore-vm...)."""
    return el(rpc, *(el(k, text=v) for k, v in params.items()), xmlns=VM)


def snapshots(vm: str) -> El:
    """The filter for one VM's snapshots (operational state)."""
    return el("snapshots", el("snapshot", el("vm", text=vm)), xmlns=VM)


def commit(confirmed: bool = False, timeout: int | None = None, persist: str | None = None,
           persist_id: str | None = None, comment: str | None = None,
           force: bool = False) -> El:
    node = el("commit")
    if confirmed:
        node.children.append(el("confirmed"))
        if timeout is not None:
            node.children.append(el("confirm-timeout", text=str(timeout)))
        if persist:
            node.children.append(el("persist", text=persist))
    if persist_id:
        node.children.append(el("persist-id", text=persist_id))
    if comment:
        node.children.append(el("comment", text=comment, xmlns=HVD))
    if force:
        node.children.append(el("force", xmlns=HVD))
    return node


def copy_config(target: str, tops: list[El]) -> El:
    """Replace the target's whole content with this configuration (RFC 6241 §7.3)."""
    return el("copy-config", el("target", el(target)), el("source", el("config", *tops)))
def subscribe_confirmed_commits() -> El:
    """create-subscription (RFC 5277) to netconf-confirmed-commit (RFC 6470) only."""
    wanted = el("netconf-confirmed-commit", xmlns=NC_NOTIFICATIONS)
    return el("create-subscription", el("filter", wanted, type="subtree"),
              xmlns=NOTIF)


def private_candidate() -> El:
    return el("private-candidate", xmlns=HVD)


def candidate_editors() -> El:
    """<get> of /hvd-system:candidate: the shared candidate's changes and who made them."""
    return get(el("candidate", xmlns=HVD))


def validate_candidate() -> El:
    return el("validate", el("source", el("candidate")))


def preview_commit() -> El:
    return el("preview-commit", xmlns=HVD)


def lock(datastore: str) -> El:
    return el("lock", el("target", el(datastore)))


def unlock(datastore: str) -> El:
    return el("unlock", el("target", el(datastore)))


def discard() -> El:
    return el("discard-changes")


def commit_history(offset: int = 0, limit: int = 20) -> El:
    return el("get-commit-history", el("offset", text=str(offset)),
              el("limit", text=str(limit)), xmlns=HVD)


def compare(source: str = "running", target: str = "candidate") -> El:
    return el("compare", el("source", text=source), el("target", text=target), xmlns=HVD)


def rollback(commit_id: str, apply: bool, comment: str | None = None) -> El:
    node = el("rollback", el("id", text=commit_id), el("commit", text=str(apply).lower()),
              xmlns=HVD)
    if comment:
        node.children.append(el("comment", text=comment))
    return node


def vm_statistics(vm: str | None = None) -> El:
    """The filter for every VM's (or one VM's) status and statistics."""
    name = el("name", text=vm) if vm is not None else el("name")
    return el("vms", el("vm", name, el("state", el("status")), el("statistics")), xmlns=VM)


def host_statistics() -> El:
    return el("host", el("statistics"), xmlns=HVD)


def statistics_history(vm: str, period: str | None = None) -> El:
    extra = [el("period", text=period)] if period else []
    return el("get-vm-statistics-history", el("name", text=vm), *extra, xmlns=VM)


def get_log(vm: str | None, lines: str | None) -> El:
    """get-vm-log of a VM (hvd-vm), or hvd's own get-log (hvd-system)."""
    count = [el("lines", text=lines)] if lines else []
    if vm is None:
        return el("get-log", *count, xmlns=HVD)
    return el("get-vm-log", el("name", text=vm), *count, xmlns=VM)
