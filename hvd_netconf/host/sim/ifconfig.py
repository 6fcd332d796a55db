"""ifconfig(8) as the sim runs it: cloning bridges, taps and VLANs, renaming, bridge members,
MTU, FIB, description, groups and addresses, each parameter applied in turn as ifconfig does."""

from __future__ import annotations

import ipaddress
import itertools
import re
from typing import Any

from hvd_netconf.host.names import MAX_IFNAME
from hvd_netconf.host.sim.commands import Fail, State, unknown

CLONERS = ("bridge", "tap", "vlan")
# if_bridge(4) member flags hvd sets, and their bits as `ifconfig <bridge>` shows them
# (IFBIF_* in net/if_bridgevar.h); a new member has LEARNING, DISCOVER, AUTOEDGE and AUTOPTP.
PORT_FLAGS = {"stp": 0x4, "sticky": 0x10, "private": 0x800}
PORT_BITS = {"LEARNING": 0x1, "DISCOVER": 0x2, "STP": 0x4, "STICKY": 0x10,
             "AUTOEDGE": 0x40, "AUTOPTP": 0x100, "PRIVATE": 0x800}
# What a simulated physical interface's driver can do, as `ifconfig -m` lists it (em(4)).
PHYSICAL_CAPABILITIES = ("RXCSUM", "TXCSUM", "VLAN_MTU", "VLAN_HWTAGGING", "JUMBO_MTU",
                         "VLAN_HWCSUM", "TSO4")


class Ifconfig:
    """The ifconfig commands (a part of SimHost)."""

    @staticmethod
    def _new_if(kind: str, mtu: int = 1500) -> dict[str, Any]:
        return {"kind": kind, "mtu": mtu, "fib": 0, "descr": None, "groups": [kind],
                "up": False, "members": [], "vlandev": None, "vlan": None,
                "addresses": []}

    @staticmethod
    def _lowest_unit(st: State, family: str) -> str:
        unit = 0
        while f"{family}{unit}" in st["interfaces"]:
            unit += 1
        return f"{family}{unit}"

    def _ifconfig(self, st: State, args: tuple[str, ...], out: list[str],
                  argv: tuple[str, ...]) -> None:
        if not args:
            unknown(argv)
        if args[0] == "-g" and len(args) == 2:
            for n in sorted(st["interfaces"]):
                if args[1] in st["interfaces"][n]["groups"]:
                    out.append(n + "\n")
            return
        caps = args[0] == "-m" and len(args) == 2
        if caps:
            args = args[1:]
        if args[0].startswith("-"):
            unknown(argv)
        ifname, params = args[0], list(args[1:])
        if len(ifname) > MAX_IFNAME:
            raise Fail(f"ifconfig: interface name '{ifname}' is too long")
        ifs = st["interfaces"]
        if params[:1] == ["create"]:
            params = params[1:]
            ifname = self._if_create(st, ifname, params)
            print_name = True
        else:
            print_name = False
            if ifname not in ifs:
                raise Fail(f"ifconfig: interface {ifname} does not exist")
            if not params:
                out.append(self._if_status(ifname, ifs[ifname], caps))
                return
            if caps:
                unknown(argv)
        i = 0
        while i < len(params):
            word = params[i]
            arg = params[i + 1] if i + 1 < len(params) else None
            i += 1
            if word in ("up", "down"):
                ifs[ifname]["up"] = word == "up"
                continue
            if word == "destroy":
                self._if_destroy(st, ifname)
                return
            if word == "-descr":
                ifs[ifname]["descr"] = None
                continue
            if word in ("inet", "inet6") and arg is not None:
                alias = params[i + 1] if i + 1 < len(params) else None
                alias = alias if alias in ("alias", "-alias") else None
                i += 1 if alias is None else 2
                self._if_address(ifs[ifname], word, arg, alias, argv)
                continue
            if arg is None:
                if word in ("addm", "deletem", "descr", "group", "-group", "fib", "mtu", "name",
                            "vlandev", "vlan", "static", *PORT_FLAGS,
                            *(f"-{w}" for w in PORT_FLAGS)):
                    raise Fail(f"ifconfig: missing argument for {word}")
                unknown(argv)
            i += 1
            if word == "name":
                ifname = self._if_rename(st, ifname, arg)
                print_name = True
            elif word == "descr":
                ifs[ifname]["descr"] = arg
            elif word == "group":
                if arg not in ifs[ifname]["groups"]:
                    ifs[ifname]["groups"] = sorted([*ifs[ifname]["groups"], arg])
            elif word == "-group":
                if arg in ifs[ifname]["groups"]:
                    ifs[ifname]["groups"].remove(arg)
            elif word == "fib":
                self._if_fib(st, ifname, arg)
            elif word == "mtu":
                self._if_mtu(st, ifname, arg)
            elif word == "addm":
                self._if_addm(st, ifname, arg)
            elif word == "deletem":
                self._if_deletem(st, ifname, arg)
            elif word.lstrip("-") in PORT_FLAGS:
                self._if_port_flag(ifs[ifname], word, arg)
            elif word == "static":
                mac = params[i] if i < len(params) else None
                if mac is None:
                    raise Fail("ifconfig: missing argument for static")
                i += 1
                self._if_static(ifs[ifname], arg, mac)
            elif word in ("vlandev", "vlan"):
                self._if_vlan_again(ifs, ifname, word, arg, params[i:], argv)
                i = len(params)  # the pair was taken whole
            else:
                unknown(argv)
        if print_name:
            out.append(ifname + "\n")

    @staticmethod
    def _if_address(me: dict[str, Any], family: str, text: str, alias: str | None,
                    argv: tuple[str, ...]) -> None:
        """`inet|inet6 A/P [alias|-alias]` (ifconfig(8)): alias adds, -alias removes, neither
        replaces the family's first address. Kept normalized, as the kernel keeps it."""
        if "/" not in text:
            unknown(argv)  # a classful or netmask form: hvd always gives a prefix length
        try:
            addr = ipaddress.ip_interface(text)
        except ValueError:
            raise Fail(f"ifconfig: {text}: bad value") from None
        if family != ("inet6" if addr.version == 6 else "inet"):
            raise Fail(f"ifconfig: {text}: bad value")
        addrs: list[str] = me.setdefault("addresses", [])
        here = [a for a in addrs if ipaddress.ip_interface(a).ip == addr.ip]
        if alias == "-alias":
            if not here:
                raise Fail("ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address")
            addrs.remove(here[0])
            return
        if here:
            raise Fail("ifconfig: ioctl (SIOCAIFADDR): File exists")
        if alias is None:
            first = [a for a in addrs if ipaddress.ip_interface(a).version == addr.version]
            if first:
                addrs.remove(first[0])
        addrs.append(str(addr))

    @staticmethod
    def _address_lines(addrs: list[str]) -> list[str]:
        """`inet 10.0.0.1 netmask 0xffffff00 broadcast 10.0.0.255`, `inet6 fd00::1 prefixlen
        64`: how ifconfig(8) shows each address."""
        lines = []
        for text in addrs:
            a = ipaddress.ip_interface(text)
            if a.version == 4:
                lines.append(f"\tinet {a.ip} netmask 0x{int(a.netmask):08x} "
                             f"broadcast {a.network.broadcast_address}")
            else:
                lines.append(f"\tinet6 {a.ip} prefixlen {a.network.prefixlen}")
        return lines

    @staticmethod
    def _if_status(name: str, me: dict[str, Any], caps: bool = False) -> str:
        """The lines of `ifconfig [-m] <if>` that hvd reads (ifconfig(8)): flags, metric, MTU,
        with -m the driver's capabilities."""
        flags = ["UP"] if me["up"] else []
        flags += ["BROADCAST", *(["RUNNING"] if me["up"] else []), "SIMPLEX", "MULTICAST"]
        bits = {"UP": 0x1, "BROADCAST": 0x2, "RUNNING": 0x40, "SIMPLEX": 0x800,
                "MULTICAST": 0x8000}
        value = sum(bits[f] for f in flags)
        lines = [f"{name}: flags={value:x}<{','.join(flags)}> metric 0 mtu {me['mtu']}"]
        if me["kind"] == "physical" and name != "lo0":  # a NIC says whether it has a link
            lines.append(f"\tstatus: {'active' if me.get('carrier', True) else 'no carrier'}")
        if me["descr"]:
            lines.append(f"\tdescription: {me['descr']}")
        if caps and me.get("capabilities"):
            # the bits are the sim's own: hvd reads only the words
            lines.append(f"\tcapabilities=1<{','.join(me['capabilities'])}>")
        lines += Ifconfig._address_lines(me.get("addresses", []))
        for m in me["members"]:
            on = ["LEARNING", "DISCOVER", "AUTOEDGE", "AUTOPTP",
                  *(f.upper() for f in me.get("ports", {}).get(m, []))]
            on.sort(key=PORT_BITS.__getitem__)
            lines.append(f"\tmember: {m} flags={sum(PORT_BITS[f] for f in on):x}"
                         f"<{','.join(on)}>")
        if me["groups"]:
            lines.append(f"\tgroups: {' '.join(me['groups'])}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _hardware(st: State, args: tuple[str, ...], out: list[str],
                  argv: tuple[str, ...]) -> None:
        """What no command does, for tests: a NIC unplugged (it leaves every bridge, as
        if_bridge(4) lets go of a detached member), plugged back in (in no bridge), or its
        link lost and found. Logged like a command, so every process sees it."""
        ifs, gone = st["interfaces"], st.setdefault("unplugged", {})
        if args[:1] == ("unplug",) and len(args) == 2 and args[1] in ifs:
            for me in ifs.values():
                if args[1] in me["members"]:
                    me["members"].remove(args[1])
                if me["vlandev"] == args[1]:  # vlan(4) unconfigures its VLANs; they stay
                    me["vlandev"], me["vlan"] = None, None
            gone[args[1]] = ifs.pop(args[1])
        elif args[:1] == ("plug",) and len(args) == 2 and args[1] in gone:
            ifs[args[1]] = gone.pop(args[1])
        elif args[:1] == ("carrier",) and len(args) == 3 and args[1] in ifs:
            ifs[args[1]]["carrier"] = args[2] == "on"
        else:
            unknown(argv)

    @staticmethod
    def _if_vlan_again(ifs: dict[str, Any], ifname: str, word: str, arg: str,
                       rest: list[str], argv: tuple[str, ...]) -> None:
        """`ifconfig NAME vlan TAG vlandev PARENT` on a VLAN its parent's departure left
        unconfigured (ifconfig(8), vlan(4)); a configured one is not re-parented here."""
        me = ifs[ifname]
        pair = {word: arg, **dict(zip(rest[0::2], rest[1::2], strict=False))}
        if me["kind"] != "vlan" or set(pair) != {"vlan", "vlandev"} or len(rest) != 2:
            unknown(argv)
        if me["vlandev"] is not None:
            raise Fail("ifconfig: hvd sim re-parents only a VLAN without a parent", 127)
        if pair["vlandev"] not in ifs:
            raise Fail(f"ifconfig: interface {pair['vlandev']} does not exist")
        me["vlandev"], me["vlan"] = pair["vlandev"], int(pair["vlan"])

    def _if_create(self, st: State, cloner: str, params: list[str]) -> str:
        ifs = st["interfaces"]
        family = cloner.rstrip("0123456789")
        dotted = re.fullmatch(r"([A-Za-z][A-Za-z0-9_-]*[0-9])\.([0-9]+)", cloner)
        if dotted:
            family = "vlan"
        elif family not in CLONERS:
            raise Fail(f"ifconfig: SIOCIFCREATE2 ({cloner}): Invalid argument")
        if cloner in ifs:
            raise Fail(f"ifconfig: SIOCIFCREATE2 ({cloner}): File exists")
        name = cloner if cloner != family else self._lowest_unit(st, family)
        if family == "vlan":
            dev, tag = (dotted.group(1), dotted.group(2)) if dotted else (None, None)
            for k, v in itertools.pairwise(params):
                if k == "vlandev":
                    dev = v
                elif k == "vlan":
                    tag = v
            if dev is None or tag is None:
                raise Fail("ifconfig: both vlan and vlandev must be specified")
            if not tag.isdigit() or not 1 <= int(tag) <= 4094:
                raise Fail(f"ifconfig: invalid vlan tag: {tag}")
            if dev not in ifs:
                raise Fail(f"ifconfig: SIOCIFCREATE2 ({cloner}): No such file or directory")
            if any(i["vlandev"] == dev and i["vlan"] == int(tag) for i in ifs.values()):
                raise Fail(f"ifconfig: SIOCIFCREATE2 ({cloner}): File exists")
            new = self._new_if("vlan", ifs[dev]["mtu"])
            new.update(vlandev=dev, vlan=int(tag))
            ifs[name] = new
            # vlandev/vlan were consumed by the create; drop them from the parameter list.
            for key in ("vlandev", "vlan"):
                if key in params:
                    j = params.index(key)
                    del params[j:j + 2]
        else:
            ifs[name] = self._new_if(family)
        return name

    @staticmethod
    def _if_rename(st: State, old: str, new: str) -> str:
        ifs = st["interfaces"]
        if len(new) > MAX_IFNAME:
            raise Fail("ifconfig: ioctl SIOCSIFNAME (set name): File name too long")
        if new in ifs:
            raise Fail("ifconfig: ioctl SIOCSIFNAME (set name): File exists")
        ifs[new] = ifs.pop(old)
        for i in ifs.values():
            i["members"] = [new if m == old else m for m in i["members"]]
            if i["vlandev"] == old:
                i["vlandev"] = new
        return new

    @staticmethod
    def _if_destroy(st: State, name: str) -> None:
        ifs = st["interfaces"]
        if ifs[name]["kind"] not in CLONERS:
            raise Fail("ifconfig: SIOCIFDESTROY: Invalid argument")
        for child in [n for n, i in ifs.items() if i["vlandev"] == name]:
            ifs[child]["vlandev"] = None
        for i in ifs.values():
            if name in i["members"]:
                Ifconfig._forget_member(i, name)
        del ifs[name]

    @staticmethod
    def _if_fib(st: State, name: str, value: str) -> None:
        if not value.isdigit():
            raise Fail(f"ifconfig: fib {value}: bad value")
        if int(value) >= int(st["sysctl"]["net.fibs"]):
            raise Fail("ifconfig: ioctl (SIOCSIFFIB): Invalid argument")
        st["interfaces"][name]["fib"] = int(value)

    @staticmethod
    def _if_mtu(st: State, name: str, value: str) -> None:
        ifs = st["interfaces"]
        if not value.isdigit():
            raise Fail(f"ifconfig: mtu {value}: bad value")
        mtu = int(value)
        me = ifs[name]
        bad = not 72 <= mtu <= 65535
        if me["kind"] == "bridge":
            bad = bad or mtu < 576 or any(ifs[m]["mtu"] != mtu for m in me["members"])
        if me["kind"] == "vlan" and me["vlandev"] is not None:
            bad = bad or mtu > ifs[me["vlandev"]]["mtu"]
        if me["kind"] == "physical":
            # a driver without JUMBO_MTU takes nothing above 1500 (ifconfig(8) -m)
            limit = 9216 if "JUMBO_MTU" in me.get("capabilities", ()) else 1500
            bad = bad or mtu > limit
        if bad:
            raise Fail("ifconfig: ioctl SIOCSIFMTU (set mtu): Invalid argument")
        me["mtu"] = mtu

    @staticmethod
    def _if_addm(st: State, bridge: str, member: str) -> None:
        ifs = st["interfaces"]
        br = ifs[bridge]
        if br["kind"] != "bridge":
            raise Fail(f"ifconfig: BRDGADD {member}: Inappropriate ioctl for device")
        if member not in ifs:
            raise Fail(f"ifconfig: BRDGADD {member}: No such file or directory")
        if member in br["members"]:
            raise Fail(f"ifconfig: BRDGADD {member}: File exists")
        if member == bridge or ifs[member]["kind"] == "bridge" or any(
            member in i["members"] for i in ifs.values()
        ):
            raise Fail(f"ifconfig: BRDGADD {member}: Device busy")
        if br["members"] and ifs[member]["mtu"] != br["mtu"]:
            # if_bridge sets the new member to the bridge's MTU, EINVAL if it cannot take it
            # (docs/freebsd-facts.md §3.3)
            try:
                Ifconfig._if_mtu(st, member, str(br["mtu"]))
            except Fail:
                raise Fail(f"ifconfig: BRDGADD {member}: Invalid argument") from None
        if not br["members"]:
            br["mtu"] = ifs[member]["mtu"]
        br["members"].append(member)

    @staticmethod
    def _if_deletem(st: State, bridge: str, member: str) -> None:
        br = st["interfaces"][bridge]
        if br["kind"] != "bridge":
            raise Fail(f"ifconfig: BRDGDEL {member}: Inappropriate ioctl for device")
        if member not in br["members"]:
            raise Fail(f"ifconfig: BRDGDEL {member}: No such file or directory")
        Ifconfig._forget_member(br, member)

    @staticmethod
    def _forget_member(br: dict[str, Any], member: str) -> None:
        """A member leaves with its flags and its address cache entries, static ones too
        (if_bridge(4): the cache of a deleted member is flushed)."""
        br["members"].remove(member)
        ports = br.get("ports", {})
        ports.pop(member, None)
        static = {m: p for m, p in br.get("static", {}).items() if p != member}
        Ifconfig._keep(br, "ports", ports)
        Ifconfig._keep(br, "static", static)

    @staticmethod
    def _keep(me: dict[str, Any], key: str, value: dict[str, Any]) -> None:
        """An empty table is no table, so a flag set and cleared leaves the state as it was."""
        if value:
            me[key] = value
        else:
            me.pop(key, None)

    @staticmethod
    def _if_port_flag(br: dict[str, Any], word: str, member: str) -> None:
        """`private tap0`, `-sticky tap0`...: a member flag, read then written back, as
        ifconfig's do_bridgeflag does (BRDGGIFFLGS, BRDGSIFFLGS)."""
        if br["kind"] != "bridge" or member not in br["members"]:
            errno = "Inappropriate ioctl for device" if br["kind"] != "bridge" else \
                "No such file or directory"
            raise Fail(f"ifconfig: unable to get bridge flags: {errno}")
        ports = br.get("ports", {})
        flag = word.lstrip("-")
        flags = {*ports.get(member, [])} - {flag} | (set() if word.startswith("-") else {flag})
        Ifconfig._keep(br, "ports", {**ports, member: sorted(flags)} if flags else
                       {m: f for m, f in ports.items() if m != member})

    @staticmethod
    def _if_static(br: dict[str, Any], member: str, mac: str) -> None:
        """`static tap0 58:9c:fc:00:00:01`: BRDGSADDR, refused for a non-member."""
        if not re.fullmatch(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}", mac):
            raise Fail(f"ifconfig: invalid address: {mac}")
        if br["kind"] != "bridge" or member not in br["members"]:
            raise Fail(f"ifconfig: BRDGSADDR {mac}: No such file or directory")
        br.setdefault("static", {})[mac.lower()] = member
