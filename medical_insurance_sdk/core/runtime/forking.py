"""Fork safety: a collector created before ``os.fork()`` keeps working in the child.

Threads do not survive a fork, and a lock held by another thread at that moment would
stay held forever in the child. So, for every live collector:

* before the fork, the locks guarding multi-step state (store, aggregates, pending calls)
  are taken, so the child inherits consistent data; they are released after the fork in
  the parent;
* in the child, every lock of the collector's components is replaced by a fresh one, the
  parent's in-flight calls are forgotten (they belong to the parent's threads), and the
  background threads are started again. The /metrics server is **not** restarted in the
  child (the parent still owns the port); the child's inherited copy of the listening
  socket is closed. The child starts with a copy of the parent's data, as prometheus_client's
  own metrics do; use multiprocess mode for worker pools.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["ForkAware", "register", "renew_locks"]

#: Lock type -> factory (the C lock types cannot be instantiated directly).
_LOCK_FACTORIES: dict[type, Callable[[], Any]] = {
    type(threading.Lock()): threading.Lock,
    type(threading.RLock()): threading.RLock,
}
_LOCK_TYPES = tuple(_LOCK_FACTORIES)
_PACKAGE = __name__.split(".")[0]


class ForkAware(Protocol):
    """What a collector offers the fork hooks."""

    def _fork_prepare(self) -> None: ...
    def _fork_parent(self) -> None: ...
    def _fork_child(self) -> None: ...


_live: weakref.WeakSet[Any] = weakref.WeakSet()
logger = logging.getLogger(__name__)


def register(obj: ForkAware) -> None:
    """Call ``obj``'s fork hooks around every ``os.fork()`` while ``obj`` is alive."""
    _live.add(obj)


def renew_locks(root: object) -> int:
    """Replace every Lock/RLock held by ``root`` or by our objects it refers to.

    Walks attributes (``__dict__`` and ``__slots__``), tuples, lists and dict values,
    descending only into objects of this package; returns how many locks were renewed.
    """
    seen: set[int] = set()
    stack: list[object] = [root]
    renewed = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (tuple, list)):
            stack.extend(obj)
            continue
        if isinstance(obj, dict):
            stack.extend(obj.values())
            continue
        if not type(obj).__module__.startswith(_PACKAGE):
            continue
        names = list(getattr(obj, "__dict__", {}))
        names += [n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ())]
        for name in names:
            value = getattr(obj, name, None)
            if isinstance(value, _LOCK_TYPES):
                setattr(obj, name, _LOCK_FACTORIES[type(value)]())
                renewed += 1
            elif value is not None and not callable(value):
                stack.append(value)
    return renewed


def _each(method: str) -> Callable[[], None]:
    def hook() -> None:
        for obj in list(_live):
            try:
                getattr(obj, method)()
            except Exception:  # a fork hook must not stop the others; say so loudly
                logger.exception("fork hook %s failed for %r", method, obj)

    return hook


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(
        before=_each("_fork_prepare"),
        after_in_parent=_each("_fork_parent"),
        after_in_child=_each("_fork_child"),
    )
