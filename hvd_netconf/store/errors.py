"""The store's own fault: the /hv tree on disk cannot be trusted as it is."""

from __future__ import annotations

from hvd_netconf.errors import OperationFailed


class StoreError(OperationFailed):
    """A file under the root is unusable; names the file so an operator can fix it by hand.

    A subclass of OperationFailed so that, should it ever reach a session, it renders as an
    ordinary rpc-error instead of crashing the session.
    """

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(f"{file}: {message}" if file else message)
        self.file = file
