"""The sans-IO NETCONF core: framing, messages and the per-session state machine; no sockets."""
