"""The startup datastore (RFC 6241 §8.7): the configuration hvd may boot from, saved only
when a client copies to it. One file, ROOT/.hvd/startup.xml, written all or nothing
(atomic_write) so a crash leaves the old or the new copy; absent when never saved or
deleted."""

from __future__ import annotations

import os

from lxml import etree

from hvd_netconf.store.codec import compact
from hvd_netconf.store.datastore import new_config_root
from hvd_netconf.store.fileio import atomic_write, remove_file
from hvd_netconf.store.wal import STATE_DIR
from hvd_netconf.xmlparse import DEFAULT_LIMITS, XmlLimits, parse_file

FILE = "startup.xml"


class Startup:
    def __init__(self, root: str | os.PathLike[str], limits: XmlLimits = DEFAULT_LIMITS) -> None:
        self.path = os.path.join(root, STATE_DIR, FILE)
        self.limits = limits

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def load(self) -> etree._Element:
        """The saved `<config>`; an empty one when startup was never saved or was deleted."""
        if not self.exists():
            return new_config_root()
        return parse_file(self.path, self.limits)

    def save(self, config: etree._Element) -> None:
        atomic_write(self.path, compact(config))

    def delete(self) -> bool:
        """Remove the saved copy; False when there was none."""
        return remove_file(self.path)
