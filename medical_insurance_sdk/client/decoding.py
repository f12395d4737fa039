"""Content-Encoding of an answer, decoded in bounded pieces (gzip, deflate, identity).

httpx decodes a compressed answer one network chunk at a time, and one 64 KiB chunk of
a gzip bomb inflates to about 64 MiB at once: a size limit checked on the decoded chunks
comes too late. The clients read the raw bytes instead and inflate them here, at most
:data:`PIECE` bytes per step, counting as they go: decoding stops with
:class:`BodyTooLarge` as soon as the total passes the limit, so an answer never costs
more than the limit plus one piece of memory. The clients ask only for what this module
decodes (:data:`ACCEPT_ENCODING`); any other encoding is refused (``ValueError``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

__all__ = [
    "ACCEPT_ENCODING",
    "IDENTITY",
    "PIECE",
    "BodyDecodeError",
    "BodyDecoder",
    "BodyTooLarge",
]

#: The ``Accept-Encoding`` the clients send: only what :class:`BodyDecoder` bounds.
ACCEPT_ENCODING = "gzip, deflate"
#: Largest piece inflated at once (bytes).
PIECE = 64 * 1024

_GZIP, _DEFLATE = "gzip", "deflate"


class BodyTooLarge(Exception):
    """The decoded body passed the decoder's limit (the client raises its own error)."""


class BodyDecodeError(ValueError):
    """The compressed body is corrupt (the client raises its own error)."""


class BodyDecoder:
    """Decodes one answer's body; :meth:`decode` each raw chunk, then :meth:`flush`.

    ``identity`` answers pass through unchanged (the caller counts them); compressed
    ones are inflated piecewise and counted here against ``limit``.
    """

    __slots__ = ("_first", "_kind", "_limit", "_size", "_zlib", "identity")

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        names = [
            name.strip().lower()
            for name in (content_encoding or "").split(",")
            if name.strip() and name.strip().lower() != "identity"
        ]
        self._limit = limit
        self._size = 0
        self._first = True
        self._kind = ""
        self._zlib: zlib._Decompress | None = None
        #: True when the body is not encoded at all.
        self.identity = not names
        if self.identity:
            return
        if len(names) != 1 or names[0] not in ("gzip", "x-gzip", "deflate"):
            raise ValueError(f"unsupported content encoding {content_encoding!r}")
        self._kind = _DEFLATE if names[0] == "deflate" else _GZIP
        wbits = zlib.MAX_WBITS | 16 if self._kind == _GZIP else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)

    def decode(self, data: bytes) -> Iterable[bytes]:
        """The decoded pieces of the next raw chunk (each at most :data:`PIECE` bytes),
        inflated one at a time as they are consumed.

        Raises :class:`BodyTooLarge` past the limit, :class:`BodyDecodeError` on corrupt data.
        """
        if self._zlib is None:
            return (data,)
        return self._inflate(data)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        inflater = self._zlib
        assert inflater is not None
        pending = data
        while True:
            try:
                out = inflater.decompress(pending, PIECE)
            except zlib.error as exc:
                if self._first and self._kind == _DEFLATE:  # raw deflate, without zlib header
                    self._first = False
                    inflater = self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise BodyDecodeError(f"corrupt {self._kind} body: {exc}") from exc
            self._first = False
            if out:
                self._size += len(out)
                if self._size > self._limit:
                    raise BodyTooLarge(self._size)
                yield out
            pending = inflater.unconsumed_tail
            if (not pending and len(out) < PIECE) or inflater.eof:
                return

    def flush(self) -> Iterable[bytes]:
        """What is left once the raw body ended (nothing for a complete stream)."""
        if self._zlib is None:
            return ()
        return self._inflate(b"")


#: The decoder of every unencoded answer (it keeps no state).
IDENTITY = BodyDecoder(None, 0)
