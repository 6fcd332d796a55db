"""A VM's cloud-init NoCloud seed: the files cloud-init reads and the ISO 9660 image holding
them (docs/guests.md, "cloud-init", states the NoCloud facts relied on).

cloud-init's NoCloud source finds a filesystem labelled `cidata` and reads `meta-data`,
`user-data` and `network-config` from its root. The image is built in Python with pycdlib
(docs/guests.md says why), so the host needs no mkisofs; Rock Ridge and Joliet carry the
lower-case names with their hyphens, which plain ISO 9660 names cannot hold.
"""

from __future__ import annotations

import hashlib
import io
import json

import pycdlib

from hvd_netconf.host.specs import VmSpec

LABEL = "cidata"
SEED_FILE = "cidata.iso"  # in the VM's directory, beside config.xml


def seed_path(vm_dir: str) -> str:
    return f"{vm_dir.rstrip('/')}/{SEED_FILE}"


def _yaml(value: object) -> str:
    """A YAML scalar or flow sequence: JSON's double-quoted form, which YAML reads as is."""
    return json.dumps(value)


def _text_file(text: str) -> bytes:
    """A leaf's text as a file: the reader strips the leaf, the file ends with a newline."""
    return (text if text.endswith("\n") else text + "\n").encode()


def files(vm: VmSpec) -> dict[str, bytes]:
    """name -> content of every file of the VM's seed (it must have cloud-init)."""
    ci = vm.cloud_init
    if ci is None:
        raise ValueError(f"VM {vm.name} has no cloud-init")
    hostname = ci.hostname or vm.name.replace("_", "-").replace(".", "-")
    meta = [f"instance-id: {_yaml(ci.instance_id or vm.smbios_uuid)}",
            f"local-hostname: {_yaml(hostname)}"]
    if ci.ssh_keys:
        meta.append(f"public-keys: {_yaml(list(ci.ssh_keys))}")
    out = {"meta-data": ("\n".join(meta) + "\n").encode()}
    if ci.user_data is not None:
        out["user-data"] = _text_file(ci.user_data)
    else:
        user = ["#cloud-config"]
        if ci.password_hash:
            entry = {"name": ci.password_user, "password": ci.password_hash, "type": "hash"}
            user += ["chpasswd:", "  expire: false", f"  users: [{_yaml(entry)}]"]
        out["user-data"] = ("\n".join(user) + "\n").encode()
    if ci.network_config is not None:
        out["network-config"] = _text_file(ci.network_config)
    return out


def digest(content: dict[str, bytes]) -> str:
    """What the seed holds, as one hash: two seeds with the same files boot the same."""
    h = hashlib.sha256()
    for name in sorted(content):
        h.update(name.encode() + b"\0" + hashlib.sha256(content[name]).digest())
    return h.hexdigest()


def seed_iso(content: dict[str, bytes]) -> bytes:
    """An ISO 9660 image labelled cidata holding these files at its root."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=LABEL, joliet=3, rock_ridge="1.09")
    for name, data in sorted(content.items()):
        plain = name.upper().replace("-", "_")  # ISO 9660 names: A-Z, 0-9 and _ only
        iso.add_fp(io.BytesIO(data), len(data), f"/{plain}.;1", rr_name=name,
                   joliet_path=f"/{name}")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()
