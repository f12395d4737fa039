"""``collector.track(...)``: one monitored call as a context manager.

It ends the call whatever happens (so does ``@monitor_api_call``, ``core/decorator.py``, which
uses it): an exception marks it ``'error'`` with
``error_code`` = the exception's ``error_code`` attribute (our SDK exceptions carry a
stable one) or its class name, and is re-raised unchanged.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

__all__ = ["CallRecorder", "CallTracker", "error_code_of"]


class CallRecorder(Protocol):
    """What a :class:`CallTracker` (and the SDK client) needs to time one call."""

    def record_api_call_start(
        self,
        api_code: str,
        org_code: str,
        request_size: int = 0,
        trace_id: str | None = None,
        connection_type: str | None = None,
    ) -> int:
        """Start timing one call; its id for :meth:`record_api_call_end`."""
        ...

    def record_api_call_end(
        self,
        call_id: int,
        status: str,
        error_code: str | None = None,
        error_message: str | None = None,
        response_size: int = 0,
        request_size: int | None = None,
    ) -> None:
        """End a started call; ``request_size``, when given, replaces the start's.

        The SDK client always gives it (a 9101 upload's size is known only after the
        start). A collector written to the older signature, without it, is called without
        it (see ``client.monitoring.recording_path``).
        """
        ...


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
        collector: CallRecorder,
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
