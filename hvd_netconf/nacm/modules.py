"""YANG module names for namespaces: NACM rules name modules, the wire speaks namespaces."""

from __future__ import annotations

from typing import Any

from hvd_netconf.namespaces import (
    BASE,
    DATASTORES,
    HVD,
    MONITORING,
    NACM,
    NC_NOTIFICATIONS,
    NETWORK,
    NMDA,
    NOTIF,
    PREFIXES,
    TEMPLATE,
    TYPES,
    VM,
    WITH_DEFAULTS,
    YANG_LIBRARY,
)

# The modules hvd implements even when no schema is attached (unit tests, early start-up).
BUILTIN: dict[str, str] = {
    BASE: "ietf-netconf",
    NACM: "ietf-netconf-acm",
    MONITORING: "ietf-netconf-monitoring",
    NC_NOTIFICATIONS: "ietf-netconf-notifications",
    NOTIF: "notifications",
    WITH_DEFAULTS: "ietf-netconf-with-defaults",
    YANG_LIBRARY: "ietf-yang-library",
    NMDA: "ietf-netconf-nmda",
    DATASTORES: "ietf-datastores",
    VM: "hvd-vm",
    NETWORK: "hvd-network",
    TYPES: "hvd-types",
    HVD: "hvd-system",
    TEMPLATE: "hvd-template",
}


class Modules:
    """Namespace <-> module name, and prefix -> namespace for rule paths."""

    def __init__(self, schema: Any = None) -> None:
        self.by_ns = dict(BUILTIN)
        self.prefixes = dict(PREFIXES)
        for mod in getattr(schema, "modules", None) or ():
            ns = getattr(mod, "namespace", None)
            if ns:
                self.by_ns[ns] = mod.name
                if getattr(mod, "prefix", None):
                    self.prefixes.setdefault(mod.prefix, ns)
        for ns, name in self.by_ns.items():
            self.prefixes.setdefault(name, ns)

    def module_of(self, ns: str) -> str:
        """Unknown namespaces get a name no rule can spell, so only `*` rules match them."""
        return self.by_ns.get(ns, f"<{ns}>")


DEFAULT_MODULES = Modules()
