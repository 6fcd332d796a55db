"""Shared test support: a real hvd in-process (Unix socket + SSH) and a raw framing client."""
