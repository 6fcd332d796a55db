"""NETCONF access control (RFC 8341): the rule model, a pure evaluator and the server hooks.

    cfg = parse_config(nacm_element)            # or hvd_default("wheel")
    ev = Evaluator(cfg)
    ev.rpc_allowed(subject, ns, name)           # protocol operations (exec)
    ev.data_allowed(subject, steps, "update")   # data nodes (create/read/update/delete)
    ev.filter_read(subject, data_root)          # silently drop what may not be read

`Nacm` (hvd_netconf.nacm.access) holds the live configuration and counters for a server.
"""

from hvd_netconf.nacm.evaluate import Evaluator, Subject
from hvd_netconf.nacm.model import (
    NacmConfig,
    Rule,
    RuleList,
    Step,
    hvd_default,
    parse_config,
    parse_path,
    to_xml,
)

__all__ = [
    "Evaluator",
    "NacmConfig",
    "Rule",
    "RuleList",
    "Step",
    "Subject",
    "hvd_default",
    "parse_config",
    "parse_path",
    "to_xml",
]
