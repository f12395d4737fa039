"""``collector.track(...)`` and the ``@monitor_api_call`` decorator.

Both end the call whatever happens: an exception marks it ``'error'`` with
``error_code`` = the exception's ``error_code`` attribute (our SDK exceptions carry a
stable one) or its class name, and is re-raised unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

if TYPE_CHECKING:
    from medical_insurance_sdk.core.metrics_collector import MetricsCollector

__all__ = ["CallTracker", "error_code_of", "monitor_api_call"]

P = ParamSpec("P")
R = TypeVar("R")


def error_code_of(exc: BaseException) -> str:
    """The stable error code of an exception: ``exc.error_code`` or the class name."""
    code = getattr(exc, "error_code", None)
    return code if isinstance(code, str) and code else type(exc).__name__


class CallTracker:
    """One monitored call, as a context manager. Set sizes or ``fail()`` inside the block."""

    __slots__ = (
        "_call_id",
        "_collector",
        "api_code",
        "connection_type",
        "error_code",
        "error_message",
        "org_code",
        "request_size",
        "response_size",
        "status",
        "trace_id",
    )

    def __init__(
        self,
        collector: MetricsCollector,
        api_code: str,
        org_code: str,
        request_size: int = 0,
        trace_id: str | None = None,
        connection_type: str | None = None,
    ) -> None:
        self._collector = collector
        self.connection_type = connection_type
        self._call_id = 0
        self.api_code = api_code
        self.org_code = org_code
        self.request_size = request_size
        self.response_size = 0
        self.trace_id = trace_id
        self.status = "success"
        self.error_code: str | None = None
        self.error_message: str | None = None

    def fail(self, error_code: str, error_message: str | None = None) -> None:
        """Mark the call as failed without raising."""
        self.status = "error"
        self.error_code = error_code
        self.error_message = error_message

    def __enter__(self) -> CallTracker:
        self._call_id = self._collector.record_api_call_start(
            self.api_code, self.org_code, self.request_size, self.trace_id, self.connection_type
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.status = "error"
            if self.error_code is None:
                self.error_code = error_code_of(exc)
            if self.error_message is None:
                self.error_message = str(exc)
        self._collector.record_api_call_end(
            self._call_id,
            self.status,
            self.error_code,
            self.error_message,
            self.response_size,
            self.request_size,
        )

    async def __aenter__(self) -> CallTracker:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


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
            from medical_insurance_sdk.core.metrics_collector import get_metrics_collector

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
