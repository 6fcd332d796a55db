"""hvd from Python: configuration built with the pyangbind classes generated from hvd's YANG
(hvd_bindings: every assignment is checked against the leaf's type, range and pattern as it
is made), pushed and read over NETCONF with ncclient. The server validates and commits it as
it does any client's edit: NACM, the host apply and its undo, the commit history.

    from hv_cli.api import Hvd

    with Hvd.socket("/var/run/hvd.sock") as hvd:
        web = hvd.new_vm("web")
        web.cpu, web.memory = 2, 1024
        web.disk.add("d0").size = "10G"
        hvd.commit(web, comment="web server")
        print(hvd.vm("web").memory)          # 1024, read back as a binding

Nothing of this is loaded by the `hv` command itself (ncclient and pyangbind are heavy).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import hvd_bindings
from hvd_bindings import hvd_network, hvd_vm
from lxml import etree
from ncclient import manager
from ncclient.xml_ import to_ele
from pyangbind.lib.serialise import pybindIETFXMLDecoder, pybindIETFXMLEncoder

from hvd_netconf.namespaces import BASE, HVD, NETWORK, VM

TIMEOUT = 120  # seconds a reply may take (a commit that creates many VMs)


def _root(entry: Any) -> Any:
    """The module object (hvd_vm or hvd_network) an entry was added to."""
    node = entry
    while getattr(node, "_parent", None) is not None:
        node = node._parent
    return node


class Hvd:
    """One NETCONF session with hvd."""

    def __init__(self, session: Any) -> None:
        self.session = session

    @classmethod
    def socket(cls, path: str) -> Hvd:
        """hvd's Unix socket on this host (the peer's credentials name the user)."""
        return cls(manager.connect_uds(path=path, timeout=TIMEOUT))

    @classmethod
    def ssh(cls, host: str, port: int = 830, **options: Any) -> Hvd:
        """hvd over SSH: username, password or key_filename, and hostkey_verify as ncclient
        takes them (host keys are checked against ~/.ssh/known_hosts by default)."""
        return cls(manager.connect(host=host, port=port, timeout=TIMEOUT,
                                   device_params={"name": "default"}, **options))

    def close(self) -> None:
        self.session.close_session()

    def __enter__(self) -> Hvd:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- building -----------------------------------------------------------------------------

    @staticmethod
    def new_vm(name: str) -> Any:
        """A new VM entry (hvd-vm's vm list) to fill in; the model's defaults apply to what is
        left unset."""
        return hvd_vm().vms.vm.add(name)

    @staticmethod
    def new_network(name: str) -> Any:
        """A new network entry (hvd-network's network list)."""
        return hvd_network().networks.network.add(name)

    # -- writing and reading ------------------------------------------------------------------

    def commit(self, *entries: Any, comment: str | None = None) -> None:
        """Merge the entries into the candidate and commit them, as one transaction; on an
        error the candidate is discarded and the server's rpc-error raised (ncclient's
        RPCError: its tag, path and message are the server's)."""
        parts = []
        for root in {id(r): r for r in map(_root, entries)}.values():
            xml = pybindIETFXMLEncoder.serialise(root)
            parts += [c for c in to_ele(xml)]  # the module element's top containers
        config = to_ele(f'<config xmlns="{BASE}"/>')
        config.extend(parts)
        try:
            self.session.edit_config(target="candidate", config=config)
            rpc = to_ele(f'<commit xmlns="{BASE}"/>')
            if comment:
                rpc.append(to_ele(f'<comment xmlns="{HVD}"/>'))
                rpc[-1].text = comment
            self.session.dispatch(rpc)
        except Exception:
            self.session.discard_changes()
            raise

    def vm(self, name: str) -> Any | None:
        """The VM's entry in running, as a binding (None: no such VM)."""
        return self._read(VM, "vms", "vm", name, hvd_vm)

    def network(self, name: str) -> Any | None:
        """The network's entry in running, as a binding (None: no such network)."""
        return self._read(NETWORK, "networks", "network", name, hvd_network)

    def _read(self, ns: str, top: str, item: str, name: str, module: type) -> Any | None:
        flt = to_ele(f'<{top} xmlns="{ns}"><{item}><name/></{item}></{top}>')
        flt[0][0].text = name
        data = self.session.get_config(source="running", filter=("subtree", flt)).data
        found = data.find(f"{{{ns}}}{top}")
        if found is None or found.find(f"{{{ns}}}{item}") is None:
            return None
        wrapper = to_ele(f'<{module.__name__.replace("_", "-")} xmlns="{ns}"/>')
        wrapper.append(found)
        obj = pybindIETFXMLDecoder.decode(etree.tostring(wrapper, encoding="unicode"),
                                          hvd_bindings, module.__name__)
        return getattr(getattr(obj, top), item)[name]
