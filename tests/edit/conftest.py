"""Fixtures of the edit tests: the <config> builders (support.configs) and the hand-built
schema of the pure engine tests (support.fake_schema)."""

from support.configs import cfg
from support.fake_schema import fake_schema, mkcfg

__all__ = ["cfg", "fake_schema", "mkcfg"]
