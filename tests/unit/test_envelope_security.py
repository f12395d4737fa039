"""SM4 envelope encryption and SM3withSM2 signatures: standard vectors and misuse."""

from __future__ import annotations

import base64
import json

import pytest

from medical_insurance_sdk.client import EnvelopeSecurity, SM2Signer, SM4Cipher
from medical_insurance_sdk.client.response import parse_response
from medical_insurance_sdk.exceptions import ResponseParseError

# GB/T 32907-2016 (SM4) and GB/T 32918 (SM2) example values.
SM4_KEY = "0123456789abcdeffedcba9876543210"
SM4_BLOCK_CIPHERTEXT = "681edf34d206965e86b3e94f536e4246"
SM2_PRIVATE = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
SM2_PUBLIC = (
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)


def test_sm4_matches_the_standard_vector():
    """One block of the GB/T 32907 example encrypts to the standard's ciphertext."""
    cipher = SM4Cipher(SM4_KEY, encoding="hex")
    sealed = cipher.encrypt(bytes.fromhex(SM4_KEY))
    assert sealed[:32] == SM4_BLOCK_CIPHERTEXT.upper()  # then one block of PKCS#7 padding
    assert len(sealed) == 64
    assert cipher.decrypt(sealed) == bytes.fromhex(SM4_KEY)


@pytest.mark.parametrize("encoding", ["base64", "hex"])
def test_sm4_round_trips_chinese_json(encoding):
    """Any UTF-8 text survives; the key never shows in repr."""
    cipher = SM4Cipher(bytes.fromhex(SM4_KEY), encoding=encoding)
    text = json.dumps({"data": {"psn_name": "张三", "n": 1}}, ensure_ascii=False).encode()
    assert cipher.decrypt(cipher.encrypt(text)) == text
    assert SM4_KEY not in repr(cipher)


@pytest.mark.parametrize(
    ("key", "message"),
    [("0123", "16 bytes"), ("zz" * 16, "hexadecimal"), (b"short", "16 bytes")],
)
def test_sm4_rejects_bad_keys(key, message):
    """A key of the wrong size or form is a ValueError naming the problem."""
    with pytest.raises(ValueError, match=message):
        SM4Cipher(key)


def test_sm4_rejects_bad_ciphertext():
    """Not Base64, a partial block, or the wrong key: ValueError."""
    cipher = SM4Cipher(SM4_KEY)
    with pytest.raises(ValueError, match="base64"):
        cipher.decrypt("not base64!")
    with pytest.raises(ValueError, match="multiple of 16"):
        cipher.decrypt(base64.b64encode(b"12345").decode())
    other = SM4Cipher("00" * 16).encrypt(b'{"a":1}')
    with pytest.raises(ValueError, match=r"[Pp]adding"):  # the wrong key breaks the padding
        cipher.decrypt(other)


def test_sm2_signature_verifies_and_detects_tampering():
    """A signature verifies with the public key, fails on changed data or signature."""
    signer = SM2Signer(private_key=SM2_PRIVATE, public_key=SM2_PUBLIC)
    verifier = SM2Signer(public_key=SM2_PUBLIC)
    data = b'{"data":{"psn_no":"43000000000000000001"}}'
    signature = signer.sign(data)
    assert len(base64.b64decode(signature)) == 64
    assert signature != signer.sign(data)  # a fresh k each time
    assert verifier.verify(data, signature)
    assert not verifier.verify(data + b" ", signature)
    assert not verifier.verify(data, base64.b64encode(b"\0" * 64).decode())
    assert not verifier.verify(data, "###")
    with pytest.raises(ValueError, match="private_key"):
        verifier.sign(data)
    assert SM2_PRIVATE not in repr(signer)


def test_sm2_rejects_malformed_keys():
    """Keys of the wrong length or form are ValueErrors."""
    with pytest.raises(ValueError, match="128 hex"):
        SM2Signer(public_key="ab" * 10)
    with pytest.raises(ValueError, match="64 hex"):
        SM2Signer(public_key=SM2_PUBLIC, private_key="ab")
    with pytest.raises(ValueError, match="hexadecimal"):
        SM2Signer(public_key="zz" * 64)
    with pytest.raises(ValueError, match="out of range"):
        SM2Signer(public_key=SM2_PUBLIC, private_key="0" * 64)
    with pytest.raises(ValueError, match="does not belong"):
        SM2Signer(public_key=SM2_PUBLIC, private_key="1" * 64)


def test_envelope_security_seals_input_and_opens_output():
    """seal() gives input as ciphertext with enc_type, cainfo and signtype; open reverses."""
    security = EnvelopeSecurity(
        cipher=SM4Cipher(SM4_KEY), signer=SM2Signer(private_key=SM2_PRIVATE, public_key=SM2_PUBLIC)
    )
    data = {"data": {"psn_no": "43000000000000000001", "psn_name": "张三"}}
    fields = security.seal(data)
    assert fields["enc_type"] == "SM4"
    assert fields["signtype"] == "SM2"
    assert "张三" not in fields["input"]
    text = SM4Cipher(SM4_KEY).decrypt(fields["input"])
    assert json.loads(text) == data
    assert SM2Signer(public_key=SM2_PUBLIC).verify(text, fields["cainfo"])
    assert security.open_output(SM4Cipher(SM4_KEY).encrypt(b'{"x":[1]}')) == {"x": [1]}
    assert security.open_output({"plain": True}) == {"plain": True}
    assert EnvelopeSecurity().seal(data) == {"input": data}


def test_an_output_that_cannot_be_opened_is_a_parse_error():
    """Ciphertext under another key, or not ciphertext at all: ResponseParseError."""
    security = EnvelopeSecurity(cipher=SM4Cipher(SM4_KEY))
    for output in (SM4Cipher("11" * 16).encrypt(b'{"a":1}'), "不是密文"):
        body = json.dumps({"infcode": 0, "enc_type": "SM4", "output": output}).encode()
        with pytest.raises(ResponseParseError, match="解密失败"):
            parse_response(body, api_code="1101", msgid="m", open_output=security.open_output)
    body = json.dumps({"infcode": 0, "output": SM4Cipher(SM4_KEY).encrypt(b'{"a":[1]}')})
    opened = parse_response(
        body.encode(), api_code="1101", msgid="m", open_output=security.open_output
    )
    assert opened.output == {"a": [1]}


def test_the_input_limit_applies_to_the_ciphertext():
    """40 000 characters of Chinese input fit in plaintext but not once encrypted."""
    from medical_insurance_sdk.client import MedicalInsuranceClient
    from medical_insurance_sdk.exceptions import ValidationError

    data = {"data": {"memo": "门诊" * 6000}}  # 12 000 characters, ~48 000 in Base64
    sealed = MedicalInsuranceClient(
        "http://127.0.0.1:9", "H43010500001", monitoring=False, validate=False,
        security=EnvelopeSecurity(cipher=SM4Cipher(SM4_KEY)),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="加密后的交易输入"):
        sealed.call("9999", data)
    sealed.close()
