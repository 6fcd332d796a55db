"""netd edit-config builders: pure functions returning the exact `<config>` XML of each change
hvd makes through netd, in netd's own data model (docs/freebsd-facts.md §13.1).

netd models interfaces with ietf-interfaces (RFC 8343) and iana-if-type, addresses with
ietf-ip (RFC 8344), a FIB as the network instance `vrf<N>` an interface is bound to
(ietf-network-instance, RFC 8529 `bind-ni-name`), and what is FreeBSD's own (bridge members,
interface groups, VLAN tag and parent, the tap type) in its `netd` module. Each builder is
the counterpart of an ifconfig(8) argv builder in host/ifconfig.py, and each change has its
undo builder. `nc:operation` create/delete makes netd refuse a change that finds the host
other than hvd expects (RFC 6241 §7.2: data-exists, data-missing), as ifconfig would.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from hvd_netconf.host.names import HVD_GROUP, PORT_GROUP, check_ifname, tap_descr, vlan_name
from hvd_netconf.namespaces import BASE

IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IANAIFT = "urn:ietf:params:xml:ns:yang:iana-if-type"
IP = "urn:ietf:params:xml:ns:yang:ietf-ip"
NI = "urn:ietf:params:xml:ns:yang:ietf-network-instance"
NETD = "urn:ietf:params:xml:ns:yang:netd"

_OPEN = f'<interfaces xmlns="{IF}" xmlns:nc="{BASE}">'
_CLOSE = "</interfaces>"


def _ifname(name: str) -> str:
    return escape(check_ifname(name))


def _interface(name: str, body: str, op: str | None = None) -> str:
    attr = f' nc:operation="{op}"' if op else ""
    return f"{_OPEN}<interface{attr}><name>{_ifname(name)}</name>{body}</interface>{_CLOSE}"


def _type(identity: str, module: str = "ianaift") -> str:
    """An interface type: an iana-if-type identity (bridge, l2vlan) or netd's (tap)."""
    ns = IANAIFT if module == "ianaift" else NETD
    return f'<type xmlns:{module}="{ns}">{module}:{identity}</type>'


def _group(group: str) -> str:
    return f'<groups xmlns="{NETD}"><group>{group}</group></groups>'


def _descr(descr: str) -> str:
    return f"<description>{escape(descr)}</description>"


def vrf(fib: int) -> str:
    """The network instance netd reports for a FIB (docs/freebsd-facts.md §13.1)."""
    return f"vrf{fib}"


def bridge_create(bridge: str, descr: str) -> str:
    """ifconfig.bridge_create: a bridge named, described, in group hvd, up."""
    return _interface(bridge, _type("bridge") + _descr(descr)
                      + "<enabled>true</enabled>" + _group(HVD_GROUP), "create")


def destroy(ifname: str) -> str:
    """ifconfig.destroy: the interface is deleted (a bridge, a VLAN, a tap)."""
    return _interface(ifname, "", "delete")


def _member(bridge: str, member: str, op: str) -> str:
    return _interface(bridge, f'<bridge-members xmlns="{NETD}" nc:operation="{op}">'
                      f"<member>{_ifname(member)}</member></bridge-members>")


def bridge_addm(bridge: str, member: str) -> str:
    return _member(bridge, member, "create")


def bridge_deletem(bridge: str, member: str) -> str:
    return _member(bridge, member, "delete")


def vlan_create(parent: str, tag: int, descr: str) -> str:
    """ifconfig.vlan_create and ifconfig.tag in one edit: `<parent>.<tag>`, in group hvd."""
    return _interface(
        vlan_name(parent, tag),
        _type("l2vlan") + _descr(descr) + "<enabled>true</enabled>" + _group(HVD_GROUP)
        + f'<vlan-info xmlns="{NETD}"><vlan-id>{tag}</vlan-id><vlan-proto>802.1q</vlan-proto>'
        f"<vlan-parent>{_ifname(parent)}</vlan-parent></vlan-info>", "create")


def tap_create(tap: str, vm: str, nic: str) -> str:
    """ifconfig.tap_create and tap_setup but the MTU (netd's model has none): a tap named by
    hvd (names.tap_name; ifconfig's cloner picks the unit itself), in group hvd-port, up."""
    return _interface(tap, _type("tap", "netd") + _descr(tap_descr(vm, nic))
                      + "<enabled>true</enabled>" + _group(PORT_GROUP), "create")


def set_descr(ifname: str, descr: str) -> str:
    return _interface(ifname, _descr(descr))


def set_fib(ifname: str, fib: int) -> str:
    """ifconfig.set_fib: bound to `vrf<N>`; FIB 0 is the default instance, so the binding is
    removed (RFC 8529 §3: an interface bound to none is in the default)."""
    if fib == 0:
        return _interface(ifname, f'<bind-ni-name xmlns="{NI}" nc:operation="remove"/>')
    return _interface(ifname, f'<bind-ni-name xmlns="{NI}">{vrf(fib)}</bind-ni-name>')


def _address(ifname: str, address: str, op: str) -> str:
    ip, _, prefix = address.partition("/")
    fam = "ipv6" if ":" in ip else "ipv4"
    return _interface(ifname, f'<{fam} xmlns="{IP}"><address nc:operation="{op}">'
                      f"<ip>{escape(ip)}</ip><prefix-length>{int(prefix)}</prefix-length>"
                      f"</address></{fam}>")


def address_add(ifname: str, address: str) -> str:
    """ifconfig.address_add: `10.0.0.1/24` (or an IPv6 one) added beside the others."""
    return _address(ifname, address, "create")


def address_remove(ifname: str, address: str) -> str:
    return _address(ifname, address, "delete")


def edit_config(config: str) -> str:
    """The <edit-config> of one change into netd's candidate (RFC 6241 §7.2)."""
    return (f'<edit-config xmlns="{BASE}"><target><candidate/></target>'
            f"<config>{config}</config></edit-config>")

