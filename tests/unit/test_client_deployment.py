"""Site settings: production values must be explicit; the simulator's only when asked or local."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from medical_insurance_sdk import client as client_package
from medical_insurance_sdk.client import (
    SIMULATOR_ACCESS_KEY,
    SIMULATOR_SECRET_KEY,
    ApiSignatureAuth,
    AsyncMedicalInsuranceClient,
    BearerTokenAuth,
    MedicalInsuranceClient,
)
from medical_insurance_sdk.client.deployment import is_loopback

#: Either client; tests are parametrized over both (CLIENTS).
ClientBase = MedicalInsuranceClient | AsyncMedicalInsuranceClient

ORG = "H43010500001"
REMOTE = "https://10.20.30.40:8443"
SITE: dict[str, Any] = {
    "access_key": "site-ak",
    "secret_key": "site-sk",
    "region": "430105",
    "operator": "SF0001",
    "operator_name": "收费员",
    "mac": "3C-97-0E-11-22-33",
}
ALL_MISSING = "access_key, secret_key, region, operator, operator_name, mac"
CLIENTS = pytest.mark.parametrize(
    "cls", [MedicalInsuranceClient, AsyncMedicalInsuranceClient], ids=["sync", "async"]
)


def close(client: ClientBase) -> None:
    if isinstance(client, AsyncMedicalInsuranceClient):
        asyncio.run(client.aclose())
    else:
        assert isinstance(client, MedicalInsuranceClient)
        client.close()


@pytest.fixture
def made() -> Iterator[list[ClientBase]]:
    """Clients built by a test, closed after it."""
    clients: list[ClientBase] = []
    yield clients
    for client in clients:
        close(client)


class SignInRecorder(httpx.MockTransport):
    """An httpx transport (no network) answering 9001 and keeping the envelopes sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(json.loads(request.content))
        output = {"signinoutb": {"sign_no": "SIGN-1", "sign_time": "2026-01-01 08:00:00"}}
        return httpx.Response(200, json={"infcode": 0, "err_msg": "", "output": output})


def sign_in(client: ClientBase) -> str:
    """Sign in with either client."""
    if isinstance(client, AsyncMedicalInsuranceClient):
        return asyncio.run(client.sign_in())
    return client.sign_in()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@CLIENTS
def test_a_remote_platform_needs_every_site_setting(cls: type[ClientBase]) -> None:
    """Left out for a non-loopback address: ValueError naming each missing setting."""
    with pytest.raises(ValueError, match=f"10.20.30.40.* needs the site's {ALL_MISSING}"):
        cls(REMOTE, ORG, monitoring=False)
    partial = {k: SITE[k] for k in ("access_key", "secret_key", "region")}
    with pytest.raises(ValueError, match=r"operator, operator_name, mac: .*for_simulator\(\)"):
        cls(REMOTE, ORG, monitoring=False, **partial)


@CLIENTS
def test_explicit_site_settings_are_sent_as_given(
    cls: type[ClientBase], made: list[ClientBase], caplog: pytest.LogCaptureFixture
) -> None:
    """All given for a remote address: used as given, no warning."""
    transport = SignInRecorder()
    client = cls(REMOTE, ORG, monitoring=False, transport=transport, **SITE)
    made.append(client)
    assert isinstance(client.auth, ApiSignatureAuth)
    assert (client.auth.access_key, client.auth.secret_key) == ("site-ak", "site-sk")
    fields = client.defaults.fields
    assert (fields["mdtrtarea_admvs"], fields["opter"], fields["opter_name"]) == (
        "430105",
        "SF0001",
        "收费员",
    )
    assert sign_in(client) == "SIGN-1"
    [envelope] = transport.sent
    assert envelope["infno"] == "9001"
    assert envelope["input"]["signIn"]["mac"] == "3C-97-0E-11-22-33"
    assert envelope["input"]["signIn"]["opter_no"] == "SF0001"
    assert warnings_of(caplog) == []


@CLIENTS
def test_an_own_auth_scheme_needs_no_access_key(
    cls: type[ClientBase], made: list[ClientBase]
) -> None:
    """With auth= the AK/SK are not needed; the other site settings still are."""
    rest = {k: v for k, v in SITE.items() if k not in ("access_key", "secret_key")}
    client = cls(REMOTE, ORG, monitoring=False, auth=BearerTokenAuth("token"), **rest)
    made.append(client)
    assert isinstance(client.auth, BearerTokenAuth)
    with pytest.raises(ValueError, match="needs the site's region: "):
        cls(REMOTE, ORG, monitoring=False, auth=BearerTokenAuth("t"), **{**rest, "region": None})


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://127.9.8.7", "http://[::1]:8080", "http://localhost:9000"],
)
@CLIENTS
def test_loopback_fills_the_simulators_defaults_with_a_warning(
    cls: type[ClientBase], url: str, made: list[ClientBase], caplog: pytest.LogCaptureFixture
) -> None:
    """A loopback address gets the simulator's values, and a WARNING naming them."""
    client = cls(url, ORG, monitoring=False, operator="SF0009")
    made.append(client)
    assert isinstance(client.auth, ApiSignatureAuth)
    assert (client.auth.access_key, client.auth.secret_key) == (
        SIMULATOR_ACCESS_KEY,
        SIMULATOR_SECRET_KEY,
    )
    assert client.defaults.fields["opter"] == "SF0009"
    assert client.defaults.fields["mdtrtarea_admvs"] == "430299"
    [message] = warnings_of(caplog)
    assert "loopback" in message
    assert message.endswith("access_key, secret_key, region, operator_name, mac")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost.example.com",
        "http://128.0.0.1",
        "http://[::2]",
        "http://0.0.0.0:8080",
        "http://10.0.0.1",
        "not a url",
    ],
)
def test_only_real_loopback_addresses_count(url: str) -> None:
    """Names that look local but are not (or a malformed URL) are not loopback."""
    assert not is_loopback(url)
    with pytest.raises(ValueError, match="needs the site's"):
        MedicalInsuranceClient(url, ORG, monitoring=False)


@CLIENTS
def test_for_simulator_uses_the_demo_values_at_any_address(
    cls: type[ClientBase], made: list[ClientBase], caplog: pytest.LogCaptureFixture
) -> None:
    """for_simulator(): the demo settings, the sample institution, no warning; options win."""
    client = cls.for_simulator("http://simulator.internal:8080", monitoring=False)
    made.append(client)
    assert isinstance(client, cls)
    assert client.org_code == ORG
    assert isinstance(client.auth, ApiSignatureAuth)
    assert client.auth.access_key == SIMULATOR_ACCESS_KEY
    assert client.defaults.fields["opter"] == "SDK001"
    other = cls.for_simulator("http://simulator.internal", "H43010500002", region="430105")
    made.append(other)
    assert (other.org_code, other.defaults.fields["mdtrtarea_admvs"]) == ("H43010500002", "430105")
    assert warnings_of(caplog) == []


def test_the_gateway_scheme_has_no_default_credentials() -> None:
    """ApiSignatureAuth needs its AK/SK; the simulator's pair only through for_simulator()."""
    with pytest.raises(TypeError):
        ApiSignatureAuth()  # type: ignore[call-arg]
    demo = ApiSignatureAuth.for_simulator()
    assert (demo.access_key, demo.secret_key) == (SIMULATOR_ACCESS_KEY, SIMULATOR_SECRET_KEY)


def test_the_demo_credentials_are_exported_as_the_simulators() -> None:
    """The client package names them SIMULATOR_*; no DEFAULT_* credential is exported."""
    names = set(client_package.__all__)
    assert {"SIMULATOR_ACCESS_KEY", "SIMULATOR_SECRET_KEY"} <= names
    assert not {"DEFAULT_ACCESS_KEY", "DEFAULT_SECRET_KEY"} & names


@CLIENTS
def test_node_id_option_and_environment(
    cls: type[ClientBase], made: list[ClientBase], monkeypatch: pytest.MonkeyPatch
) -> None:
    """node_id= wins over MISDK_NODE_ID; a bad value raises ValueError naming it."""
    monkeypatch.setenv("MISDK_NODE_ID", "4")
    made.append(cls.for_simulator("http://127.0.0.1:1", monitoring=False))
    made.append(cls.for_simulator("http://127.0.0.1:1", monitoring=False, node_id=2))
    assert [client.node_id for client in made] == [4, 2]
    with pytest.raises(ValueError, match=r"node_id=12: .*from 0 to 9"):
        cls.for_simulator("http://127.0.0.1:1", monitoring=False, node_id=12)
    monkeypatch.setenv("MISDK_NODE_ID", "node-1")
    with pytest.raises(ValueError, match=r"MISDK_NODE_ID='node-1': .*whole number"):
        cls.for_simulator("http://127.0.0.1:1", monitoring=False)
