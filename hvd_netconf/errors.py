"""NETCONF errors as values: one exception class per RFC 6241 error-tag.

Raised where the fault is found, rendered into <rpc-error> once, at the session edge
(hvd_netconf.wire.messages). Nothing else builds rpc-error XML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from lxml import etree

from hvd_netconf.namespaces import PREFIXES

ERROR_TYPES = ("transport", "rpc", "protocol", "application")

# error-info entries: (local name in the base namespace, text), or a ready lxml element.
InfoItem = tuple[str, str] | etree._Element


class RpcError(Exception):
    """Base class; subclasses fix the error-tag and the default error-type."""

    tag: str = "operation-failed"
    default_type: str = "application"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        error_type: str | None = None,
        app_tag: str | None = None,
        info: Sequence[InfoItem] = (),
        severity: str = "error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.error_type = error_type or self.default_type
        if self.error_type not in ERROR_TYPES:
            raise ValueError(f"bad error-type {self.error_type!r}")
        self.app_tag = app_tag
        self.info: list[InfoItem] = list(info)
        self.severity = severity

    def __repr__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"<{type(self).__name__} {self.tag}{where}: {self.message}>"

    def path_namespaces(self) -> dict[str, str]:
        """The prefixes the error-path uses, so the reply can declare them."""
        if not self.path:
            return {}
        used = set(re.findall(r"([A-Za-z_][\w.-]*):(?!:)", self.path))
        return {p: PREFIXES[p] for p in sorted(used) if p in PREFIXES}


class RpcErrors(Exception):
    """Several errors at once (validation, continue-on-error); rendered as several rpc-errors."""

    def __init__(self, errors: Iterable[RpcError]) -> None:
        self.errors = list(errors)
        if not self.errors:
            raise ValueError("RpcErrors needs at least one error")
        super().__init__("; ".join(e.message for e in self.errors))


class InUse(RpcError):
    tag = "in-use"
    default_type = "protocol"


class InvalidValue(RpcError):
    tag = "invalid-value"
    default_type = "protocol"


class TooBig(RpcError):
    tag = "too-big"
    default_type = "rpc"


class MissingAttribute(RpcError):
    tag = "missing-attribute"
    default_type = "rpc"


class BadAttribute(RpcError):
    tag = "bad-attribute"
    default_type = "protocol"


class UnknownAttribute(RpcError):
    tag = "unknown-attribute"
    default_type = "protocol"


class MissingElement(RpcError):
    tag = "missing-element"
    default_type = "protocol"


class BadElement(RpcError):
    tag = "bad-element"
    default_type = "protocol"


class UnknownElement(RpcError):
    tag = "unknown-element"
    default_type = "protocol"


class UnknownNamespace(RpcError):
    tag = "unknown-namespace"
    default_type = "protocol"


class AccessDenied(RpcError):
    tag = "access-denied"
    default_type = "protocol"


class LockDenied(RpcError):
    tag = "lock-denied"
    default_type = "protocol"

    def __init__(self, message: str, *, holder: int, **kw: object) -> None:
        super().__init__(message, info=[("session-id", str(holder))], **kw)  # type: ignore[arg-type]
        self.holder = holder


class ResourceDenied(RpcError):
    tag = "resource-denied"
    default_type = "application"


class RollbackFailed(RpcError):
    tag = "rollback-failed"
    default_type = "application"


class DataExists(RpcError):
    tag = "data-exists"
    default_type = "application"


class DataMissing(RpcError):
    tag = "data-missing"
    default_type = "application"


class OperationNotSupported(RpcError):
    tag = "operation-not-supported"
    default_type = "protocol"


class OperationFailed(RpcError):
    tag = "operation-failed"
    default_type = "application"


class MalformedMessage(RpcError):
    tag = "malformed-message"
    default_type = "rpc"



def plain_path(path: str) -> str:
    """`/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='x']` -> `/vms/vm[name='x']`, for people."""
    out = []
    for part in re.split(r"('[^']*'|\"[^\"]*\")", path):
        if part[:1] in ("'", '"'):
            out.append(part)
        else:
            out.append(re.sub(r"[A-Za-z_][\w.-]*:(?=[A-Za-z_])", "", part))
    return "".join(out)
