"""SM4-encrypted and SM2-signed envelopes, end to end against the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from medical_insurance_sdk.client import (
    AsyncMedicalInsuranceClient,
    EnvelopeSecurity,
    MedicalInsuranceClient,
    SM2Signer,
    SM4Cipher,
)
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import BusinessError
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_ORG,
    RunningSimulator,
    running_simulator,
)

pytestmark = pytest.mark.integration

SM4_KEY = "0123456789abcdeffedcba9876543210"
SM2_PRIVATE = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
SM2_PUBLIC = (
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)
#: Another valid pair: its signatures do not verify with SM2_PUBLIC.
OTHER_PRIVATE = "1" * 64
OTHER_PUBLIC = (
    "852611f744af045689dcfbf4c0437730d2d2de332ab7f0fc02769c5fab8a8943"
    "7d9384f19ab882ed668a28936db92475aa79aef8690ee36f6fb77c69b9b571f8"
)
PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}


@pytest.fixture(scope="module")
def sealed_sim() -> Iterator[RunningSimulator]:
    config = SimulatorConfig(
        seed=3, latency_scale=0, sm4_key=SM4_KEY, sm2_public_key=SM2_PUBLIC, sm4_encoding="hex"
    )
    with running_simulator(config) as sim:
        yield sim


def _security(
    key: str = SM4_KEY, private: str = SM2_PRIVATE, public: str = SM2_PUBLIC
) -> EnvelopeSecurity:
    return EnvelopeSecurity(
        cipher=SM4Cipher(key, encoding="hex"),
        signer=SM2Signer(private_key=private, public_key=public),
    )


def test_sealed_calls_round_trip_and_are_monitored(
    sealed_sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """Encrypted and signed 1101/2201 calls answer in plaintext, recorded as usual."""
    with MedicalInsuranceClient(
        sealed_sim.base_url, SAMPLE_ORG, collector=collector, security=_security(), cache=False
    ) as client:
        person = client.call("1101", PERSON)
        assert person["baseinfo"]["certno"] == SAMPLE_CERTNO
        assert isinstance(person["insuinfo"], list)  # lists normalised after decryption
    stats = collector.get_api_statistics()
    assert stats["total_calls"] == 1
    assert stats["success_rate"] == 1.0


async def test_async_client_seals_too(sealed_sim: RunningSimulator) -> None:
    """The async client has the same option."""
    async with AsyncMedicalInsuranceClient(
        sealed_sim.base_url, SAMPLE_ORG, security=_security(), monitoring=False
    ) as client:
        assert (await client.call("1101", PERSON))["baseinfo"]["certno"] == SAMPLE_CERTNO


def test_wrong_key_or_signature_is_refused_by_the_platform(sealed_sim: RunningSimulator) -> None:
    """A wrong SM4 key cannot be opened; a signature by another key does not verify."""
    with (
        MedicalInsuranceClient(
            sealed_sim.base_url, SAMPLE_ORG, security=_security(key="00" * 16), monitoring=False
        ) as wrong_key,
        pytest.raises(BusinessError, match="解密失败"),
    ):
        wrong_key.call("1101", PERSON)
    with (
        MedicalInsuranceClient(
            sealed_sim.base_url, SAMPLE_ORG,
            security=_security(private=OTHER_PRIVATE, public=OTHER_PUBLIC), monitoring=False,
        ) as wrong_signer,
        pytest.raises(BusinessError, match="数字签名验证失败"),
    ):  # fmt: skip
        wrong_signer.call("1101", PERSON)


def test_plain_requests_still_work_and_a_keyless_platform_refuses_sealed_ones(
    sealed_sim: RunningSimulator, sim: RunningSimulator
) -> None:
    """Unsealed requests get plain answers; a platform without the key refuses sealed ones
    (an output the client cannot open is a ResponseParseError: see the unit tests)."""
    with MedicalInsuranceClient(sealed_sim.base_url, SAMPLE_ORG, monitoring=False) as plain:
        assert plain.call("1101", PERSON)["baseinfo"]["certno"] == SAMPLE_CERTNO
    # the default simulator has no key: it refuses an encrypted request
    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, security=_security(), monitoring=False
        ) as client,
        pytest.raises(BusinessError, match="不支持的加密类型"),
    ):
        client.call("1101", PERSON)
