"""hvd: a NETCONF/YANG-native management server for FreeBSD bhyve hosts."""

__version__ = "0.1.0"
