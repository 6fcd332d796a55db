"""iscsictl(8) and camcontrol(8) inquiry as the sim runs them, against a table of iSCSI
targets that tests fill (docs/freebsd-facts.md §21).

The table maps a portal (HOST:PORT) to its targets and each target to its LUNs' serial
numbers. A session added for a portal the table lacks fails as a refused connection, for a
target the portal lacks as iscsid's `Not found`; otherwise it connects at once and each LUN
gets the next free da(4) unit, so the devices' order is the order of attaches, as on
FreeBSD, and never says which LUN is which. `iscsictl -L --libxo json` shows the sessions as
libxo does. Hardware events (`hvd-sim-hardware iscsi-...`) add a target or take a portal
away and back.
"""

from __future__ import annotations

import json
from typing import Any

from hvd_netconf.host.sim.commands import Fail, State, unknown

DEFAULT_PORT = "3260"
ISCSI_PREFIXES = ("iqn.", "eui.", "naa.")


def _portal(address: str) -> str:
    """HOST:PORT, the port 3260 where none is given (iscsi.conf(5) TargetAddress)."""
    if address.startswith("["):
        return address if "]:" in address else f"{address}:{DEFAULT_PORT}"
    return address if ":" in address else f"{address}:{DEFAULT_PORT}"


class Iscsi:
    """The iSCSI initiator's commands (a part of SimHost)."""

    @staticmethod
    def _table(st: State) -> dict[str, Any]:
        table: dict[str, Any] = st.setdefault("iscsi", {"targets": {}, "sessions": [],
                                                         "down": []})
        return table

    def _iscsictl(self, st: State, args: tuple[str, ...], out: list[str],
                  argv: tuple[str, ...]) -> None:
        t = self._table(st)
        if args == ("-L", "--libxo", "json"):
            out.append(json.dumps({"__version": "2", "iscsictl": {"session": [
                self._listed(s) for s in t["sessions"]]}}) + "\n")
            return
        opts = dict(zip(args[1::2], args[2::2], strict=False))
        if args[:1] == ("-A",) and len(args) == 5 and set(opts) == {"-p", "-t"}:
            portal, target = opts["-p"], opts["-t"]
            if not target.lower().startswith(ISCSI_PREFIXES):
                raise Fail(f'iscsictl: invalid target name "{target}"')
        elif args[:1] == ("-A",) and len(args) == 3 and set(opts) == {"-n"}:
            raise Fail(f'iscsictl: target {opts["-n"]} not found in /etc/iscsi.conf')
        elif args[:1] == ("-R",) and len(args) == 5 and set(opts) == {"-p", "-t"}:
            kept = [s for s in t["sessions"]
                    if (s["portal"], s["target"]) != (opts["-p"], opts["-t"])]
            if len(kept) == len(t["sessions"]):
                raise Fail("iscsictl: ISCSISREMOVE: No such process")
            t["sessions"] = kept
            return
        else:
            unknown(argv)
        if any((s["portal"], s["target"]) == (portal, target) for s in t["sessions"]):
            raise Fail("iscsictl: ISCSISADD: Device busy")
        session: dict[str, Any] = {"portal": portal, "target": target, "reason": "", "luns": {}}
        t["sessions"].append(session)
        self._login(t, session)

    def _login(self, t: dict[str, Any], s: dict[str, Any]) -> None:
        """iscsid's login: the reason it fails with, or a connected session with a da unit
        for each LUN."""
        where = _portal(s["portal"])
        luns = t["targets"].get(where, {}).get(s["target"])
        if where not in t["targets"] or where in t["down"]:
            s["reason"], s["luns"] = "Connection refused", {}
        elif luns is None:
            s["reason"], s["luns"] = "Not found", {}
        else:
            taken = {int(d[2:]) for other in t["sessions"] for d in other["luns"].values()}
            s["reason"], s["luns"] = "", {}
            for lun in sorted(luns, key=int):
                unit = next(n for n in range(len(taken) + 1) if n not in taken)
                taken.add(unit)
                s["luns"][lun] = f"da{unit}"

    @staticmethod
    def _listed(s: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {"name": s["target"], "portal": s["portal"],
                                "state": s["reason"] or "Connected"}
        if not s["reason"]:
            item["devices"] = {"lun": [{"lun": int(n), "device": d}
                                       for n, d in s["luns"].items()],
                               "scbus": 3, "bus": 0, "target": 0}
        return item

    def _camcontrol(self, st: State, args: tuple[str, ...], out: list[str],
                    argv: tuple[str, ...]) -> None:
        if len(args) != 3 or args[0] != "inquiry" or args[2] != "-S":
            unknown(argv)
        t = self._table(st)
        for s in t["sessions"]:
            for lun, dev in s["luns"].items():
                if dev == args[1]:
                    out.append(t["targets"][_portal(s["portal"])][s["target"]][lun] + "\n")
                    return
        raise Fail(f"camcontrol: cam_lookup_pass: No such file or directory\n"
                   f"camcontrol: either the pass driver isn't in your kernel\n"
                   f"camcontrol: or {args[1]} doesn't exist")

    def _iscsi_event(self, st: State, args: tuple[str, ...], argv: tuple[str, ...]) -> None:
        """A test's change of the world: `iscsi-target PORTAL TARGET LUN=SERIAL...` makes a
        target; `iscsi-down PORTAL` takes a portal away (its sessions lose their devices and
        show the refused reconnects), `iscsi-up PORTAL` brings it back (they log in again)."""
        t = self._table(st)
        if args[0] == "iscsi-target" and len(args) >= 3:
            t["targets"].setdefault(_portal(args[1]), {})[args[2]] = dict(
                a.split("=", 1) for a in args[3:])
        elif args[0] in ("iscsi-down", "iscsi-up") and len(args) == 2:
            where = _portal(args[1])
            t["down"] = [p for p in t["down"] if p != where] + (
                [where] if args[0] == "iscsi-down" else [])
            for s in t["sessions"]:
                if _portal(s["portal"]) == where:
                    s["luns"] = {}
                    self._login(t, s)
        else:
            unknown(argv)
