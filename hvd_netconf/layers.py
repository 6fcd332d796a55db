"""The floors of hvd, bottom to top: a module imports only from its own floor or the ones below.

This table is the one statement of the order; tests/test_layers.py reads every module of
hvd_netconf and hv_cli and fails on an import that goes up a floor or closes a circle
(module-level, TYPE_CHECKING and function-local imports alike), and docs/layers.md explains
it. A module belongs to the floor of the longest name below that is itself or a package
holding it; `hvd_netconf` itself names only the package's __init__.
"""

from __future__ import annotations

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The words everyone shares: XML names, rpc-errors, the hardened parser, entry keys and
    # kinds, one operation call (session info, reply types), and this table.
    ("foundations", ("hvd_netconf", "hvd_netconf.namespaces", "hvd_netconf.errors",
                     "hvd_netconf.xmlparse", "hvd_netconf.keys", "hvd_netconf.calls",
                     "hvd_netconf.layers")),
    # NETCONF framing and messages (sans-IO), the daemon's settings and its users.
    ("wire", ("hvd_netconf.wire", "hvd_netconf.config", "hvd_netconf.users")),
    # The hv CLI: a client of the wire only, so `hv <command>` loads nothing of the server.
    ("cli", ("hv_cli",)),
    # The YANG model and what reads by it: validation, subtree/XPath filters.
    ("schema", ("hvd_netconf.schema", "hvd_netconf.filter")),
    # The /hv tree on disk and the datastores in memory.
    ("store", ("hvd_netconf.store",)),
    # Edits of a configuration, the NACM rule model that judges them, and guest templates
    # with their expansion into a VM's configuration.
    ("model", ("hvd_netconf.edit", "hvd_netconf.nacm", "hvd_netconf.templates")),
    # The host: argv builders, the freebsd and sim backends, and the start-up check.
    ("host", ("hvd_netconf.host", "hvd_netconf.hostcheck")),
    # The VM supervisor: one watcher per running bhyve.
    ("supervisor", ("hvd_netconf.supervisor",)),
    # The apply plan and the engine that runs (and undoes) it on the host.
    ("apply", ("hvd_netconf.apply",)),
    # Notifications and the operational state the server reports.
    # The statistics read from the host for <get>.
    ("notify", ("hvd_netconf.notify", "hvd_netconf.state", "hvd_netconf.operational",
                "hvd_netconf.stats")),
    # The operations, NACM as the server applies it to them (and the stored rules it enforces),
    # and the Committer: the one path every write of running takes.
    ("ops", ("hvd_netconf.ops", "hvd_netconf.nacm.access", "hvd_netconf.nacm.running",
             "hvd_netconf.committer")),
    # The in-process server every operation sees as ctx.server.
    ("server", ("hvd_netconf.server",)),
    # SSH and Unix-socket sessions into the server, RESTCONF over HTTPS beside them, and the
    # web interface on the RESTCONF listener (a RESTCONF client in the browser).
    ("transport", ("hvd_netconf.transport", "hvd_netconf.restconf", "hvd_netconf.webui")),
    # What puts it all together: the daemon, the development runner, and the self-test that
    # drives a child daemon as a user would.
    ("daemon", ("hvd_netconf.daemon", "hvd_netconf.devrun", "hvd_netconf.selftest",
                "hvd_netconf.selftest_guest")),
)

# Imports kept inside a function on purpose (anything else belongs at the top of its module).
LAZY_IMPORTS: dict[tuple[str, str], str] = {
    ("hv_cli.main", "hv_cli.shell"): "prompt_toolkit only for the interactive shell",
    ("hv_cli.commands", "hv_cli.ssh"): "paramiko only for a command that connects over SSH",
    ("hv_cli.render", "hvd_netconf.errors"): "lxml only when an error path is shown",
    ("hv_cli.commands", "hv_cli.console"): "termios and tty only for `hv console`",
    ("hv_cli.main", "hv_cli.helptext"): "textwrap and the help tables only for help",
    ("hv_cli.commands", "hv_cli.top"): "calendar, termios and the tables only for `hv top`/`stats`",
}


def floor_of(module: str) -> int | None:
    """The index in LAYERS of the floor a module belongs to (None: not placed)."""
    best: tuple[int, int] | None = None  # (length of the matched name, floor)
    for floor, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module.startswith(prefix + ".") and prefix != "hvd_netconf"
            if (module == prefix or inside) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), floor)
    return best[1] if best else None
