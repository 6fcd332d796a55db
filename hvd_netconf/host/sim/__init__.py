"""The sim backend: a simulated FreeBSD host for Linux, one module per host part it stands in for.

host (SimHost: the Host interface and the command dispatch), state (snapshot, log and flock),
faults (injected failures), zfs, ifconfig, vmm (bhyvectl, the stand-in guests, /dev/vmm),
sysctl, and standin (the process run in place of bhyve). This package imports nothing, so the
stand-in guest starts fast.
"""
