"""Every ```python block of README.md runs as written (or says, above it, why it cannot)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from medical_insurance_sdk.client import MedicalInsuranceClient
from medical_insurance_sdk.exceptions import MedicalInsuranceError, ReadTimeoutError
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import SAMPLE_ORG, running_simulator
from medical_insurance_sdk.simulator.workload import new_visit

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

_FENCE = re.compile(r"^```(?P<lang>\w*)[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
_NOT_RUN = re.compile(r"<!-- not-run: (?P<reason>.+?) -->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block of the README."""

    line: int
    lang: str
    code: str
    not_run: str  # the reason of a `<!-- not-run: ... -->` line right above, or ""


def _blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _NOT_RUN.search(before)
        found.append(
            Block(
                line=text.count("\n", 0, match.start()) + 1,
                lang=match.group("lang"),
                code=match.group("code"),
                not_run=marker.group("reason") if marker else "",
            )
        )
    return found


BLOCKS = _blocks()
PYTHON = [block for block in BLOCKS if block.lang == "python"]

#: Blocks that cannot run here, by a line they contain, and why. Each is marked in the
#: README with `<!-- not-run: reason -->`; keep this list tiny.
NOT_RUN = {
    "from medical_insurance_sdk.core import batch_job": "a Pushgateway at the URL",
    "# gunicorn.conf.py": "a gunicorn configuration file, not a script",
}

#: A fragment that continues the examples before it: the names it uses are given to it
#: by test_retry_fragment_recovers_an_unknown_outcome (a live client and a real visit).
FRAGMENT = 'client.reverse(exc.msgid, "2207", psn_no)'

#: Files a block reads, by a line of the block -> (file name, a line of the README block
#: whose text is the file). The load_thresholds example reads the YAML shown above it.
FILES = {
    'load_thresholds("thresholds.yml")': ("thresholds.yml", "# thresholds.yml"),
}

#: What a block prints, by a line of the block.
PRINTS = {
    "collector.record_api_call_start": "成功率: 100.00%",
    "analysis['performance_score']['total_score']": "性能评分: ",
    'print("mdtrt_id:"': "mdtrt_id: MD",
    "exc.error_code, exc.infcode": "BIZ_MBS_HygeiaException -1",
    'print(line["level"], line["api_code"]': "WARNING 1101 BIZ_MBS_HygeiaException 1",
    'print("spans lost:"': "spans lost: 2",  # the call's span and the visit's
}


def _having(text: str) -> list[Block]:
    return [block for block in BLOCKS if text in block.code]


def _runnable() -> list[Block]:
    # A NOT_RUN block is never run, marked or not (it would reach for a host of yours).
    skipped = [*NOT_RUN, FRAGMENT]
    return [
        block
        for block in PYTHON
        if not block.not_run and not any(key in block.code for key in skipped)
    ]


def test_the_lists_name_real_blocks_and_markers_agree():
    """Every listed key picks exactly one block; marked blocks are exactly NOT_RUN's."""
    for key in [*NOT_RUN, FRAGMENT, *FILES, *PRINTS]:
        assert len(_having(key)) == 1, f"README blocks containing {key!r}"
    marked = {block.line for block in PYTHON if block.not_run}
    listed = {_having(key)[0].line for key in NOT_RUN}
    assert marked == listed
    assert len(NOT_RUN) <= 2
    assert len(PYTHON) >= 12


@pytest.mark.parametrize("block", _runnable(), ids=lambda b: f"README.md:{b.line}")
def test_python_block_runs_as_written(block: Block, tmp_path: Path):
    """The block runs verbatim in a fresh interpreter (a temporary directory as cwd)."""
    for key, (name, source) in FILES.items():
        if key in block.code:
            (tmp_path / name).write_text(_having(source)[0].code, encoding="utf-8")
    script = tmp_path / "block.py"
    script.write_text(block.code, encoding="utf-8")
    env = {**os.environ, "MISDK_PROMETHEUS_PORT": "0", "MISDK_BACKGROUND": "false"}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, f"README.md:{block.line}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    for key, printed in PRINTS.items():
        if key in block.code:
            assert printed in result.stdout, result.stdout


@pytest.mark.parametrize(
    "block", [b for b in PYTHON if b.not_run], ids=lambda b: f"README.md:{b.line}"
)
def test_not_run_blocks_still_compile(block: Block):
    """A block marked not-run is at least valid Python."""
    compile(block.code, f"README.md:{block.line}", "exec")


def test_retry_fragment_recovers_an_unknown_outcome():
    """The retries fragment, given a client and a visit: a hung 2207 raises with
    outcome_unknown, and the fragment sends 2601 with the original msgid before re-raising."""
    (block,) = _having(FRAGMENT)
    visit = new_visit(random.Random(5), 1)
    with (
        running_simulator(SimulatorConfig(seed=5, latency_scale=0)) as sim,
        MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, timeout=1.0, retries=0) as client,
    ):
        visit.take_person(client.call("1101", visit.person_query()))
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        client.call("2203", visit.visit_upload())
        client.call("2204", visit.fee_upload())
        sim.set_faults({"2207": {"hang_rate": 1.0, "hang_seconds": 3.0}})
        namespace = {
            "client": client,
            "settlement": visit.settlement(),
            "psn_no": visit.psn_no,
            "MedicalInsuranceError": MedicalInsuranceError,
        }
        # The 2601 succeeds only if the simulator finds the settlement by omsgid: a wrong
        # msgid would raise BusinessError from inside the fragment instead.
        with pytest.raises(ReadTimeoutError) as caught:
            exec(block.code, namespace)
        sim.set_faults({})
        received = sim.stats()["received"]
    assert caught.value.outcome_unknown
    assert caught.value.msgid.startswith(SAMPLE_ORG)
    assert (received.get("2207"), received.get("2601")) == (1, 1)
