"""What every simulated command shares: the host state, the failure it raises, the refusal of
anything not simulated, and which commands change state."""

from __future__ import annotations

import logging
import os
from typing import Any, NoReturn

log = logging.getLogger("hvd.host.sim")

State = dict[str, Any]


def reads_only(argv: tuple[str, ...]) -> bool:
    """Commands that change no state (reads, probes, and bhyvectl's force-poweroff/reset,
    which only signal the stand-in guest): they are not logged, so replay never repeats a
    signal. Anything else is logged, even when it fails: it may have done part of its work."""
    prog, args = (os.path.basename(argv[0]), argv[1:]) if argv else ("", ())
    if prog == "zfs":
        return args[:1] in (("get",), ("list",), ("send",))  # a send alone only estimates
    if prog == "ifconfig":
        return len(args) < 2 or args[0] in ("-g", "-m")
    if prog == "bhyvectl":
        return not {"--create", "--destroy"} & set(args)
    if prog == "sysctl":
        return args[:1] in (("-n",), ("-i",))
    if prog == "pfctl":
        return "-s" in args
    if prog == "zpool":
        return args[:1] == ("list",)
    if prog == "rctl":
        return args[:1] not in (("-a",), ("-r",))  # -u and the listing read
    if prog == "iscsictl":
        return args[:1] == ("-L",)
    return prog in ("ps", "netstat", "pciconf", "camcontrol", "dnsmasq")


class Fail(Exception):
    def __init__(self, stderr: str, code: int = 1) -> None:
        super().__init__(stderr)
        self.stderr = stderr if stderr.endswith("\n") else stderr + "\n"
        self.code = code


def unknown(argv: tuple[str, ...]) -> NoReturn:
    log.error("sim: command not simulated: %s", argv)
    raise Fail(f"hvd sim: command not simulated: {' '.join(argv)}", 127)
