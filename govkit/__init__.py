"""govkit: the public components every digital-government app needs.

>>> import govkit
>>> isinstance(govkit.__version__, str)
True

The components, each a subpackage (or module) with its own ``__all__``:

* :mod:`govkit.keys`: signing and verifying keys (EdDSA, ES256, PS256, RS256; SM2 with
  the ``govkit[sm]`` extra), key rings with rotation, JWK and JWKS, the ``Signer``
  protocol for HSMs and cloud KMS.
* :mod:`govkit.stores`: shared state. Replay, revocation and take-once flow stores in
  memory, SQLite or PostgreSQL; they read no clock (the caller passes ``now=``), and
  the SQL ones reconnect after a server restart, open read-only for verification and
  record their schema version (``govkit db upgrade``).
* :mod:`govkit.audit`: a tamper-evident transparency log (RFC 6962 Merkle tree, C2SP
  signed-note checkpoints, witness cosignatures) on SQLite or PostgreSQL.
* :mod:`govkit.identity`: identity tokens (issue and strict verify), JWKS, DPoP,
  assurance levels; :mod:`govkit.identity.cn`: resident ID numbers and unified social
  credit codes.
* :mod:`govkit.certificates`: electronic licences in a compact QR code, signed trust
  and status lists (revocation is always checked), the verifier state, selective
  presentations bound to the holder's device, and licence PDFs.
* :mod:`govkit.pdf`: rendering documents to PDF. :mod:`govkit.esign`: PAdES and
  detached signatures, multi-party signing.
* :mod:`govkit.payments`: verified payment callbacks (WeChat Pay, Alipay, UnionPay,
  Stripe, Standard Webhooks), the payment inbox, orders, provider clients and
  reconciliation.
* :mod:`govkit.report`: ``Check`` and ``Report``, the one verdict model every
  ``inspect()`` returns; a check that was not performed is never counted as passed.
* :mod:`govkit.errors`: the one error tree, each error with a stable ``code``, and its
  messages in English and Chinese.
* :mod:`govkit.clock`: the ``Clock`` protocol; aware UTC everywhere.
* :mod:`govkit.testing`: fakes for applications' own tests (``FixedClock``, signed
  payment callbacks).
* :mod:`govkit.cli`: the ``govkit`` command, a thin shell over the public API.
"""

__version__ = "0.1.0"
