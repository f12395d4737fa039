"""File transfer (9101 文件上传, 9102 文件下载): the I/O-free pieces both clients share.

* 9101 is ``multipart/form-data`` with two parts: ``jsonStr`` (the request envelope's JSON
  text, input ``{"fsUploadIn": {"filename", "fixmedins_code"}}``) and ``file`` (the bytes,
  with their filename). httpx encodes the body (:func:`encode_upload`); the answer is the
  usual JSON envelope whose output holds ``file_qury_no``.
* 9102 is an ordinary envelope (input ``{"fsDownloadIn": {"file_qury_no", "filename",
  "fixmedins_code"}}``). Success is the file itself (``application/octet-stream``); an
  error is the JSON envelope. :func:`is_envelope` tells them apart by Content-Type, and
  sniffs the first bytes when the type says neither.

Nothing here reads files or sockets; messages are in Simplified Chinese and never echo a
filename (it may name a patient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from medical_insurance_sdk.protocol.validation import MAX_FILENAME_CHARS, filename_problem

__all__ = [
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DOWNLOAD_CODE",
    "MAX_FILENAME_CHARS",
    "SNIFF_BYTES",
    "UPLOAD_CODE",
    "EncodedUpload",
    "content_problem",
    "declared_envelope",
    "download_input",
    "encode_upload",
    "filename_problem",
    "is_envelope",
    "looks_like_envelope",
    "looks_like_file",
    "media_type",
    "upload_input",
]

#: Transaction codes of the file interfaces.
UPLOAD_CODE, DOWNLOAD_CODE = "9101", "9102"
#: Default limit on one uploaded file (bytes); the client option ``max_upload_bytes``.
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Default limit on one downloaded file (bytes); the client option ``max_download_bytes``.
DEFAULT_MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
#: How many leading bytes of an untyped 9102 answer are looked at before deciding.
SNIFF_BYTES = 4096

_UPLOAD_NODE, _DOWNLOAD_NODE = "fsUploadIn", "fsDownloadIn"
_FILE_PART_TYPE = "application/octet-stream"
_JSON_TYPES = frozenset({"application/json", "text/json"})
_FILE_TYPES = frozenset({"application/octet-stream", "application/zip", "application/x-zip"})
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class EncodedUpload:
    """A 9101 request body and its Content-Type (with the multipart boundary)."""

    body: bytes
    content_type: str


def content_problem(size: int, limit: int) -> str | None:
    """Why a file of ``size`` bytes cannot be uploaded under ``limit``, or None."""
    if size <= 0:
        return "上传文件内容不能为空"
    if size > limit:
        return f"上传文件大小超过上限 {limit} 字节"
    return None


def upload_input(filename: str, fixmedins_code: str) -> dict[str, Any]:
    """The ``input`` of a 9101 envelope."""
    return {_UPLOAD_NODE: {"filename": filename, "fixmedins_code": fixmedins_code}}


def download_input(file_qury_no: str, filename: str, fixmedins_code: str) -> dict[str, Any]:
    """The ``input`` of a 9102 envelope."""
    return {
        _DOWNLOAD_NODE: {
            "file_qury_no": file_qury_no,
            "filename": filename,
            "fixmedins_code": fixmedins_code,
        }
    }


def encode_upload(envelope: bytes, filename: str, content: bytes) -> EncodedUpload:
    """The multipart body of a 9101 request: ``jsonStr`` (``envelope``) and ``file``.

    httpx does the encoding (boundary, Content-Disposition, escaping); building the
    request does no I/O, and the body's length is what goes on the wire.
    """
    request = httpx.Request(
        "POST",
        "http://upload.invalid/",
        data={"jsonStr": envelope.decode("utf-8")},
        files={"file": (filename, content, _FILE_PART_TYPE)},
    )
    return EncodedUpload(request.read(), request.headers["Content-Type"])


def media_type(content_type: str | None) -> str:
    """The lower-case media type of a Content-Type header (``""`` when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def declared_envelope(content_type: str | None) -> bool | None:
    """What a 9102 answer's Content-Type says: True envelope, False file, None unsure.

    ``application/octet-stream`` (and zip) is a file whatever it contains;
    ``application/json`` is an envelope; any other type, or none, must be sniffed.
    """
    kind = media_type(content_type)
    if kind in _FILE_TYPES:
        return False
    if kind in _JSON_TYPES:
        return True
    return None


def looks_like_envelope(head: bytes) -> bool:
    """True when ``head`` (an answer's first bytes) is a JSON object naming ``infcode``."""
    text = head.removeprefix(_BOM).lstrip()
    return text.startswith(b"{") and b'"infcode"' in text[:SNIFF_BYTES]


def looks_like_file(head: bytes) -> bool:
    """True when an answer whose type says nothing may be the file: not an envelope, not
    empty, and not an HTML page (a proxy's or firewall's answer is never the file)."""
    if not head or looks_like_envelope(head):
        return False
    return not head.removeprefix(_BOM).lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


def is_envelope(content_type: str | None, head: bytes) -> bool:
    """True when a 9102 answer is not the file (a JSON envelope, or something to reject).

    The Content-Type decides when it can (:func:`declared_envelope`); otherwise ``head``,
    the answer's first :data:`SNIFF_BYTES` bytes (or all of it when shorter), is sniffed
    (:func:`looks_like_file`); an answer that is not the file is parsed as an envelope,
    so an empty body or an HTML page raises ``ResponseParseError``.
    """
    declared = declared_envelope(content_type)
    return not looks_like_file(head) if declared is None else declared
