"""Thin adapters that move bytes between sockets and the sans-IO session (Unix socket, SSH)."""
