"""NETCONF operations, one module per family; daemon.operations() lists their handlers."""
