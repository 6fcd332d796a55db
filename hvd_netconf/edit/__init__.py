"""The pure edit-config engine and the entry-level diff that commit, compare and history use."""

from hvd_netconf.edit.engine import ALL, EditResult, EntryKey, edit_config, entry_key

__all__ = ["ALL", "EditResult", "EntryKey", "edit_config", "entry_key"]
