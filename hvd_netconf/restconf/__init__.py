"""RESTCONF (RFC 8040) over HTTPS: requests become the same <rpc>s a NETCONF session sends."""
