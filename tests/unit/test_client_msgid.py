"""msgid generation: unique across threads, forks, processes, restarts and hosts (node ids)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from medical_insurance_sdk.protocol.msgid import MsgIdGenerator, next_msgid, resolve_node_id

ORG = "H43010500001"
T0 = 1_700_000_000.0  # a whole second
STAMP = time.strftime("%Y%m%d%H%M%S", time.localtime(T0))


class SteppingClock:
    """A wall clock that moves only when the generator sleeps (or the test moves it)."""

    def __init__(self, now: float = T0, *, frozen: bool = False) -> None:
        self.now = now
        self.frozen = frozen
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            if not self.frozen:
                self.now = max(self.now, float(int(self.now) + 1))


def make(tmp_path: Path, clock: SteppingClock, **options: object) -> MsgIdGenerator:
    return MsgIdGenerator(clock, state_dir=tmp_path, sleep=clock.sleep, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "sequence_digits"),
    [("H43010500001", 3), ("H4301050000", 4), ("H4301050", 7)],
    ids=["12-char code", "11-char code", "8-char code"],
)
def test_layout_is_code_timestamp_node_sequence(
    tmp_path: Path, code: str, sequence_digits: int
) -> None:
    """30 characters: the code, the 14-digit timestamp, the node digit, then the sequence."""
    generator = make(tmp_path, SteppingClock())
    ids = [generator.next(code, node_id=7) for _ in range(3)]
    pattern = re.escape(code) + STAMP + "7" + rf"\d{{{sequence_digits}}}"
    assert all(len(msgid) == 30 and re.fullmatch(pattern, msgid) for msgid in ids)
    assert [int(msgid[-sequence_digits:]) for msgid in ids] == [0, 1, 2]


def test_threads_share_one_sequence_and_wait_when_a_second_is_used_up(tmp_path: Path) -> None:
    """8 threads x 600 ids: no duplicate, at most 1000 per second, waits counted."""
    clock = SteppingClock()
    generator = make(tmp_path, clock)
    results: list[list[str]] = [[] for _ in range(8)]

    def work(out: list[str]) -> None:
        out.extend(generator.next(ORG) for _ in range(600))

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [msgid for out in results for msgid in out]
    assert len(set(ids)) == 4800
    per_second = Counter(msgid[12:26] for msgid in ids)
    assert max(per_second.values()) <= 1000
    assert len(per_second) >= 5
    stats = generator.stats()
    assert (stats.issued, stats.ahead, stats.failures, stats.shared) == (4800, 0, 0, True)
    assert stats.waits >= 4
    assert all(0 < seconds <= 1.0 for seconds in clock.slept)


def test_a_used_up_second_waits_for_the_next_one(tmp_path: Path) -> None:
    """The 1001st id of a second waits for the clock and carries the next second, 000."""
    clock = SteppingClock()
    generator = make(tmp_path, clock)
    ids = [generator.next(ORG) for _ in range(1001)]
    assert ids[999].endswith("0999")
    assert ids[1000][12:26] > ids[999][12:26]
    assert ids[1000].endswith("0000")
    assert clock.slept == [1.0]
    assert generator.stats().waits == 1


def test_a_clock_that_never_advances_raises_instead_of_repeating(tmp_path: Path) -> None:
    """With the second used up and a stuck clock, next() raises after max_wait (counted)."""
    clock = SteppingClock(frozen=True)
    generator = make(tmp_path, clock, max_wait=2.0)
    ids = {generator.next(ORG) for _ in range(1000)}
    with pytest.raises(RuntimeError, match="did not reach the next second"):
        generator.next(ORG)
    assert len(ids) == 1000
    assert generator.stats().failures == 1


def test_clock_stepping_back_never_repeats_an_id(tmp_path: Path) -> None:
    """Back by an hour: ids keep the last second, then move ahead one second per 1000."""
    clock = SteppingClock(T0 + 100)
    generator = make(tmp_path, clock)
    first = [generator.next(ORG) for _ in range(10)]
    clock.now -= 3600
    later = [generator.next(ORG) for _ in range(1500)]
    ids = first + later
    assert len(set(ids)) == len(ids)
    assert [msgid[12:] for msgid in ids] == sorted(msgid[12:] for msgid in ids)
    assert generator.stats().ahead == 1
    assert clock.slept == []  # no hour-long wait


def test_generators_with_one_state_dir_share_the_sequence(tmp_path: Path) -> None:
    """Two generators (as two processes) on one state directory never overlap."""
    clock = SteppingClock()
    first, second = make(tmp_path, clock), make(tmp_path, clock)
    ids = [g.next(ORG) for _ in range(300) for g in (first, second)]
    assert len(set(ids)) == 600


def test_without_a_shared_state_dir_the_sequence_is_per_process(tmp_path: Path) -> None:
    """shared=False: unique within the generator, reported as not shared."""
    clock = SteppingClock()
    generator = MsgIdGenerator(clock, shared=False, sleep=clock.sleep)
    ids = [generator.next(ORG) for _ in range(1500)]
    assert len(set(ids)) == 1500
    assert generator.stats().shared is False


def test_an_unusable_state_dir_falls_back_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A state dir that is a file: logged at WARNING, ids still unique in the process."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    clock = SteppingClock()
    generator = MsgIdGenerator(clock, state_dir=blocker, sleep=clock.sleep)
    ids = {generator.next(ORG) for _ in range(50)}
    assert len(ids) == 50
    assert generator.stats().shared is False
    assert any("not shared" in r.getMessage() for r in caplog.records)


def test_state_dir_removed_while_in_use_is_made_again(tmp_path: Path) -> None:
    """A temp cleaner removing the state dir: the next block recreates it, still shared."""
    clock = SteppingClock()
    state = tmp_path / "state"
    generator = MsgIdGenerator(clock, state_dir=state, sleep=clock.sleep)
    generator.next(ORG)
    for file in state.iterdir():
        file.unlink()
    state.rmdir()
    clock.now += 1
    generator.next(ORG)
    assert generator.stats().shared is True
    assert (state / f"{ORG}.seq").exists()


def test_a_state_file_unusable_mid_second_never_repeats_an_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The state file turns unusable: the process goes on alone from the next second."""
    clock = SteppingClock()
    generator = make(tmp_path, clock)
    first = [generator.next(ORG) for _ in range(3)]  # a block of 1, then 2: all used
    state = tmp_path / f"{ORG}.seq"
    state.unlink()
    state.mkdir()  # opening it for writing now fails
    later = [generator.next(ORG) for _ in range(1200)]
    ids = first + later
    assert len(set(ids)) == len(ids)
    assert {msgid[12:26] for msgid in later} == {
        time.strftime("%Y%m%d%H%M%S", time.localtime(T0 + n)) for n in (1, 2)
    }
    assert generator.stats().shared is False
    assert any("not shared" in r.getMessage() for r in caplog.records)


# -- processes ---------------------------------------------------------------------------

WORKER = """
import json, sys
from medical_insurance_sdk.protocol.msgid import MsgIdGenerator
state_dir, code, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
fixed = float(sys.argv[4]) if len(sys.argv) > 4 else None
generator = MsgIdGenerator(state_dir=state_dir) if fixed is None else MsgIdGenerator(
    lambda: fixed, state_dir=state_dir)
print("ready", flush=True)
sys.stdin.readline()  # the start barrier
ids = [generator.next(code) for _ in range(count)]
stats = generator.stats()
print(json.dumps({"ids": ids, "waits": stats.waits, "shared": stats.shared}), flush=True)
"""


def _start(*args: object) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def _finish(process: subprocess.Popen[str], *, release: bool = True) -> dict[str, object]:
    out, _ = process.communicate("go\n" if release else None, timeout=90)
    assert process.returncode == 0
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.slow  # ~17 s: 16 000 ids at the host's 1 000 per second
def test_eight_processes_share_the_hosts_sequence(tmp_path: Path) -> None:
    """8 processes x 2000 ids, started together: no duplicate, ≤1000 per second, 30 chars."""
    processes = [_start(tmp_path, ORG, 2000) for _ in range(8)]
    for process in processes:  # all are ready: release them at once
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [_finish(process, release=False) for process in processes]
    ids = [msgid for result in results for msgid in result["ids"]]  # type: ignore[attr-defined]
    assert len(ids) == 16000
    assert len(set(ids)) == 16000
    assert all(len(msgid) == 30 and re.fullmatch(ORG + r"\d{18}", msgid) for msgid in ids)
    per_second = Counter(msgid[12:26] for msgid in ids)
    assert max(per_second.values()) <= 1000
    assert all(result["shared"] for result in results)
    assert sum(result["waits"] for result in results) > 0  # type: ignore[misc]
    writers: dict[str, set[int]] = {}
    for index, result in enumerate(results):
        for msgid in result["ids"]:  # type: ignore[attr-defined]
            writers.setdefault(msgid[12:26], set()).add(index)
    shared_seconds = [second for second, who in writers.items() if len(who) > 1]
    assert len(shared_seconds) >= len(writers) // 2  # they ran in the same seconds


def test_a_restart_within_the_same_second_continues_the_sequence(tmp_path: Path) -> None:
    """Two processes one after the other, in the same (fixed) second: no id repeats."""
    first = _finish(_start(tmp_path, ORG, 100, T0))
    second = _finish(_start(tmp_path, ORG, 100, T0))
    ids = [*first["ids"], *second["ids"]]  # type: ignore[misc]
    assert {msgid[12:26] for msgid in ids} == {STAMP}
    assert len(set(ids)) == 200


def _fork_and_draw(draw: Callable[[], str], count: int) -> tuple[list[str], list[str]]:
    """Fork; parent and child each draw ``count`` ids at once; return (parent's, child's)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read)
            os.write(write, json.dumps([draw() for _ in range(count)]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    parent = [draw() for _ in range(count)]
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return parent, json.loads(b"".join(chunks))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork only")
def test_forked_child_and_parent_never_repeat_each_other(tmp_path: Path) -> None:
    """After a fork both go on drawing ids in the same second: none is shared."""
    generator = make(tmp_path, SteppingClock())
    before = [generator.next(ORG) for _ in range(5)]  # the parent holds a block now
    parent, child = _fork_and_draw(lambda: generator.next(ORG), 200)
    ids = before + parent + child
    assert len(child) == 200
    assert {msgid[12:26] for msgid in ids} == {STAMP}
    assert len(set(ids)) == len(ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork only")
def test_the_process_wide_generator_survives_a_fork() -> None:
    """next_msgid (what the clients use), forked as gunicorn does: no id repeats."""
    before = [next_msgid(ORG) for _ in range(5)]
    parent, child = _fork_and_draw(lambda: next_msgid(ORG), 300)
    ids = before + parent + child
    assert len(set(ids)) == len(ids) == 605
    assert all(len(msgid) == 30 and msgid.startswith(ORG) for msgid in ids)


# -- node ids ------------------------------------------------------------------------------


def test_distinct_node_ids_give_distinct_msgids(tmp_path: Path) -> None:
    """Two hosts (own state dirs) in the same second: node ids keep their ids apart."""
    clock = SteppingClock()
    host_a = make(tmp_path / "a", clock)
    host_b = make(tmp_path / "b", clock)
    a = [host_a.next(ORG, node_id=1) for _ in range(500)]
    b = [host_b.next(ORG, node_id=2) for _ in range(500)]
    assert not set(a) & set(b)
    assert {m[26] for m in a} == {"1"}
    assert {m[26] for m in b} == {"2"}
    same = make(tmp_path / "c", clock).next(ORG, node_id=1)
    assert same == a[0]  # the limit: two hosts with one node id repeat each other


@pytest.mark.parametrize(
    ("node_id", "env", "expected"),
    [(None, None, 0), (None, "4", 4), (None, " 9 ", 9), (3, "4", 3), ("5", None, 5), (0, "7", 0)],
    ids=["unset", "env", "env-spaces", "option-wins", "option-text", "option-zero"],
)
def test_node_id_from_option_or_environment(
    node_id: int | str | None, env: str | None, expected: int
) -> None:
    """node_id= wins over MISDK_NODE_ID; neither gives 0."""
    environ = {} if env is None else {"MISDK_NODE_ID": env}
    assert resolve_node_id(node_id, environ) == expected


@pytest.mark.parametrize(
    ("node_id", "env", "message"),
    [
        (10, None, r"node_id=10: .*from 0 to 9"),
        (-1, None, r"node_id=-1: .*from 0 to 9"),
        (True, None, r"node_id=True: .*whole number"),
        ("a", None, r"node_id='a': .*whole number"),
        (None, "12", r"MISDK_NODE_ID='12': .*from 0 to 9"),
        (None, "x1", r"MISDK_NODE_ID='x1': .*whole number"),
    ],
    ids=["too-big", "negative", "bool", "text", "env-too-big", "env-text"],
)
def test_bad_node_ids_raise_naming_the_setting(
    node_id: object, env: str | None, message: str
) -> None:
    """A node id that does not fit the one digit raises ValueError naming where it came from."""
    environ = {} if env is None else {"MISDK_NODE_ID": env}
    with pytest.raises(ValueError, match=message):
        resolve_node_id(node_id, environ)  # type: ignore[arg-type]
