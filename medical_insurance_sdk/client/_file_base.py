"""The file-transfer layer both clients share (9101 文件上传, 9102 文件下载).

:class:`FileClientBase` adds to :class:`~medical_insurance_sdk.client._base.ClientBase`
what ``upload_file`` and ``download_file`` need besides the HTTP exchange: the requests'
inputs, the checks made before sending (each recorded as a VALIDATION failure like any
other call), reading the file to upload, where a download goes, and the outcome of an
answer. The only I/O here is local: reading a file to upload and checking a download's
folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medical_insurance_sdk.client._base import CallState, ClientBase
from medical_insurance_sdk.client._transfer import DownloadSink, ResponseReader
from medical_insurance_sdk.client.files import (
    DOWNLOAD_CODE,
    UPLOAD_CODE,
    content_problem,
    download_input,
    filename_problem,
    upload_input,
)
from medical_insurance_sdk.exceptions import ResponseParseError, ValidationError
from medical_insurance_sdk.protocol.catalog import Interface

__all__ = ["FileClientBase", "UploadSource"]

#: What ``upload_file`` accepts: the file's bytes, or its path.
UploadSource = bytes | bytearray | memoryview | str | os.PathLike[str]


class FileClientBase(ClientBase):
    """The network-free part of file transfer, shared by the sync and async clients."""

    def _file_org(self, overrides: Mapping[str, Any]) -> str:
        return str(overrides.get("fixmedins_code") or self.org_code)

    def _upload_request(
        self, file: UploadSource, filename: str | None, overrides: Mapping[str, Any]
    ) -> tuple[Interface, dict[str, Any], str, bytes | Path]:
        """The 9101 entry, its input, the filename and the content (or the path to read)."""
        source: bytes | Path
        if isinstance(file, bytes | bytearray | memoryview):
            name, source = filename or "", bytes(file)
        else:
            source = Path(file)
            name = source.name if filename is None else filename
        interface = self.interface(UPLOAD_CODE)
        return interface, upload_input(name, self._file_org(overrides)), name, source

    def _read_upload(self, path: Path) -> bytes:
        """At most ``max_upload_bytes + 1`` bytes of ``path``: enough to see it is too big."""
        with path.open("rb") as handle:
            return handle.read(self.max_upload_bytes + 1)

    def _refuse(
        self,
        interface: Interface,
        input_data: Mapping[str, Any],
        overrides: Mapping[str, Any],
        message: str,
        field: str,
    ) -> ValidationError:
        """A validation failure found outside the envelope, recorded like any other.

        The call is begun (so it is monitored, traced and logged with error code
        VALIDATION, and a bad envelope still raises its own error) and failed at once.
        """
        state = self._begin(interface, input_data, overrides)
        error = ValidationError(
            message,
            field=field,
            api_code=interface.code,
            msgid=state.msgid,
            trace_id=state.trace.trace_id,
        )
        self._fail(state, error)
        return error

    def _unreadable(
        self,
        interface: Interface,
        input_data: Mapping[str, Any],
        overrides: Mapping[str, Any],
        exc: OSError,
    ) -> ValidationError:
        message = f"无法读取上传文件 ({type(exc).__name__})"
        return self._refuse(interface, input_data, overrides, message, "file")

    def _check_upload(
        self,
        interface: Interface,
        input_data: Mapping[str, Any],
        overrides: Mapping[str, Any],
        content: bytes,
    ) -> None:
        problem = content_problem(len(content), self.max_upload_bytes)
        if problem is not None:
            raise self._refuse(interface, input_data, overrides, problem, "file")

    def _download_request(
        self,
        file_qury_no: str,
        filename: str,
        dest: str | os.PathLike[str] | None,
        overrides: Mapping[str, Any],
    ) -> tuple[Interface, dict[str, Any], DownloadSink]:
        """The 9102 entry, its input and where the file goes (``dest``: a file or a folder).

        A folder receives the file under ``filename``; the folder must exist.
        """
        interface = self.interface(DOWNLOAD_CODE)
        input_data = download_input(file_qury_no, filename, self._file_org(overrides))
        if dest is None:
            return interface, input_data, DownloadSink()
        target = Path(dest)
        if target.is_dir():
            problem = filename_problem(filename)
            if problem is not None:
                raise self._refuse(interface, input_data, overrides, problem, "filename")
            target = target / filename
        if not target.parent.is_dir():
            raise self._refuse(interface, input_data, overrides, "下载保存目录不存在", "dest")
        return interface, input_data, DownloadSink(target)

    def _reader(
        self, state: CallState, status: int, headers: Mapping[str, str], sink: DownloadSink
    ) -> ResponseReader:
        return ResponseReader(
            state,
            status,
            headers,
            max_response_bytes=self.max_response_bytes,
            max_download_bytes=self.max_download_bytes,
            sink=sink,
        )

    def _download_outcome(
        self, state: CallState, status: int, body: bytes | None
    ) -> dict[str, Any]:
        """The file's size once it is committed, or the answering envelope's error."""
        state.status_code = status
        if body is None:
            return {"size": state.response_size}
        self._outcome(state, status, body)  # raises the envelope's error, if any
        raise ResponseParseError(
            "文件下载未返回文件内容（收到成功的JSON报文）",
            api_code=state.interface.code,
            msgid=state.msgid,
            trace_id=state.trace.trace_id,
        )
