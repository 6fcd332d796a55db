"""vm-bhyve's configuration translated into hvd's configuration (docs/vm-bhyve-import.md).

vm-bhyve keeps each guest in $vm_dir/NAME/NAME.conf and its switches in
$vm_dir/.config/system.conf (releases before 1.4: $vm_dir/.config/switch), rc-style
`key="value"` lines, read here as vm-bhyve reads them: a line counts only when its key starts
it, and `#` starts a comment even inside quotes. Its disks are adopted where they are: a zvol
below the guest's dataset as an existing device, an image file as an existing image; hvd
never creates, grows or destroys either. What has no hvd equivalent is listed, never guessed.

Pure: it reads the files below the directory it is given and returns XML entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from hvd_netconf.errors import RpcError
from hvd_netconf.keys import check_name
from hvd_netconf.namespaces import NETWORK, VM, default_ns, qn

_LINE = re.compile(r'([a-z][a-z0-9_]*)=(?:"([^"#]*)"?|([^\s#]*))')
_TRUE = ("yes", "on", "true", "1")
LOADERS = {"bhyveload": "bhyveload", "grub": "grub", "uefi": "uefi"}
DISK_TYPES = ("virtio-blk", "ahci-hd", "nvme")
NIC_TYPES = ("virtio-net", "e1000")
# vm-bhyve keys that say nothing hvd must keep: its own logging, and the legacy guest type
# once a loader is set
QUIET = ("debug", "guest", "loader_timeout")


@dataclass(frozen=True)
class Untranslated:
    entry: str  # "vm web", "switch public"
    key: str
    value: str
    reason: str


@dataclass
class Translation:
    vms: list[etree._Element] = field(default_factory=list)
    networks: list[etree._Element] = field(default_factory=list)
    untranslated: list[Untranslated] = field(default_factory=list)


def parse_rc(text: str) -> dict[str, str]:
    """The `key="value"` settings of an rc-style file (the last of a repeated key wins)."""
    out = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is not None:
            out[m.group(1)] = (m.group(2) if m.group(2) is not None else m.group(3)).strip()
    return out


def _el(parent: etree._Element, ns: str, name: str, text: object | None = None
        ) -> etree._Element:
    child = etree.SubElement(parent, qn(ns, name))
    if text is not None:
        child.text = str(text)
    return child


def _megabytes(text: str) -> int | None:
    """bhyve -m's size: megabytes without a suffix (bhyve(8)), else K, M, G or T."""
    m = re.fullmatch(r"([0-9]+)([KkMmGgTt]?)", text)
    if m is None:
        return None
    n, unit = int(m.group(1)), m.group(2).upper()
    return {"": n, "M": n, "K": n // 1024, "G": n << 10, "T": n << 20}[unit]


def _valid(kind: str, name: str) -> str | None:
    """Why hvd's model refuses the name (None: it takes it)."""
    try:
        check_name((kind, name))
    except RpcError as e:
        return e.message
    return None


class _Vm:
    """One guest's translation: the settings consumed and the entry built."""

    def __init__(self, name: str, conf: dict[str, str], out: Translation) -> None:
        self.name, self.conf, self.out = name, conf, out
        self.used: set[str] = set(QUIET) & set(conf)

    def take(self, key: str) -> str | None:
        value = self.conf.get(key)
        if value is not None:
            self.used.add(key)
        return value or None

    def skip(self, key: str, reason: str) -> None:
        self.used.add(key)
        self.out.untranslated.append(
            Untranslated(f"vm {self.name}", key, self.conf.get(key, ""), reason))

    def leftovers(self) -> None:
        for key in sorted(set(self.conf) - self.used):
            if self.conf[key]:
                self.out.untranslated.append(Untranslated(
                    f"vm {self.name}", key, self.conf[key], "no hvd equivalent"))


def _loader(vm: _Vm) -> str | None:
    loader = vm.take("loader")
    if loader is None:  # before vm-bhyve 1.1: uefi=yes, or a guest type with its loader
        uefi, guest = vm.take("uefi"), vm.take("guest")
        if uefi is not None and uefi.lower() in _TRUE:
            return "uefi"
        return {"freebsd": "bhyveload"}.get(guest or "", "grub" if guest else None)
    return LOADERS.get(loader)


def _translate_vm(vm: _Vm, vm_dir: Path, dataset: str | None,
                  networks: set[str]) -> etree._Element | None:
    loader = _loader(vm)
    if loader is None:
        vm.skip("loader", "hvd boots with bhyveload, grub-bhyve or UEFI without CSM only; "
                          "the VM is not imported")
        return None
    el = etree.Element(qn(VM, "vm"), nsmap=default_ns(VM))
    _el(el, VM, "name", vm.name)
    cpu = vm.take("cpu")
    if cpu is not None:
        _el(el, VM, "cpu", cpu)
    topology = [vm.take(f"cpu_{k}") for k in ("sockets", "cores", "threads")]
    if any(topology):
        top = _el(el, VM, "cpu-topology")
        for key, value in zip(("sockets", "cores", "threads"), topology, strict=True):
            _el(top, VM, key, value or "1")
    memory = vm.take("memory")
    if memory is not None:
        mb = _megabytes(memory)
        if mb is None:
            vm.skip("memory", "not a size hvd reads (a number with K, M, G or T)")
        else:
            _el(el, VM, "memory", mb)
    for key, leaf in (("wired_memory", "memory-wired"), ("virt_random", "virtio-rnd"),
                      ("ignore_bad_msr", "ignore-unknown-msr")):
        value = vm.take(key)
        if value is not None:
            _el(el, VM, leaf, "true" if value.lower() in _TRUE else "false")
    utc = vm.take("utctime")  # vm-bhyve 1.2 and later: yes unless said otherwise
    _el(el, VM, "utc-clock", "false" if utc is not None and utc.lower() not in _TRUE else "true")
    options = vm.take("bhyve_options")
    if options is not None:
        for word in options.split():
            _el(el, VM, "bhyve-option", word)
    uuid = vm.take("uuid")
    if uuid is not None:
        _el(el, VM, "uuid", uuid.lower())
    n = 0
    while (device := vm.take(f"passthru{n}")) is not None:
        _el(_el(el, VM, "passthru"), VM, "device", device)
        n += 1
    pcpu = vm.take("limit_pcpu")
    if pcpu is not None:
        _el(_el(el, VM, "limits"), VM, "cpu-percent", pcpu)
    for key in ("limit_rbps", "limit_wbps", "limit_riops", "limit_wiops"):
        if vm.conf.get(key):
            vm.skip(key, "racct does not count a guest's I/O on ZFS, so hvd has no I/O limit "
                         "(docs/limits.md)")
    loader_el = _el(el, VM, "loader")
    _el(loader_el, VM, "type", loader)
    whole = _disks(vm, el, vm_dir, dataset)
    _nics(vm, el, networks)
    vm.leftovers()
    if not whole:  # a VM without one of its disks would boot something else, or nothing
        vm.skip("name", "a disk of this VM cannot be adopted (above): the VM is not imported")
        return None
    return el


def _disks(vm: _Vm, el: etree._Element, vm_dir: Path, dataset: str | None) -> bool:
    """The VM's disks into el; False when one of them cannot be adopted."""
    n, whole = 0, True
    while f"disk{n}_name" in vm.conf or f"disk{n}_type" in vm.conf:
        key = f"disk{n}"
        kind, name = vm.take(f"{key}_type") or "virtio-blk", vm.take(f"{key}_name") or ""
        dev = vm.take(f"{key}_dev") or "file"
        n += 1
        if kind not in DISK_TYPES:
            vm.skip(f"{key}_type", f"hvd's disks are {', '.join(DISK_TYPES)} (an install "
                                   "ISO: hv install)")
            whole = False
            continue
        if dev in ("zvol", "sparse-zvol"):
            if dataset is None:
                vm.skip(f"{key}_dev", "a zvol below the guest's dataset: give the dataset of "
                                      "the vm-bhyve directory to adopt it")
                whole = False
                continue
            source = ("device", f"/dev/zvol/{dataset}/{vm.name}/{name}")
        elif dev == "file":
            source = ("image", str(vm_dir / vm.name / name))
        elif dev == "custom":
            source = ("device" if name.startswith("/dev/") else "image", name)
        else:
            vm.skip(f"{key}_dev", f"a {dev} disk has no hvd equivalent yet")
            whole = False
            continue
        disk = _el(el, VM, "disk")
        _el(disk, VM, "name", key)
        _el(disk, VM, "emulation", kind)
        _el(disk, VM, *source)
        opts = vm.take(f"{key}_opts")
        if opts is not None:
            vm.skip(f"{key}_opts", "disk options are not translated; the disk is imported "
                                   "without them")
    return whole


def _nics(vm: _Vm, el: etree._Element, networks: set[str]) -> None:
    n = 0
    while f"network{n}_type" in vm.conf or f"network{n}_switch" in vm.conf:
        key = f"network{n}"
        kind = vm.take(f"{key}_type") or "virtio-net"
        switch, mac = vm.take(f"{key}_switch"), vm.take(f"{key}_mac")
        n += 1
        if vm.take(f"{key}_device") is not None:
            vm.skip(f"{key}_device", "an existing interface instead of a tap: hvd makes its "
                                     "own taps; the NIC is not imported")
            continue
        if kind not in NIC_TYPES or switch not in networks:
            vm.skip(f"{key}_switch" if kind in NIC_TYPES else f"{key}_type",
                    f"switch {switch!r} is not imported" if kind in NIC_TYPES else
                    f"hvd's NICs are {', '.join(NIC_TYPES)}; the NIC is not imported")
            continue
        nic = _el(el, VM, "nic")
        _el(nic, VM, "name", f"nic{n - 1}")
        _el(nic, VM, "network", switch)
        _el(nic, VM, "emulation", kind)
        if mac is not None:
            _el(nic, VM, "mac", mac.lower())


def _switches(conf: dict[str, str], out: Translation) -> set[str]:
    names = set()
    for switch in (conf.get("switch_list") or "").split():
        entry = f"switch {switch}"
        why = _valid("network", switch)
        kind = conf.get(f"type_{switch}", "standard") or "standard"
        if why is not None or kind != "standard":
            out.untranslated.append(Untranslated(
                entry, f"type_{switch}", kind, why or f"a {kind} switch has no hvd "
                                                      "equivalent; it is not imported"))
            continue
        net = etree.Element(qn(NETWORK, "network"), nsmap=default_ns(NETWORK))
        _el(net, NETWORK, "name", switch)
        ports = (conf.get(f"ports_{switch}") or "").split()
        if ports:
            _el(net, NETWORK, "physical-interface", ports[0])
        for extra in ports[1:]:
            out.untranslated.append(Untranslated(
                entry, f"ports_{switch}", extra, "hvd bridges one uplink per network"))
        for key, leaf in (("vlan", "vlan"), ("mtu", "mtu")):
            if conf.get(f"{key}_{switch}"):
                _el(net, NETWORK, leaf, conf[f"{key}_{switch}"])
        for address in (conf.get(f"addr_{switch}") or "").split():
            _el(net, NETWORK, "address", address)
        for key in ("nat", "private"):
            if conf.get(f"{key}_{switch}"):
                out.untranslated.append(Untranslated(entry, f"{key}_{switch}",
                                                     conf[f"{key}_{switch}"],
                                                     "not translated: set it on the network"))
        out.networks.append(net)
        names.add(switch)
    return names


def translate(vm_dir: Path, dataset: str | None = None) -> Translation:
    """The guests and switches of the vm-bhyve directory vm_dir; dataset: its ZFS dataset,
    which zvol disks live below (None: zvol disks are not adopted)."""
    out = Translation()
    conf: dict[str, str] = {}
    for name in ("switch", "system.conf"):
        path = vm_dir / ".config" / name
        if path.is_file():
            conf.update(parse_rc(path.read_text(errors="replace")))
    networks = _switches(conf, out)
    for guest in sorted(p for p in vm_dir.iterdir() if p.is_dir() and not
                        p.name.startswith(".")):
        path = guest / f"{guest.name}.conf"
        if not path.is_file():
            continue
        why = _valid("vm", guest.name)
        if why is not None:
            out.untranslated.append(Untranslated(f"vm {guest.name}", "name", guest.name, why))
            continue
        el = _translate_vm(_Vm(guest.name, parse_rc(path.read_text(errors="replace")), out),
                           vm_dir, dataset, networks)
        if el is not None:
            out.vms.append(el)
    return out
