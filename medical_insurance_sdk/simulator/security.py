"""The simulator's side of envelope security: SM4-encrypted input/output, SM2 signatures.

When the simulator is given an SM4 key (``sm4_key`` in its config), a request with
``enc_type: "SM4"`` has its ``input`` decrypted before processing, and its answer's
``output`` encrypted with the same key (``enc_type: "SM4"`` in the response). Given the
HIS's SM2 public key (``sm2_public_key``), a request's ``cainfo`` is verified against the
plaintext input, as the platform does; a request without one is accepted. The formats
are the client's (:mod:`medical_insurance_sdk.protocol.envelope_security`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from medical_insurance_sdk.protocol.envelope import encode_json
from medical_insurance_sdk.protocol.envelope_security import ENC_TYPE_SM4, SM2Signer, SM4Cipher
from medical_insurance_sdk.simulator.platform import Reply

__all__ = ["SimulatorSecurity"]


class SimulatorSecurity:
    """Opens sealed requests and seals the answers to them."""

    def __init__(
        self, sm4_key: str | None, sm2_public_key: str | None, encoding: str = "base64"
    ) -> None:
        self._cipher = (
            SM4Cipher(sm4_key, encoding="hex" if encoding == "hex" else "base64")
            if sm4_key
            else None
        )
        self._verifier = SM2Signer(public_key=sm2_public_key) if sm2_public_key else None

    def open(self, envelope: dict[str, Any]) -> Reply | None:
        """Replace a sealed ``input`` by its plaintext in place; an error reply if it fails."""
        enc_type = envelope.get("enc_type")
        raw = envelope.get("input")
        text: bytes | None = None  # the signed text: the plaintext input as sent
        if enc_type:
            if enc_type != ENC_TYPE_SM4 or self._cipher is None:
                return Reply.error(f"不支持的加密类型[enc_type={enc_type}]")
            if not isinstance(raw, str):
                return Reply.error("加密报文的交易输入[input]必须为密文字符串")
            try:
                text = self._cipher.decrypt(raw)
                envelope["input"] = json.loads(text.decode("utf-8"))
            except ValueError:
                return Reply.error("报文解密失败，请检查SM4密钥")
        cainfo = envelope.get("cainfo")
        if self._verifier is None or not cainfo:
            return None
        if text is None:
            text = encode_json(raw)
        if not isinstance(cainfo, str) or not self._verifier.verify(text, cainfo):
            return Reply.error("数字签名验证失败[cainfo]")
        return None

    def seal(self, envelope: dict[str, Any], reply: Reply) -> Reply:
        """The reply to ``envelope``, its output encrypted when the request was."""
        if envelope.get("enc_type") != ENC_TYPE_SM4 or self._cipher is None:
            return reply
        if reply.output is None or isinstance(reply.output, str):
            return reply
        return replace(reply, output=self._cipher.encrypt(encode_json(reply.output)), sealed=True)
