"""The platform's protocol, with no I/O: what the client sends and the simulator answers.

One module per part of docs/protocol.md, shared by the client, the simulator, the rules
generator and the analyzer (which import it, never the client):

* :mod:`.catalog`: the interface catalog (code, Chinese name, category, kind);
* :mod:`.catalog_docs`: the per-interface input reference generated from it;
* :mod:`.envelope` and :mod:`.msgid`: the request envelope and its message ids;
* :mod:`.envelope_security`: SM4 encryption and SM3withSM2 signing of the envelope;
* :mod:`.validation`: the per-interface input rules;
* :mod:`.auth`: the gateway's authentication headers, signed and verified.

The client re-exports the public names (``from medical_insurance_sdk.client import ...``).
"""

__all__: list[str] = []
