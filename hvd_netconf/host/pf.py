"""pfctl(8) argv and the pf.conf(5) rules of a NAT network: pure, like the other builders.

Each network's rules live in an anchor of its own, hvd/<network>, loaded from standard input
with `pfctl -a hvd/<network> -f -` and removed with `pfctl -a hvd/<network> -F all`; hvd never
loads or flushes the main ruleset. The main pf.conf must reference the anchors (`nat-anchor
"hvd/*"`, `rdr-anchor "hvd/*"`) for pf to evaluate them (docs/freebsd-facts.md §14).
"""

from __future__ import annotations

import ipaddress

from hvd_netconf.host.names import check_ifname
from hvd_netconf.host.specs import NetworkSpec

PFCTL = "pfctl"
Argv = tuple[str, ...]
FORWARDING = "net.inet.ip.forwarding"


def anchor(network: str) -> str:
    return f"hvd/{network}"


def load(network: str) -> Argv:
    """`pfctl -a hvd/lan -f -`: replace the anchor's rules with those read from stdin."""
    return (PFCTL, "-a", anchor(network), "-f", "-")


def flush(network: str) -> Argv:
    """`pfctl -a hvd/lan -F all`: remove every rule of the anchor (the main ruleset stays)."""
    return (PFCTL, "-a", anchor(network), "-F", "all")


def show(network: str) -> Argv:
    """`pfctl -a hvd/lan -s nat`: the anchor's translation rules as pf holds them."""
    return (PFCTL, "-a", anchor(network), "-s", "nat")


def show_main() -> Argv:
    """`pfctl -s nat`: the main ruleset's translation rules, where the anchors are named."""
    return (PFCTL, "-s", "nat")


# How `pfctl -s nat` lists the lines pf.conf needs (pf.conf(5), ANCHORS).
NAT_ANCHOR = 'nat-anchor "hvd/*"'
RDR_ANCHOR = 'rdr-anchor "hvd/*"'


def missing_anchors(main_nat: str, forwards: bool) -> list[str]:
    """The anchor references the main ruleset lacks for a NAT network (with forwards: rdr)."""
    have = {line.split(" all")[0].strip() for line in main_nat.splitlines()}
    need = [NAT_ANCHOR, *([RDR_ANCHOR] if forwards else [])]
    return [n for n in need if n not in have]


def prefixes(net: NetworkSpec) -> list[ipaddress.IPv4Network]:
    """The network's IPv4 prefixes, from its addresses, each once, in their order."""
    out: list[ipaddress.IPv4Network] = []
    for text in net.addresses:
        a = ipaddress.ip_interface(text)
        if isinstance(a, ipaddress.IPv4Interface) and a.network not in out:
            out.append(a.network)
    return out


def rules(net: NetworkSpec) -> str | None:
    """The anchor's pf.conf(5) text, or None when the network has no NAT. `nat ... -> (if)`
    follows the outside interface's address; `rdr pass` lets a forwarded connection in
    without a filter rule of the operator's (pf.conf(5), TRANSLATION)."""
    if net.nat is None:
        return None
    ext = check_ifname(net.nat)
    lines = [f"# hvd network {net.name}: generated from its configuration, replaced on every "
             "commit"]
    lines += [f"nat on {ext} inet from {p} to any -> ({ext})" for p in prefixes(net)]
    lines += [f"rdr pass on {ext} inet proto {f.protocol} from any to ({ext}) port "
              f"{f.host_port} -> {f.guest_address} port {f.to_port}" for f in net.forwards]
    return "\n".join(lines) + "\n"
