"""A HostApplier for tests that swaps the host side of a commit for a function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Apply = Callable[[Any, Any, Sequence[tuple[str, str]]], Callable[[], None]]


class HostSpy:
    """Runs `apply(old_root, new_root, keys)` as the host apply; counts settled() calls."""

    def __init__(self, apply: Apply) -> None:
        self._apply = apply
        self.settled_count = 0

    def apply(self, old_root: Any, new_root: Any,
              keys: Sequence[tuple[str, str]]) -> Callable[[], None]:
        return self._apply(old_root, new_root, keys)

    def settled(self) -> None:
        self.settled_count += 1
