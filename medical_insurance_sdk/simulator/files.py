"""The simulator's file store: 9101 uploads kept in memory for 9102 downloads, bounded.

Files are kept in upload order; when the count or the total size goes over its bound the
oldest files are evicted (and counted), so long load tests keep constant memory. A file
expires ``ttl_seconds`` after its upload (the ``dld_endtime`` the platform announces).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FileStore", "StoredFile"]


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One uploaded file."""

    file_qury_no: str
    filename: str
    fixmedins_code: str
    content: bytes
    expires: float  # epoch seconds


class FileStore:
    """Uploaded files by file_qury_no; used from the simulator's event loop only."""

    def __init__(
        self,
        max_files: int,
        max_bytes: int,
        ttl_seconds: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_files < 1 or max_bytes < 1 or ttl_seconds <= 0:
            raise ValueError("file store bounds and ttl must be positive")
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._files: OrderedDict[str, StoredFile] = OrderedDict()
        self._bytes = 0
        #: Files dropped to respect the bounds (not counting expiries).
        self.evicted = 0
        #: Files stored since the simulator started.
        self.uploaded = 0

    def put(
        self, file_qury_no: str, filename: str, fixmedins_code: str, content: bytes
    ) -> StoredFile:
        """Store a file (evicting the oldest ones as needed); ``content`` must fit the bound."""
        if len(content) > self.max_bytes:
            raise ValueError("file larger than the store")
        stored = StoredFile(
            file_qury_no, filename, fixmedins_code, content, self._clock() + self.ttl_seconds
        )
        self._files[file_qury_no] = stored
        self._bytes += len(content)
        self.uploaded += 1
        while len(self._files) > self.max_files or self._bytes > self.max_bytes:
            _, old = self._files.popitem(last=False)
            self._bytes -= len(old.content)
            self.evicted += 1
        return stored

    def get(self, file_qury_no: str) -> StoredFile | None:
        """The file, or None when unknown, evicted or expired (an expired file is dropped)."""
        stored = self._files.get(file_qury_no)
        if stored is not None and stored.expires <= self._clock():
            del self._files[file_qury_no]
            self._bytes -= len(stored.content)
            return None
        return stored

    def stats(self) -> dict[str, Any]:
        """Counts for the admin endpoint (no file names: they may name a patient)."""
        return {
            "stored": len(self._files),
            "bytes": self._bytes,
            "uploaded": self.uploaded,
            "evicted": self.evicted,
            "max_files": self.max_files,
            "max_bytes": self.max_bytes,
        }
