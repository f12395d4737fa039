"""Reading a file-transfer answer chunk by chunk: a JSON envelope, or a 9102 file.

Both clients feed the chunks of one HTTP answer to a :class:`ResponseReader`; it bounds
the size, decides (by Content-Type, else by sniffing, :mod:`.files`) whether a 9102 answer
is the file or an envelope, and streams a file into a :class:`DownloadSink`. The clients
own the HTTP exchange and the error translation; this module owns no sockets.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from medical_insurance_sdk.client._base import CallState
from medical_insurance_sdk.client.files import SNIFF_BYTES, declared_envelope, looks_like_file
from medical_insurance_sdk.exceptions import MedicalInsuranceError, ResponseTooLargeError

__all__ = ["DownloadSink", "ResponseReader"]


class DownloadSink:
    """Where a downloaded file goes: memory (``dest`` None) or the file ``dest``.

    A file is written to a temporary file in ``dest``'s directory (mode 0600: the
    platform's files hold personal data) and renamed onto ``dest`` only when complete, so
    a failed or retried download never leaves a partial file behind. :meth:`begin`
    starts over (each attempt), :meth:`commit` publishes, :meth:`discard` cleans up.
    """

    __slots__ = ("_chunks", "_file", "_temp", "dest", "result")

    def __init__(self, dest: Path | None = None) -> None:
        self.dest = dest
        self._chunks: list[bytes] = []
        self._file: BinaryIO | None = None
        self._temp: Path | None = None
        #: The bytes, or ``dest``, once committed.
        self.result: bytes | Path | None = None

    def begin(self) -> None:
        """Start a fresh attempt (dropping what an earlier attempt wrote)."""
        self.discard()
        if self.dest is not None:
            handle, name = tempfile.mkstemp(
                dir=self.dest.parent, prefix=f".{self.dest.name}.", suffix=".part"
            )
            self._temp = Path(name)
            self._file = os.fdopen(handle, "wb")

    def write(self, chunk: bytes) -> None:
        """Append one chunk."""
        if self._file is not None:
            self._file.write(chunk)
        else:
            self._chunks.append(chunk)

    def commit(self) -> None:
        """Publish what was written: join the chunks, or rename the file onto ``dest``."""
        if self._file is None or self._temp is None or self.dest is None:
            self.result, self._chunks = b"".join(self._chunks), []
            return
        self._file.close()
        os.replace(self._temp, self.dest)
        self._file = self._temp = None
        self.result = self.dest

    def discard(self) -> None:
        """Forget an uncommitted attempt (closing and deleting its temporary file)."""
        self._chunks = []
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None


class ResponseReader:
    """Collects one 9102 answer; ``finish()`` gives the envelope body, or None for a file.

    A 200 answer is a file or an envelope as :func:`~.files.declared_envelope` says, or as
    its first :data:`~.files.SNIFF_BYTES` bytes look; any other status is an envelope (an
    error).
    An envelope is bounded by ``max_response_bytes``, a file by ``max_download_bytes``;
    a local write failure raises :class:`~medical_insurance_sdk.exceptions.
    MedicalInsuranceError` (error code ``SDK_ERROR``) from the ``OSError``.
    """

    __slots__ = (
        "_body",
        "_file",
        "_max_download",
        "_max_response",
        "_sink",
        "_size",
        "_state",
    )

    def __init__(
        self,
        state: CallState,
        status: int,
        headers: Mapping[str, str],
        *,
        max_response_bytes: int,
        max_download_bytes: int,
        sink: DownloadSink,
    ) -> None:
        self._state = state
        self._sink = sink
        self._max_response = max_response_bytes
        self._max_download = max_download_bytes
        self._body: list[bytes] = []
        self._size = 0
        declared = None if status == 200 else True
        if declared is None:
            declared = declared_envelope(headers.get("content-type"))
        #: True: a file; False: an envelope; None: not known yet (sniffing).
        self._file: bool | None = None if declared is None else not declared
        if self._file:
            self._start()
        length = headers.get("content-length")
        if length is not None and length.isdigit():
            limit = self._limit()
            if int(length) > limit:
                raise self._too_large(limit)

    @property
    def limit(self) -> int:
        """The most this answer may hold, whatever it turns out to be (bytes)."""
        return max(self._max_download, self._max_response)

    def too_large(self) -> ResponseTooLargeError:
        """The error for an answer found above its limit (e.g. while inflating it)."""
        return self._too_large(self._limit())

    def _limit(self) -> int:
        if self._file is None:
            return max(self._max_download, self._max_response)
        return self._max_download if self._file else self._max_response

    def _too_large(self, limit: int) -> ResponseTooLargeError:
        what = "下载文件" if self._file else "响应"
        return ResponseTooLargeError(
            f"{what}超过大小上限 {limit} 字节",
            limit=limit,
            api_code=self._state.interface.code,
            msgid=self._state.msgid,
            trace_id=self._state.trace.trace_id,
        )

    def _local_failure(self, exc: OSError) -> MedicalInsuranceError:
        return MedicalInsuranceError(
            f"写入下载文件失败 ({type(exc).__name__})",
            api_code=self._state.interface.code,
            msgid=self._state.msgid,
            trace_id=self._state.trace.trace_id,
        )

    def _start(self) -> None:
        try:
            self._sink.begin()
        except OSError as exc:
            raise self._local_failure(exc) from exc

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of the answer."""
        self._size += len(chunk)
        self._state.response_size = self._size
        if self._file is None:
            self._body.append(chunk)
            if self._size >= SNIFF_BYTES:
                self._decide()
            return
        self._take(chunk)

    def _decide(self) -> None:
        head = b"".join(self._body)
        self._body = []
        self._file = looks_like_file(head)
        if self._file:
            self._start()
        self._take(head)

    def _take(self, chunk: bytes) -> None:
        limit = self._limit()
        if self._size > limit:
            raise self._too_large(limit)
        if not self._file:
            self._body.append(chunk)
            return
        try:
            self._sink.write(chunk)
        except OSError as exc:
            raise self._local_failure(exc) from exc

    def finish(self) -> bytes | None:
        """The envelope's body, or None once the file is committed to the sink."""
        if self._file is None:
            self._decide()
        if not self._file:
            return b"".join(self._body)
        try:
            self._sink.commit()
        except OSError as exc:
            raise self._local_failure(exc) from exc
        return None
