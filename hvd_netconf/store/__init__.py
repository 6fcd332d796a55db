"""The /hv tree on disk and the datastores in memory (running, candidate, history).

See Datastores for the life cycle; atomic_write is the durable single-file writer for
anything else hvd keeps under its root.
"""

from hvd_netconf.keys import KINDS, Key, check_name, entry_file, key_of
from hvd_netconf.store.codec import parse_entry, serialize_entry
from hvd_netconf.store.datastore import Datastore
from hvd_netconf.store.datastores import Changes, Datastores
from hvd_netconf.store.errors import StoreError
from hvd_netconf.store.fileio import atomic_write, fsync_dir, remove_file
from hvd_netconf.store.history import SOURCES, Change, CommitMeta, History, HistoryRecord

__all__ = [
    "KINDS", "SOURCES", "Change", "Changes", "CommitMeta", "Datastore", "Datastores",
    "History", "HistoryRecord", "Key", "StoreError", "atomic_write", "check_name",
    "entry_file", "fsync_dir", "key_of", "parse_entry", "remove_file", "serialize_entry",
]
