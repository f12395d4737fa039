"""Envelope security (docs/protocol.md §1): SM4 encryption of input/output, SM3withSM2 signing.

Some provinces encrypt the envelope's ``input`` with SM4 and mark it ``enc_type: "SM4"``
(the platform then encrypts ``output`` the same way), and sign the input in ``cainfo``
(Base64 of an SM3withSM2 signature) with ``signtype: "SM2"``. The deployment chooses; by
default the client sends neither. Example::

    security = EnvelopeSecurity(
        cipher=SM4Cipher("0123456789abcdeffedcba9876543210"),      # 16 bytes, hex
        signer=SM2Signer(private_key=HIS_PRIVATE_HEX, public_key=HIS_PUBLIC_HEX),
    )
    client = MedicalInsuranceClient(url, org, security=security)

Formats (a province's specification may differ; both are options here): SM4 in ECB mode
with PKCS#7 padding, the ciphertext Base64 (or upper-case hex) of the UTF-8 JSON text of
``input``; the signature is over that same JSON text (the plaintext), ``r || s`` as 64
bytes, Base64. SM4 runs on ``cryptography`` and SM2 on ``gmssl`` (the ``sm`` extra).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from medical_insurance_sdk.protocol.envelope import encode_json

__all__ = ["ENC_TYPE_SM4", "SIGN_TYPE_SM2", "EnvelopeSecurity", "SM2Signer", "SM4Cipher"]

ENC_TYPE_SM4 = "SM4"
SIGN_TYPE_SM2 = "SM2"
_SM4_BLOCK_BITS = 128
_PROBE = b"medical-insurance-sdk SM2 key check"
_SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


def _key_bytes(key: bytes | str) -> bytes:
    raw = key if isinstance(key, bytes) else _hex("SM4Cipher: key", key)
    if len(raw) != 16:
        raise ValueError(f"SM4Cipher: key must be 16 bytes or 32 hex characters (got {len(raw)})")
    return raw


def _hex(what: str, value: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} must be hexadecimal") from None


class SM4Cipher:
    """SM4-ECB with PKCS#7 padding; ciphertext as Base64 (default) or upper-case hex text."""

    __slots__ = ("_encoding", "_key")

    def __init__(self, key: bytes | str, *, encoding: Literal["base64", "hex"] = "base64") -> None:
        if encoding not in ("base64", "hex"):
            raise ValueError(f"SM4Cipher: encoding must be 'base64' or 'hex' (got {encoding!r})")
        self._key = _key_bytes(key)
        self._encoding = encoding
        self._cipher()  # fails now, with the install hint, when cryptography is missing

    def __repr__(self) -> str:  # never the key
        return f"SM4Cipher(encoding={self._encoding!r})"

    def _cipher(self) -> Any:
        try:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "SM4 needs the cryptography package: pip install 'medical-insurance-sdk[sm]'"
            ) from exc
        return Cipher(algorithms.SM4(self._key), modes.ECB())  # ECB: what the platform uses

    def encrypt(self, plaintext: bytes) -> str:
        """The ciphertext of ``plaintext``, as text."""
        from cryptography.hazmat.primitives import padding

        padder = padding.PKCS7(_SM4_BLOCK_BITS).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = self._cipher().encryptor()
        sealed: bytes = encryptor.update(padded) + encryptor.finalize()
        if self._encoding == "hex":
            return sealed.hex().upper()
        return base64.b64encode(sealed).decode("ascii")

    def decrypt(self, ciphertext: str) -> bytes:
        """The plaintext of ``ciphertext``; ValueError when it is not a valid ciphertext."""
        from cryptography.hazmat.primitives import padding

        try:
            if self._encoding == "hex":
                sealed = bytes.fromhex(ciphertext)
            else:
                sealed = base64.b64decode(ciphertext, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"SM4 ciphertext is not {self._encoding}") from exc
        if not sealed or len(sealed) % 16:
            raise ValueError("SM4 ciphertext length is not a multiple of 16 bytes")
        decryptor = self._cipher().decryptor()
        padded: bytes = decryptor.update(sealed) + decryptor.finalize()
        unpadder = padding.PKCS7(_SM4_BLOCK_BITS).unpadder()
        plain: bytes = unpadder.update(padded) + unpadder.finalize()  # ValueError: bad padding
        return plain


class SM2Signer:
    """SM3withSM2 signatures (Base64 of ``r || s``). Keys as hex: private 64, public 128.

    With a private key, the pair is checked at construction (a probe is signed and
    verified), so a mismatched pair fails here, not as refused signatures at the platform.
    gmssl is pure Python: a signature takes a few milliseconds (about 8 ms here), and its
    point arithmetic is not constant-time.
    """

    __slots__ = ("_crypt", "_private")

    def __init__(self, *, public_key: str, private_key: str | None = None) -> None:
        _hex("SM2Signer: public_key", public_key)
        if len(public_key) != 128:
            raise ValueError("SM2Signer: public_key must be 128 hex characters (x || y)")
        if private_key is not None:
            _hex("SM2Signer: private_key", private_key)
            if len(private_key) != 64:
                raise ValueError("SM2Signer: private_key must be 64 hex characters")
            if not 1 <= int(private_key, 16) <= _SM2_N - 2:
                raise ValueError("SM2Signer: private_key is out of range [1, n-2]")
        try:
            from gmssl import sm2
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "SM2 needs the gmssl package: pip install 'medical-insurance-sdk[sm]'"
            ) from exc
        self._private = private_key is not None
        self._crypt = sm2.CryptSM2(private_key=private_key or "", public_key=public_key)
        if self._private and not self.verify(_PROBE, self.sign(_PROBE)):
            raise ValueError("SM2Signer: public_key does not belong to private_key")

    def __repr__(self) -> str:  # never the keys
        return f"SM2Signer(can_sign={self._private})"

    def sign(self, data: bytes) -> str:
        """The Base64 SM3withSM2 signature of ``data`` (needs the private key)."""
        if not self._private:
            raise ValueError("SM2Signer: signing needs private_key")
        while True:  # a fresh secret k per signature; gmssl's own default is not secure
            k = secrets.randbelow(_SM2_N - 1) + 1
            signature = self._crypt.sign_with_sm3(data, f"{k:064x}")
            if signature is not None:  # None: a degenerate k (r or s zero), draw again
                return base64.b64encode(bytes.fromhex(signature)).decode("ascii")

    def verify(self, data: bytes, signature: str) -> bool:
        """True when ``signature`` (Base64) is a valid signature of ``data``."""
        try:
            raw = base64.b64decode(signature, validate=True)
        except (ValueError, binascii.Error):
            return False
        if len(raw) != 64:
            return False
        return bool(self._crypt.verify_with_sm3(raw.hex(), data))


@dataclass(frozen=True, slots=True)
class EnvelopeSecurity:
    """What a deployment adds to each envelope: SM4 encryption, an SM2 signature, or both."""

    cipher: SM4Cipher | None = None
    signer: SM2Signer | None = None

    def seal(self, input_data: Mapping[str, Any]) -> dict[str, Any]:
        """The envelope fields carrying ``input_data``: ``input``, and as configured
        ``enc_type``, ``cainfo`` and ``signtype``."""
        fields: dict[str, Any] = {"input": input_data}
        if self.cipher is None and self.signer is None:
            return fields
        text = encode_json(input_data)
        if self.signer is not None:
            fields["cainfo"] = self.signer.sign(text)
            fields["signtype"] = SIGN_TYPE_SM2
        if self.cipher is not None:
            fields["input"] = self.cipher.encrypt(text)
            fields["enc_type"] = ENC_TYPE_SM4
        return fields

    def open_output(self, output: Any) -> Any:
        """The response's ``output`` decrypted when it arrived as SM4 ciphertext.

        An output that is not a string passes unchanged, even with a cipher: platforms
        answer some errors, and some provinces every response, in plaintext. Raises
        ValueError when a string cannot be decrypted or is not JSON.
        """
        if not isinstance(output, str) or self.cipher is None:
            return output
        return json.loads(self.cipher.decrypt(output).decode("utf-8"))
