"""Drive a remote hvd with ncclient: `up` creates a network and a VM with a confirmed commit,
starts the VM and prints its state; `down` stops the VM and removes both.

    python3 ncclient_remote.py HOST [PORT] up|down

Logs in as `ops` with ~/.ssh/id_ed25519 and checks HOST's key against ~/.ssh/known_hosts.
"""

import os
import sys

from lxml import etree
from ncclient import manager

VM_NS = "urn:hvd:vm"
CONFIG = """<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <networks xmlns="urn:hvd:network"><network><name>lan</name></network></networks>
  <vms xmlns="urn:hvd:vm">
    <vm>
      <name>web</name>
      <memory>1024</memory>
      <disk><name>d0</name><size>10G</size></disk>
      <nic><name>nic0</name><network>lan</network></nic>
    </vm>
  </vms>
</config>"""
REMOVE = """<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"
        xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">
  <vms xmlns="urn:hvd:vm"><vm nc:operation="remove"><name>web</name></vm></vms>
  <networks xmlns="urn:hvd:network">
    <network nc:operation="remove"><name>lan</name></network>
  </networks>
</config>"""


def vm_rpc(m, name, vm):
    """hvd-vm's start-vm / stop-vm."""
    rpc = etree.Element(f"{{{VM_NS}}}{name}")
    etree.SubElement(rpc, f"{{{VM_NS}}}name").text = vm
    m.dispatch(rpc)


def status(m, vm):
    state = f'<vms xmlns="{VM_NS}"><vm><name>{vm}</name><state/></vm></vms>'
    reply = m.get(filter=("subtree", state))
    return reply.data_ele.findtext(".//{urn:hvd:vm}status")


def up(m):
    with m.locked("candidate"):
        m.edit_config(CONFIG, target="candidate")
        # Confirmed commit: hvd reverts by itself unless confirmed within 60 s, so a change
        # that cuts this client off the host undoes itself.
        m.commit(confirmed=True, timeout="60")
        m.commit()
    vm_rpc(m, "start-vm", "web")
    print("web is", status(m, "web"))


def down(m):
    vm_rpc(m, "stop-vm", "web")
    with m.locked("candidate"):
        m.edit_config(REMOVE, target="candidate")
        m.commit()
    print("web is", status(m, "web") or "gone")


def main(argv):
    host, port, action = argv[0], int(argv[1]) if len(argv) > 2 else 830, argv[-1]
    with manager.connect(host=host, port=port, username="ops",
                         key_filename=os.path.expanduser("~/.ssh/id_ed25519"),
                         hostkey_verify=True, look_for_keys=False, allow_agent=False,
                         timeout=60) as m:
        {"up": up, "down": down}[action](m)


if __name__ == "__main__":
    main(sys.argv[1:])
