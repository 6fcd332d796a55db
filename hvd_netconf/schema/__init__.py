"""The YANG schema hvd serves: loader, compiled nodes, validator."""

from hvd_netconf.schema.loader import SchemaLoadError, default_yang_dir, load_schema
from hvd_netconf.schema.nodes import Module, Schema, SchemaNode
from hvd_netconf.schema.paths import instance_path, key_predicate
from hvd_netconf.schema.types import YangType

__all__ = [
    "Module", "Schema", "SchemaLoadError", "SchemaNode", "YangType", "default_yang_dir",
    "instance_path", "key_predicate", "load_schema",
]
