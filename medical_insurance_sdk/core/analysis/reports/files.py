"""Writing report files atomically, with an error that says what went wrong."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

__all__ = ["ReportWriteError", "write_text_atomic"]


class ReportWriteError(OSError):
    """A report file could not be written (unwritable directory, disk full, …).

    The in-memory data is untouched; nothing half-written is left at ``path``.
    """

    def __init__(self, path: Path, cause: OSError) -> None:
        reason = cause.strerror or str(cause)
        super().__init__(cause.errno, f"无法写入报告 {path}：{reason} (cannot write report)")
        self.path = path

    def __str__(self) -> str:
        return str(self.strerror)


def write_text_atomic(path: Path, text: str, encoding: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    data = text.encode(encoding)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A plain exclusive open (not mkstemp) so the file gets the usual umask permissions.
        tmp = str(path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp"))
        with open(tmp, "xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ReportWriteError(path, exc) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):  # best effort: the real error is raised above
                os.unlink(tmp)
