"""Address clashes between networks (host/constraints.py): found by look-ups in one index per
check, with the same answers as comparing every pair."""

from __future__ import annotations

import ipaddress
import itertools

from support.configs import config, network

from hvd_netconf.host import constraints, specs


def nets(*spec: tuple[str, int, tuple[str, ...]]) -> constraints.Networks:
    out = constraints.Networks()
    for name, fib, addresses in spec:
        el = config([network(name, fib=fib).replace("</network>", "".join(
            f"<address>{a}</address>" for a in addresses) + "</network>")])[0][0]
        out.append(specs.read_network(el))
    return out


def refusals(all_nets: constraints.Networks, name: str) -> list[str]:
    net = next(n for n in all_nets if n.name == name)
    return [e.message for e in constraints.check_addresses(net, None, all_nets.addresses)]


def test_overlaps_either_way_and_only_in_one_fib() -> None:
    all_nets = nets(("lan", 0, ("10.0.0.1/24", "fd00:1::1/64")),
                    ("big", 0, ("10.0.0.129/16",)),       # holds lan's prefix
                    ("small", 0, ("10.0.0.200/29",)),     # lies in lan's prefix
                    ("other", 1, ("10.0.0.2/24",)),       # same prefix, another FIB: fine
                    ("v6", 0, ("fd00:1:0:0:8000::1/65",)),
                    ("same", 2, ("10.0.0.1/24",)))        # the same address: refused anywhere
    assert sorted(refusals(all_nets, "lan")) == sorted([
        "network lan: address 10.0.0.1 is already the host's on network same (10.0.0.1/24)",
        "network lan: prefix 10.0.0.0/24 overlaps 10.0.0.0/16 of network big in FIB 0; their "
        "routes would clash: use another prefix or another FIB",
        "network lan: prefix 10.0.0.0/24 overlaps 10.0.0.200/29 of network small in FIB 0; "
        "their routes would clash: use another prefix or another FIB",
        "network lan: prefix fd00:1::/64 overlaps fd00:1:0:0:8000::/65 of network v6 in FIB 0; "
        "their routes would clash: use another prefix or another FIB"])
    assert refusals(all_nets, "other") == []


def test_index_agrees_with_every_pair() -> None:
    """Over a small grid of prefixes, the index finds exactly the pairs that overlap."""
    prefixes = [f"10.{a}.{b}.1/{p}"
                for a, b, p in itertools.product((0, 1), (0, 128), (8, 16, 24, 25))]
    all_nets = nets(*((f"n{i}", 0, (p,)) for i, p in enumerate(prefixes)))
    index = all_nets.addresses
    for p in set(prefixes):
        mine = ipaddress.ip_interface(p).network
        found = {(str(o), n) for o, n in index.overlapping(0, mine)}
        want = {(str(ipaddress.ip_interface(q).network), f"n{i}")
                for i, q in enumerate(prefixes) if ipaddress.ip_interface(q).network.overlaps(mine)}
        assert found == want, p
