"""Ansible's RESTCONF modules (ansible.netcommon restconf_config, restconf_get over the
httpapi connection with network_os restconf) against a real hvd's HTTPS listener.

The VM Ansible creates is then read back over NETCONF on the Unix socket, and the commit
history names the RESTCONF user and transport.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from e2e.helpers import wait_for
from interop.remote import PASSWORD, USER, ClientHome, RemoteHvd, free_port, run_tool
from interop.test_ansible import recap
from lxml import etree

from hvd_netconf.namespaces import VM
from hvd_netconf.restconf.listener import self_signed

pytestmark = pytest.mark.interop

PLAYBOOK = """\
- hosts: hvd
  gather_facts: false
  tasks:
    - name: create the VM web
      ansible.netcommon.restconf_config:
        path: /data/hvd-vm:vms
        method: post
        content: |
          {"hvd-vm:vm": [{"name": "web", "memory": 256,
                          "description": "made by Ansible over RESTCONF"}]}
    - name: read it back
      ansible.netcommon.restconf_get:
        path: /data/hvd-vm:vms/vm=web
      register: got
    - name: keep the reply for the test
      ansible.builtin.copy:
        content: "{{ got.response | to_json }}"
        dest: "{{ reply_file }}"
      delegate_to: localhost
      changed_when: false
      vars:
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


def restconf_port(hvd: RemoteHvd, home: ClientHome) -> int:
    """Relaunch `hvd` with RESTCONF on a free loopback port and a self-signed certificate."""
    cert, key = hvd.root.parent / "rc-cert.pem", hvd.root.parent / "rc-key.pem"
    self_signed(cert, key)
    port = free_port()
    conf = hvd.root.parent / "hvd.conf"
    conf.write_text(f'restconf-listen = ["127.0.0.1:{port}"]\n'
                    f'restconf-cert = "{cert}"\nrestconf-key = "{key}"\n')
    hvd.stop()
    hvd.extra_args = ["--config", str(conf)]
    hvd.launch()
    assert hvd.wait_listening()

    def accepts() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_for(accepts, 30, "RESTCONF to listen")
    return port


def test_ansible_restconf_config_and_get(remote_hvd: RemoteHvd, client_home: ClientHome
                                         ) -> None:
    port = restconf_port(remote_hvd, client_home)
    inventory = client_home.path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"hvd": {
        "ansible_host": "127.0.0.1", "ansible_user": USER, "ansible_password": PASSWORD,
        "ansible_connection": "ansible.netcommon.httpapi",
        "ansible_network_os": "ansible.netcommon.restconf",
        "ansible_httpapi_use_ssl": True, "ansible_httpapi_validate_certs": False,
        "ansible_httpapi_port": port}}}}))
    book = client_home.path / "restconf.yml"
    book.write_text(PLAYBOOK)
    reply = client_home.path / "reply.json"
    p = run_tool([str(Path(client_home.env()["PATH"].split(":")[0]) / "ansible-playbook"),
                  "-i", str(inventory), "-e", f"reply_file={reply}", str(book)], client_home,
                 env=client_home.env(ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ok=3 changed=1 unreachable=0 failed=0" in recap(p.stdout)["hvd"], p.stdout
    got = json.loads(reply.read_text())
    [vm] = got["hvd-vm:vm"]
    assert vm["name"] == "web" and vm["memory"] == 256, got
    assert vm["description"] == "made by Ansible over RESTCONF", got

    data = etree.fromstring(remote_hvd.uds().get_config("running").xml.encode())
    [web] = data.iterfind(f".//{{{VM}}}vm")
    assert web.findtext(f"{{{VM}}}name") == "web"
    assert web.findtext(f"{{{VM}}}memory") == "256"
    [commit] = remote_hvd.history()
    assert commit["user"] == USER and commit["transport"] == "restconf-https", commit
    assert commit["changes"] == [("vm", "web", "create")]

