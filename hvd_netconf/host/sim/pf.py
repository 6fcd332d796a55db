"""pfctl(8) as the sim runs it for hvd's anchors: `-a ANCHOR -f -` loads rules read from stdin,
`-a ANCHOR -F all` flushes them, `-a ANCHOR -s nat` shows them, and `-s nat` shows the main
ruleset's translation rules (set when the host is made: SimHost's pf_main). The sim
understands the two rule forms hvd writes (pf.conf(5) `nat` and `rdr pass`); a line that
starts with no pf.conf keyword is a syntax error in pfctl's words, and the rules are not
loaded, as pfctl loads all or nothing. Other valid pf.conf is refused as not simulated, never
taken as loaded."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from hvd_netconf.host.sim.commands import Fail, State, unknown

KEYWORDS = {"set", "scrub", "table", "nat", "no", "rdr", "binat", "nat-anchor",
            "rdr-anchor", "binat-anchor", "anchor", "load", "pass", "block", "match",
            "antispoof", "altq", "queue", "ether"}
_PORT = r"([0-9]+)"
_NAT = re.compile(r"nat on (\S+) inet from (\S+) to any -> \((\S+)\)")
_RDR = re.compile(rf"rdr pass on (\S+) inet proto (tcp|udp) from any to \((\S+)\) port {_PORT}"
                  rf" -> (\S+) port {_PORT}")


# The main ruleset of a simulated host set up as docs/networking.md asks: hvd's anchors named.
MAIN_NAT = ('nat-anchor "hvd/*" all', 'rdr-anchor "hvd/*" all')


class Pf:
    """The pfctl commands (a part of SimHost, which sets _input to the command's stdin)."""

    if TYPE_CHECKING:
        _input: str | None

    def _pfctl(self, st: State, args: tuple[str, ...], out: list[str],
               argv: tuple[str, ...]) -> None:
        if args == ("-s", "nat"):
            main = st.get("pf-main", list(MAIN_NAT))
            if main is None:  # pf(4) not loaded
                raise Fail("pfctl: /dev/pf: No such file or directory")
            out += [line + "\n" for line in main]
            return
        if len(args) != 4 or args[0] != "-a":
            unknown(argv)
        anchor, what, arg = args[1], args[2], args[3]
        anchors: dict[str, list[str]] = st.get("pf-anchors", {})
        if (what, arg) == ("-f", "-"):
            anchors = {**anchors, anchor: self._parse(self._input or "", argv)}
        elif (what, arg) == ("-F", "all"):
            anchors = {a: r for a, r in anchors.items() if a != anchor}
        elif (what, arg) == ("-s", "nat"):
            out += [line + "\n" for line in anchors.get(anchor, [])]
            return
        else:
            unknown(argv)
        if anchors:
            st["pf-anchors"] = anchors
        else:  # no anchor left: the state is as before the first load
            st.pop("pf-anchors", None)

    @staticmethod
    def _parse(text: str, argv: tuple[str, ...]) -> list[str]:
        rules: list[str] = []
        errors: list[str] = []
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.split()[0] not in KEYWORDS:
                errors.append(f"stdin:{n}: syntax error")
                continue
            nat, rdr = _NAT.fullmatch(line), _RDR.fullmatch(line)
            if nat:
                try:
                    ipaddress.ip_network(nat.group(2))
                except ValueError:
                    errors.append(f"stdin:{n}: syntax error")
                    continue
            elif rdr:
                bad = [p for p in (rdr.group(4), rdr.group(6)) if not 1 <= int(p) <= 65535]
                if bad:
                    errors.append(f"stdin:{n}: illegal port value {bad[0]}")
                    continue
            else:
                unknown(argv)
            rules.append(line)
        if errors:
            raise Fail("\n".join([*errors, "pfctl: Syntax error in config file: "
                                  "pf rules not loaded"]))
        return rules
