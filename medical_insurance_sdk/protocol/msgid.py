"""Message ids (``msgid``, docs/protocol.md §1), unique across threads, forks, processes and hosts.

A msgid names a transaction for good: it is the ``omsgid`` a 2601 reversal quotes and the
``medins_setl_id`` of a settlement, so two calls must never share one. Layout, 30 characters
at most, digits after the institution code as the platform expects::

    fixmedins_code (12) + yyyyMMddHHmmss (14) + node (1 digit) + sequence (3 digits)

A shorter institution code leaves more digits to the sequence (4 for an 11-character code,
and so on); the node digit stays one digit.

**Guarantee.** Two msgids of one institution never repeat when they come from

* threads of one process (one lock);
* processes of one host: forked workers (gunicorn, multiprocessing), processes started
  separately, a process restarted within the same second. They share the sequence through
  a 16-byte state file per institution in ``<tempdir>/misdk-msgid-<uid>/``, read and
  updated under an exclusive ``flock``; each process reserves a block of sequence numbers
  at a time (1, 2, 4 … at most 16 within one second), and a forked child drops the block it
  inherited (``os.register_at_fork``). The file outlives the processes, so a restarted one
  continues the second's sequence instead of starting it again;
* hosts given distinct node ids, 0 to 9 (the client's ``node_id=`` option or the
  ``MISDK_NODE_ID`` environment variable): the node digit.

**Limits.**

* Capacity: ``10 ** (sequence digits)`` msgids per second per host and institution, shared
  by all the host's processes: 1 000 for a 12-character code. When a second is used up,
  :meth:`MsgIdGenerator.next` waits for the next second (at most a second; counted in
  :attr:`MsgIdStats.waits` and logged at WARNING at most once a minute), so it never
  returns a duplicate. Under sustained overload a call may wait several seconds, as the
  host's other callers take the next seconds first. In the async client a wait blocks the
  event loop. If the clock stays in a used-up second for ``max_wait`` seconds (a stuck
  clock), ``next`` raises ``RuntimeError`` (counted in :attr:`MsgIdStats.failures`).
* A clock stepping backwards: the host keeps the last second it used; ids carry it, moving
  on one second each time its sequence is used up (counted in :attr:`MsgIdStats.ahead`),
  until the clock catches up.
* Processes that do not share the state directory (another OS user, another container,
  systemd ``PrivateTmp``, a different ``TMPDIR``) are different hosts: give them distinct
  node ids. Two hosts with the same node id can repeat each other's msgids.
* Where the sequence cannot be shared (no ``fcntl``, as on Windows, or no usable state
  directory) it is kept per process, logged once at WARNING and reported by
  :attr:`MsgIdStats.shared`: unique within the process; each second starts at a random
  offset, which makes a clash between processes unlikely, not impossible.
* The timestamp is local time: where an hour repeats when daylight saving time ends (not
  in China), msgids of that hour may repeat those of the hour before.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import struct
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

if sys.platform != "win32":  # Windows has no flock: the sequence stays per process there
    import fcntl

__all__ = [
    "MAX_NODE_ID",
    "MSGID_LENGTH",
    "NODE_ID_ENV",
    "MsgIdGenerator",
    "MsgIdStats",
    "msgid_stats",
    "next_msgid",
    "resolve_node_id",
]

logger = logging.getLogger(__name__)

#: Maximum length of a msgid (docs/protocol.md §1).
MSGID_LENGTH = 30
#: Length of the ``yyyyMMddHHmmss`` timestamp.
_TIMESTAMP_LENGTH = 14
#: Longest institution code: leaves one node digit and three sequence digits.
_MAX_CODE_LENGTH = 12
#: Node ids are one digit.
MAX_NODE_ID = 9
#: The environment variable a client reads when ``node_id`` is not given.
NODE_ID_ENV = "MISDK_NODE_ID"
#: Largest block of sequence numbers a process reserves at once (the waste, per process
#: and second, when the second ends before the block is used up).
_MAX_BLOCK = 16
_STATE = struct.Struct("<qq")  # (second, next sequence number) of the host
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,12}")
_WARN_EVERY = 60.0


def resolve_node_id(node_id: int | str | None, environ: Mapping[str, str] | None = None) -> int:
    """The node id to use: ``node_id``, else ``MISDK_NODE_ID``, else 0.

    Raises ``ValueError`` naming the setting when it is not a whole number from 0 to 9.
    """
    value: object
    if node_id is None:
        raw = (os.environ if environ is None else environ).get(NODE_ID_ENV)
        if raw is None or not raw.strip():
            return 0
        source, value = f"{NODE_ID_ENV}={raw!r}", raw.strip()
    else:
        source, value = f"node_id={node_id!r}", node_id
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise ValueError(f"{source}: a node id must be a whole number from 0 to {MAX_NODE_ID}")
    if not 0 <= number <= MAX_NODE_ID:
        raise ValueError(
            f"{source}: a node id must be from 0 to {MAX_NODE_ID} "
            "(the msgid has room for one node digit)"
        )
    return number


@dataclass(frozen=True, slots=True)
class MsgIdStats:
    """Counters of one generator."""

    #: msgids returned.
    issued: int
    #: Calls that waited for the next second because the second's sequence was used up.
    waits: int
    #: Seconds the sequence moved ahead of a clock that stepped backwards.
    ahead: int
    #: Calls that raised because the clock did not reach the next second in time.
    failures: int
    #: True while every institution's sequence is shared through the state directory.
    shared: bool


@dataclass(frozen=True, slots=True)
class _Grant:
    """Sequence numbers ``start`` to ``start + count - 1`` of ``second``, reserved."""

    second: int
    start: int
    count: int
    ahead: bool


def _reserve(second: int, used: int, wall: int, want: int, capacity: int) -> _Grant | None:
    """Reserve from a sequence state (``used`` numbers of ``second`` taken); None: wait."""
    if wall > second:
        second, used = wall, 0
    ahead = False
    if used >= capacity:
        if wall >= second:
            return None  # the second is used up: wait for the clock
        second, used, ahead = second + 1, 0, True  # the clock stepped back: move on
    return _Grant(second, used, min(want, capacity - used), ahead)


class _Sequence(Protocol):
    shared: bool

    def reserve(self, wall: int, want: int, capacity: int) -> _Grant | None: ...
    def offset(self, second: int, capacity: int) -> int: ...
    def after_fork(self) -> None: ...


class _FileSequence:
    """The host's sequence of one institution: a state file updated under ``flock``."""

    shared = True

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> int:
        """Open (creating) the state file: a fresh open file each time, so a forked child
        never shares its parent's lock."""
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
        try:
            return os.open(self.path, flags, 0o600)
        except FileNotFoundError:  # the directory went (a temp cleaner): make it again
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(self.path, flags, 0o600)

    def reserve(self, wall: int, want: int, capacity: int) -> _Grant | None:
        fd = self.open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, _STATE.size, 0)
            second, used = _STATE.unpack(raw) if len(raw) == _STATE.size else (0, 0)
            grant = _reserve(second, used, wall, want, capacity)
            if grant is not None:
                os.pwrite(fd, _STATE.pack(grant.second, grant.start + grant.count), 0)
            return grant
        finally:
            os.close(fd)  # releases the lock

    def offset(self, second: int, capacity: int) -> int:
        return 0

    def after_fork(self) -> None:
        """Nothing to do: the state is in the file."""


class _MemorySequence:
    """A per-process sequence (when the host's cannot be shared): random start per second."""

    shared = False

    def __init__(self, second: int = 0, used: int = 0) -> None:
        self.second = second
        self.used = used
        self._offsets: dict[int, int] = {}

    def reserve(self, wall: int, want: int, capacity: int) -> _Grant | None:
        grant = _reserve(self.second, self.used, wall, want, capacity)
        if grant is not None:
            self.second, self.used = grant.second, grant.start + grant.count
        return grant

    def offset(self, second: int, capacity: int) -> int:
        if second not in self._offsets:
            self._offsets = {second: secrets.randbelow(capacity)}
        return self._offsets[second]

    def after_fork(self) -> None:
        """A child draws new offsets, so it does not follow its parent's sequence."""
        self._offsets = {}


class _Institution:
    """One institution's sequence and the block of it this process holds."""

    __slots__ = ("block_end", "block_next", "capacity", "offset", "prefix", "second",
                 "sequence", "want", "width")  # fmt: skip

    def __init__(self, code: str, sequence: _Sequence) -> None:
        self.sequence = sequence
        self.width = MSGID_LENGTH - _TIMESTAMP_LENGTH - len(code) - 1
        self.capacity = 10**self.width
        self.second = -1  # the block's second
        self.prefix = ""  # code + timestamp of the block's second
        self.block_next = 0
        self.block_end = 0
        self.offset = 0
        self.want = 1

    def drop_block(self) -> None:
        self.block_next = self.block_end = 0


_live: weakref.WeakSet[MsgIdGenerator] = weakref.WeakSet()


def _default_state_dir() -> Path:
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"misdk-msgid-{user}"


class MsgIdGenerator:
    """Thread- and fork-safe msgid generator (see the module docstring for the guarantee).

    ``state_dir`` holds the host's sequence files (default ``<tempdir>/misdk-msgid-<uid>``,
    created with mode 0700 and used only if this user owns it); ``shared=False`` keeps the
    sequence in the process. ``clock`` returns seconds since the epoch, ``sleep`` waits.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        state_dir: str | os.PathLike[str] | None = None,
        shared: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 2.0,
    ) -> None:
        if max_wait <= 0:
            raise ValueError("max_wait must be positive")
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._shared = shared
        self._default_dir = state_dir is None
        self._state_dir = _default_state_dir() if state_dir is None else Path(state_dir)
        self._lock = threading.Lock()
        self._fork_locked = False
        self._institutions: dict[str, _Institution] = {}
        self._issued = self._waits = self._ahead = self._failures = 0
        self._warned_at = -_WARN_EVERY
        _live.add(self)

    def next(self, fixmedins_code: str, node_id: int = 0) -> str:
        """Return a new msgid for ``fixmedins_code`` from node ``node_id`` (0..9)."""
        if not 1 <= len(fixmedins_code) <= _MAX_CODE_LENGTH:
            raise ValueError(f"fixmedins_code must have 1 to {_MAX_CODE_LENGTH} characters")
        if isinstance(node_id, bool) or not 0 <= node_id <= MAX_NODE_ID:
            raise ValueError(f"node_id must be from 0 to {MAX_NODE_ID}")
        waits = 0  # times this call waited
        stuck = 0.0  # seconds waited for the clock to leave the second ``waiting_for``
        waiting_for = -1
        while True:
            with self._lock:
                institution = self._institutions.get(fixmedins_code)
                if institution is None:
                    institution = self._open(fixmedins_code)
                wall = int(self._clock())
                if institution.block_next >= institution.block_end or institution.second < wall:
                    pause = self._refill(institution, fixmedins_code, wall)
                else:
                    pause = 0.0
                if pause == 0.0:
                    number = institution.block_next
                    institution.block_next += 1
                    self._issued += 1
                    if waits:
                        self._waits += 1
                    sequence = (number + institution.offset) % institution.capacity
                    return f"{institution.prefix}{node_id}{sequence:0{institution.width}d}"
                if wall != waiting_for:  # the clock moved on (others took the new second)
                    waiting_for, stuck = wall, 0.0
                if stuck + pause > self._max_wait:
                    self._failures += 1
                    raise RuntimeError(
                        f"msgid sequence of {fixmedins_code} used up and the clock did not "
                        f"reach the next second within {self._max_wait}s"
                    )
                self._warn_waiting(fixmedins_code, institution.capacity)
            self._sleep(pause)
            waits += 1
            stuck += pause

    def stats(self) -> MsgIdStats:
        """The counters, and whether the sequences are shared with the host's processes."""
        with self._lock:
            shared = self._shared and all(i.sequence.shared for i in self._institutions.values())
            return MsgIdStats(self._issued, self._waits, self._ahead, self._failures, shared)

    # -- internals -----------------------------------------------------------------------

    def _refill(self, institution: _Institution, code: str, wall: int) -> float:
        """Reserve a new block; return 0.0, or how long to wait for the next second."""
        if wall > institution.second:
            institution.want = 1  # a new second: start small, so idle processes waste little
        try:
            grant = institution.sequence.reserve(wall, institution.want, institution.capacity)
        except OSError as exc:  # the state file became unusable: go on within the process
            self._unshare(institution, code, exc)
            grant = institution.sequence.reserve(wall, institution.want, institution.capacity)
        if grant is None:
            institution.drop_block()
            return min(1.0, max(0.001, wall + 1 - self._clock()))
        if grant.ahead:
            self._ahead += 1
        if grant.second != institution.second:
            institution.second = grant.second
            stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(grant.second))
            institution.prefix = code + stamp
            institution.offset = institution.sequence.offset(grant.second, institution.capacity)
        institution.block_next, institution.block_end = grant.start, grant.start + grant.count
        institution.want = min(_MAX_BLOCK, institution.want * 2)
        return 0.0

    def _open(self, code: str) -> _Institution:
        sequence: _Sequence
        if not self._shared:
            sequence = _MemorySequence()
        else:
            try:
                sequence = self._file_sequence(code)
            except OSError as exc:
                _warn_unshared(code, exc)
                sequence = _MemorySequence()
        institution = _Institution(code, sequence)
        self._institutions[code] = institution
        return institution

    def _unshare(self, institution: _Institution, code: str, exc: OSError) -> None:
        """Keep the sequence in the process from now on; the numbers of the block's second
        may already be taken, so it counts as used up."""
        _warn_unshared(code, exc)
        second = max(institution.second, 0)
        institution.sequence = _MemorySequence(second, institution.capacity)

    def _file_sequence(self, code: str) -> _FileSequence:
        if sys.platform == "win32":
            raise OSError("no flock on this platform")
        directory = self._state_dir
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._default_dir:  # a shared temp dir: trust only our own, real directory
            info = os.lstat(directory)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                raise OSError(f"{directory} is not a directory owned by this user")
        name = code if _SAFE_NAME.fullmatch(code) else code.encode("utf-8").hex()
        sequence = _FileSequence(directory / f"{name}.seq")
        os.close(sequence.open())  # fail now, not on the first call, if it cannot be used
        return sequence

    def _warn_waiting(self, code: str, capacity: int) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            logger.warning(
                "msgid sequence of %s used up (%d per second on this host): waiting for the "
                "next second (waits so far: %d)",
                code,
                capacity,
                self._waits + 1,
            )

    def _fork_prepare(self) -> None:
        self._lock.acquire()  # no block is half taken when the process is copied
        self._fork_locked = True

    def _fork_parent(self) -> None:
        if self._fork_locked:
            self._fork_locked = False
            self._lock.release()

    def _fork_child(self) -> None:
        """Drop the blocks inherited from the parent: it goes on using them."""
        self._lock = threading.Lock()
        self._fork_locked = False
        for institution in self._institutions.values():
            institution.drop_block()
            institution.second = -1
            institution.sequence.after_fork()


def _warn_unshared(code: str, exc: OSError) -> None:
    logger.warning(
        "msgid sequence of %s is not shared with other processes (%s): msgids are unique "
        "within this process only; see medical_insurance_sdk.protocol.msgid",
        code,
        exc,
    )


def _each(method: str) -> Callable[[], None]:
    def hook() -> None:
        for generator in list(_live):
            getattr(generator, method)()

    return hook


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(
        before=_each("_fork_prepare"),
        after_in_parent=_each("_fork_parent"),
        after_in_child=_each("_fork_child"),
    )

_GENERATOR = MsgIdGenerator()


def next_msgid(fixmedins_code: str, node_id: int = 0) -> str:
    """Return a new msgid from the process-wide generator."""
    return _GENERATOR.next(fixmedins_code, node_id)


def msgid_stats() -> MsgIdStats:
    """The process-wide generator's counters."""
    return _GENERATOR.stats()
