"""The simulator as the platform: gateway auth, envelope checks, data, admin endpoint."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from medical_insurance_sdk.client import (
    DEFAULT_PATH,
    BearerTokenAuth,
    MedicalInsuranceClient,
    TifSignatureAuth,
)
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.protocol.auth import ApiSignatureAuth
from medical_insurance_sdk.protocol.envelope import EnvelopeDefaults, build_envelope, next_msgid
from medical_insurance_sdk.simulator import AuthConfig, SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_ORG,
    RunningSimulator,
    running_simulator,
)

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}


def post(
    sim: RunningSimulator,
    envelope: dict[str, Any] | bytes,
    *,
    headers: dict[str, str] | None = None,
    api_code: str | None = None,
) -> httpx.Response:
    """POST an envelope with valid _api_* headers (for its infno) unless headers are given."""
    body = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    if api_code is None:
        try:
            api_code = str(json.loads(body).get("infno") or "1101")
        except ValueError:
            api_code = "1101"
    sent = ApiSignatureAuth.for_simulator().headers(api_code) if headers is None else headers
    return httpx.post(sim.base_url + DEFAULT_PATH, content=body, headers=sent, timeout=5)


def envelope(api_code: str = "1101", input_data: Any = PERSON, **fields: Any) -> dict[str, Any]:
    """A valid envelope for api_code."""
    built = build_envelope(
        EnvelopeDefaults(SAMPLE_ORG), api_code, next_msgid(SAMPLE_ORG), input_data
    )
    built.update(fields)
    return built


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "缺少服务网关的请求头!"),
        (
            ApiSignatureAuth.for_simulator(clock=lambda: time.time() - 31 * 60).headers("1101"),
            "签名时间戳超时!",
        ),
        (ApiSignatureAuth("stranger", "x").headers("1101"), "非法用户!"),
        (ApiSignatureAuth("misdk-demo-ak", "wrong").headers("1101"), "签名不一致!"),
    ],
    ids=["missing", "clock-skew", "unknown-ak", "bad-signature"],
)
def test_gateway_401_bodies(sim: RunningSimulator, headers: dict[str, str], message: str) -> None:
    """Each gateway failure is HTTP 401 with the protocol's exact JSON body."""
    response = post(sim, envelope(), headers=headers)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": message}
    assert sim.stats()["total"] == 0


def test_signed_api_name_must_match_infno(sim: RunningSimulator) -> None:
    """A signature for 1101 cannot carry a 2207 envelope."""
    data = post(sim, envelope("1201", {"data": {}}), api_code="1101").json()
    assert data["infcode"] == -1
    assert "不一致" in data["err_msg"]


@pytest.mark.parametrize(
    ("body", "err_msg"),
    [
        (b"{not json", "请求报文格式错误，无法解析JSON"),
        (json.dumps({"msgid": "x"}).encode(), "交易编号[infno]不能为空"),
        (json.dumps(envelope("0000")).encode(), "交易编号[infno=0000]不存在"),
        (json.dumps(envelope(msgid="")).encode(), "报文字段[msgid]不能为空"),
        (json.dumps(envelope(msgid="M" * 31)).encode(), "发送方报文ID[msgid]长度不能超过30"),
        (
            json.dumps(envelope(input_data={"data": {"mdtrt_cert_type": "02"}})).encode(),
            "就诊凭证编号[mdtrt_cert_no]不能为空",
        ),
    ],
    ids=["bad-json", "no-infno", "unknown-infno", "no-msgid", "long-msgid", "no-certificate"],
)
def test_envelope_and_input_validation(sim: RunningSimulator, body: bytes, err_msg: str) -> None:
    """Malformed requests get infcode -1 and a Chinese err_msg, output null."""
    data = post(sim, body).json()
    assert data["infcode"] == -1
    assert data["err_msg"] == err_msg
    assert data["output"] is None
    assert data["inf_refmsgid"] is None


def test_response_envelope_shape(sim: RunningSimulator) -> None:
    """A success carries the protocol's response fields."""
    response = post(sim, envelope())
    assert response.headers["content-type"].startswith("text/plain")
    data = response.json()
    assert data["infcode"] == 0
    assert len(data["inf_refmsgid"]) == 30
    assert len(data["respond_time"]) == 17
    assert set(data) >= {"err_msg", "warn_msg", "cainfo", "signtype", "output"}


def test_settlement_invariants_over_many_amounts(
    client: MedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """For any total, fund + person + hospital = total and account + cash = person."""
    import random as _random
    from decimal import Decimal

    from medical_insurance_sdk.simulator.workload import new_visit

    rng = _random.Random(21)
    for serial in range(15):
        visit = new_visit(rng, 100 + serial)
        visit.take_person(client.call("1101", visit.person_query()))
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        client.call("2204", visit.fee_upload())
        data = visit.settlement()
        data["data"]["medfee_sumamt"] = round(rng.uniform(0.01, 9999.99), 2)
        data["data"]["acct_used_flag"] = rng.choice(("0", "1"))
        info = client.call("2207", data)["setlinfo"]

        def d(name: str, info: dict[str, Any] = info) -> Decimal:
            return Decimal(str(info[name]))

        assert d("medfee_sumamt") == Decimal(str(data["data"]["medfee_sumamt"]))
        assert d("medfee_sumamt") == d("fund_pay_sumamt") + d("psn_part_amt") + d("hosp_part_amt")
        assert d("psn_part_amt") == d("acct_pay") + d("psn_cash_pay")
        assert min(d("acct_pay"), d("psn_cash_pay"), d("fund_pay_sumamt")) >= 0
        if data["data"]["acct_used_flag"] == "0":
            assert d("acct_pay") == 0


def test_strict_state_rejects_unknown_visits(client: MedicalInsuranceClient) -> None:
    """2203 for a visit never registered is refused (strict_state)."""
    from medical_insurance_sdk.exceptions import BusinessError

    with pytest.raises(BusinessError, match="就诊信息"):
        client.call(
            "2203",
            {
                "mdtrtinfo": {
                    "mdtrt_id": "MD-NOPE",
                    "psn_no": "1",
                    "med_type": "11",
                    "begntime": "2024-01-01 08:00:00",
                }
            },
        )


def test_same_person_same_data(client: MedicalInsuranceClient) -> None:
    """A certificate always maps to the same invented person (deterministic)."""
    first = client.call("1101", PERSON, use_cache=False)
    second = client.call("1101", PERSON, use_cache=False)
    assert first == second
    assert first["baseinfo"]["brdy"] == "1990-01-01"
    assert first["baseinfo"]["gend"] == "1"


@pytest.mark.parametrize(
    ("auth_config", "client_auth"),
    [
        (AuthConfig(scheme="tif", keys={"paas1": "s1"}), TifSignatureAuth("paas1", "s1")),
        (AuthConfig(scheme="bearer", tokens=("tok",)), BearerTokenAuth("tok")),
    ],
    ids=["tif", "bearer"],
)
def test_alternative_auth_schemes(
    collector: MetricsCollector, auth_config: AuthConfig, client_auth: Any
) -> None:
    """The simulator can enforce x-tif-* or bearer, and the client can speak them."""
    config = SimulatorConfig(seed=1, latency_scale=0, auth=auth_config)
    with (
        running_simulator(config) as other,
        MedicalInsuranceClient(
            other.base_url, SAMPLE_ORG, collector=collector, auth=client_auth
        ) as c,
    ):
        assert c.call("1101", PERSON)["baseinfo"]
        assert other.stats()["received"] == {"1101": 1}
        headers = other.stats()["last_headers"]["1101"]
        assert "x-tif-signature" not in headers or headers["x-tif-signature"] == "***"
        assert headers.get("authorization", "***") == "***"


def test_admin_endpoint(sim: RunningSimulator, client: MedicalInsuranceClient) -> None:
    """Stats, faults (put, patch, delete, validation), latency and reset over HTTP."""
    admin = sim.admin_url
    token = sim.admin_headers
    assert admin.startswith("http://127.0.0.1:")
    client.call("1101", PERSON)
    stats = httpx.get(admin + "/admin/stats").json()
    assert stats["received"] == {"1101": 1}
    assert stats["last_headers"]["1101"]["_api_signature"] == "***"
    put = httpx.put(admin + "/admin/faults", json={"2207": {"slowdown": 5}}, headers=token)
    assert put.json() == {"2207": {"slowdown": 5}}
    patched = httpx.patch(
        admin + "/admin/faults", json={"2207": {"business_error_rate": 0.3}}, headers=token
    )
    assert patched.json() == {"2207": {"slowdown": 5, "business_error_rate": 0.3}}
    bad = httpx.put(
        admin + "/admin/faults", json={"2207": {"business_error_rate": 2}}, headers=token
    )
    assert bad.status_code == 400
    assert httpx.get(admin + "/admin/faults").json()["2207"]["slowdown"] == 5
    assert httpx.delete(admin + "/admin/faults", headers=token).json() == {}
    unknown = httpx.put(admin + "/admin/faults", json={"2207": {"explode": 1}}, headers=token)
    assert unknown.status_code == 400
    latency = httpx.put(
        admin + "/admin/latency",
        json={"scale": 0, "2207": {"median_ms": 10, "p99_ms": 50}},
        headers=token,
    ).json()
    assert latency["latency"]["2207"] == {"median_ms": 10.0, "p99_ms": 50.0}
    assert httpx.post(admin + "/admin/reset", headers=token).json() == {"reset": True}
    assert httpx.get(admin + "/admin/stats").json()["total"] == 0
    config = httpx.get(admin + "/admin/config").json()
    assert config["seed"] == 7
    assert config["auth_scheme"] == "api"
    assert sim.admin_token not in json.dumps(config)


ADMIN_WRITES = [
    ("POST", "/admin/reset", None),
    ("PUT", "/admin/faults", {"2207": {"slowdown": 5}}),
    ("PATCH", "/admin/faults", {"2207": {"slowdown": 5}}),
    ("DELETE", "/admin/faults", None),
    ("PUT", "/admin/latency", {"scale": 0}),
]
WRITE_IDS = ["reset", "put-faults", "patch-faults", "delete-faults", "put-latency"]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_WRITES, ids=WRITE_IDS)
def test_admin_writes_need_the_token(
    sim: RunningSimulator, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Every admin write is refused without the token (401) or with a wrong one (403)."""
    sim.set_faults({"1101": {"slowdown": 2}})
    url = sim.admin_url + path
    missing = httpx.request(method, url, json=body)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    for wrong in (
        {"Authorization": "Bearer not-the-token"},
        {"X-Admin-Token": sim.admin_token + "x"},
        {"Authorization": f"Basic {sim.admin_token}"},
    ):
        refused = httpx.request(method, url, json=body, headers=wrong)
        assert refused.status_code in (401, 403), wrong
    assert sim.run(sim.simulator.plan.specs) == {"1101": {"slowdown": 2}}
    ok = httpx.request(method, url, json=body, headers={"X-Admin-Token": sim.admin_token})
    assert ok.status_code == 200, ok.text


def test_admin_reads_stay_open_on_loopback(sim: RunningSimulator) -> None:
    """Reads need no token: stats, faults and config answer 200 without one."""
    for path in ("/admin/stats", "/admin/faults", "/admin/config"):
        assert httpx.get(sim.admin_url + path).status_code == 200, path


def test_configured_admin_token_is_used_and_random_ones_differ() -> None:
    """A configured admin_token is the one accepted; without it each simulator draws its own."""
    token = "a-configured-token-123"
    with running_simulator(SimulatorConfig(latency_scale=0, admin_token=token)) as sim:
        assert sim.admin_token == token
        url = sim.admin_url + "/admin/reset"
        assert httpx.post(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with (
        running_simulator(SimulatorConfig(latency_scale=0)) as a,
        running_simulator(SimulatorConfig(latency_scale=0)) as b,
    ):
        assert len(a.admin_token) >= 16
        assert a.admin_token != b.admin_token
        refused = httpx.post(b.admin_url + "/admin/reset", headers=a.admin_headers)
        assert refused.status_code == 403


@pytest.mark.parametrize(
    "admin_token", ["", "short", "has space in it", "non-ascii-令牌-12345"], ids=str
)
def test_weak_or_unsendable_admin_token_is_rejected(admin_token: str) -> None:
    """An admin_token that is too short or cannot travel in a header fails at construction."""
    with pytest.raises(ValueError, match="admin_token"):
        SimulatorConfig(admin_token=admin_token)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:{port}",
        "localhost",
        "LOCALHOST:{port}",
        "[::1]",
        "[::1]:{port}",
    ],
)
def test_admin_accepts_loopback_host_headers(sim: RunningSimulator, host: str) -> None:
    """A Host header naming loopback (any port) is served."""
    port = sim.server.admin_port
    response = httpx.get(sim.admin_url + "/admin/stats", headers={"Host": host.format(port=port)})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.evil.example:{port}",
        "localhost.evil.example",
        "0.0.0.0:{port}",
        "::1",
        "[::1]x",
        "127.0.0.1:port",
        "192.168.1.10:{port}",
    ],
)
def test_admin_refuses_foreign_host_headers(sim: RunningSimulator, host: str) -> None:
    """DNS rebinding: a Host header that does not name loopback is refused, reads and writes."""
    port = sim.server.admin_port
    headers = {"Host": host.format(port=port), **sim.admin_headers}
    read = httpx.get(sim.admin_url + "/admin/stats", headers=headers)
    write = httpx.delete(sim.admin_url + "/admin/faults", headers=headers)
    assert (read.status_code, write.status_code) == (403, 403)
    assert "Host" in read.json()["error"]


def test_admin_accepts_the_configured_bind_host() -> None:
    """The platform's configured bind host is accepted as a Host header too; wildcards never."""
    with running_simulator(SimulatorConfig(latency_scale=0), host="127.0.0.2") as named:
        ok = httpx.get(named.admin_url + "/admin/stats", headers={"Host": "127.0.0.2:1"})
        assert ok.status_code == 200
    with running_simulator(SimulatorConfig(latency_scale=0), host="0.0.0.0") as wide:
        refused = httpx.get(wide.admin_url + "/admin/stats", headers={"Host": "0.0.0.0"})
        assert refused.status_code == 403


def test_admin_binds_to_loopback_only() -> None:
    """Even when the platform listens on all interfaces, admin listens on 127.0.0.1."""
    with running_simulator(SimulatorConfig(latency_scale=0), host="0.0.0.0") as wide:
        addresses = wide.server.addresses
        assert httpx.get(wide.admin_url + "/admin/stats").status_code == 200
    assert addresses["platform"][0] == "0.0.0.0"
    assert addresses["admin"][0] == "127.0.0.1"
