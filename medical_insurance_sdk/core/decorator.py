"""The ``@monitor_api_call`` decorator: each call of a function recorded, sync or async.

The call is timed by a :class:`~medical_insurance_sdk.core.collection.tracking.CallTracker`, so it
ends whatever happens: an exception marks it ``'error'`` (its ``error_code`` attribute or
its class name) and is re-raised unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, overload

from medical_insurance_sdk.core.collection.tracking import CallTracker
from medical_insurance_sdk.core.metrics_collector import MetricsCollector, get_metrics_collector

__all__ = ["monitor_api_call"]

P = ParamSpec("P")
R = TypeVar("R")


def _argument_getter(
    func: Callable[..., Any], name: str
) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    """Build a cheap getter of argument ``name`` (positional or keyword) of ``func``."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        params = []
    position = next(
        (
            i
            for i, p in enumerate(params)
            if p.name == name and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ),
        None,
    )

    def get(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if name in kwargs:
            return kwargs[name]
        if position is not None and position < len(args):
            return args[position]
        return "unknown"

    return get


@overload
def monitor_api_call(
    api_code: str | None = None,
    org_code: str | None = None,
    *,
    collector: MetricsCollector | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
@overload
def monitor_api_call(
    api_code: Callable[P, R], org_code: None = None, *, collector: MetricsCollector | None = None
) -> Callable[P, R]: ...
def monitor_api_call(
    api_code: Any = None,
    org_code: str | None = None,
    *,
    collector: MetricsCollector | None = None,
) -> Any:
    """Decorate a sync or async function so each call is recorded.

    ``api_code``/``org_code`` default to the call's arguments of those names (positional
    or keyword), else ``'unknown'``. ``collector`` defaults to the global collector at
    call time. Works bare (``@monitor_api_call``) or called (``@monitor_api_call(...)``).
    """
    if callable(api_code):
        return monitor_api_call()(api_code)

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        get_api = None if api_code is not None else _argument_getter(func, "api_code")
        get_org = None if org_code is not None else _argument_getter(func, "org_code")

        def resolve(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallTracker:
            target = collector if collector is not None else get_metrics_collector()
            api: Any = api_code if get_api is None else get_api(args, kwargs)
            org: Any = org_code if get_org is None else get_org(args, kwargs)
            return target.track(api, org)

        if inspect.iscoroutinefunction(func):
            afunc: Callable[P, Awaitable[Any]] = func

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                with resolve(args, kwargs):
                    return await afunc(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with resolve(args, kwargs):
                return func(*args, **kwargs)

        return wrapper

    return decorate
