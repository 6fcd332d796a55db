"""The host: pure argv builders (zfs, ifconfig, names) and the backends that run them."""
