"""The <config> builders of support.configs as the `cfg` fixture."""

from support.configs import cfg

__all__ = ["cfg"]
