"""Identity tokens: one face-verified real-name login, many services, each verifying offline.

The identity provider issues a short-lived signed token (a compact JWS); every service
verifies it itself, with keys from configuration, and can demand a higher assurance level:

>>> from datetime import datetime, timedelta, timezone
>>> from govkit.identity import (AssuranceLevel, TokenIssuer, TokenVerifier,
...                              pairwise_subject)
>>> from govkit.keys import KeyRing, SigningKey
>>> from govkit.testing import FixedClock
>>> clock = FixedClock(datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc))
>>> ring = KeyRing(SigningKey.generate("ES256"), clock=clock)
>>> issuer = TokenIssuer(ring, issuer="https://login.gov.example", clock=clock)
>>> subject = pairwise_subject(b"k" * 32, "11010519491231002X", "tax.gov.example")
>>> token = issuer.issue(subject, "https://tax.gov.example", AssuranceLevel.HIGH,
...                      timedelta(minutes=10), amr=["face"], scope="tax.read")
>>> verifier = TokenVerifier(ring, issuer="https://login.gov.example",
...                          audience="https://tax.gov.example",
...                          min_assurance=AssuranceLevel.SUBSTANTIAL, clock=clock)
>>> claims = verifier.verify(token)
>>> claims.subject == subject, claims.assurance.name, claims.amr, claims.scope
(True, 'HIGH', ('face',), ('tax.read',))
>>> TokenVerifier(ring, issuer="https://login.gov.example", audience="https://other.gov.example",
...               clock=clock).verify(token)
Traceback (most recent call last):
    ...
govkit.errors.WrongAudience: claim 'aud' is not this audience
>>> verifier.inspect(token + "x").code
'token.malformed'

What a service gets, and what it never has to write:

* :class:`TokenIssuer` signs with a :class:`~govkit.keys.SigningKey`, an HSM/KMS
  :class:`~govkit.keys.Signer` or a rotating :class:`~govkit.keys.KeyRing`; it refuses
  resident ID numbers in any claim (:class:`~govkit.errors.ClaimNotAllowed`) and writes
  an audit event per token. :func:`pairwise_subject` makes per-sector pseudonyms so
  services cannot correlate people.
* :class:`TokenVerifier` pins the token type (``at+jwt`` access tokens, ``JWT`` ID
  tokens), the issuer, the audience, the key's own algorithm (no ``none``, no HMAC, no
  keys from the token), requires ``exp``, ``iat``, ``sub``, ``jti`` and ``acr``, and
  refuses every non-canonical encoding. Each failure is its own
  :class:`~govkit.errors.TokenError` with a stable ``code`` that is safe to log.
  :meth:`TokenVerifier.inspect` runs the same checks and returns a
  :class:`TokenReport`.
* :class:`AssuranceLevel` is the eIDAS level of assurance carried in ``acr``;
  :data:`AMR_VALUES` are the RFC 8176 authentication methods (``face``, ``pwd``...).
* :class:`JwksSource` is a :class:`KeySource` that fetches a configured JWKS URL (with
  caching, a refresh cooldown and stale-while-error); :class:`~govkit.keys.KeyRing` is
  the other. Its fetch and cache limits are a :class:`SourcePolicy`, the same one the
  certificate list sources and the payment clients take.
* Sender-constrained tokens (RFC 9449): :func:`create_dpop_proof` on the client,
  ``TokenVerifier(dpop=DPoPVerifier(...))`` on the service, which then requires a
  proof by the key named in the token's ``cnf.jkt``.
* :func:`inspect_fapi2_provider` reads an OpenID provider's discovery document and
  reports, check by check (a :class:`Fapi2Report`), whether it shows the FAPI 2.0
  Security Profile: PAR required, PKCE S256, ``private_key_jwt``, DPoP, RFC 9207
  ``iss``, no ``none`` or HMAC, https (``govkit oidc check``).
* :mod:`govkit.identity.oidc` logs people in with such a provider:
  :class:`~govkit.identity.oidc.OidcClient` (PAR, PKCE, ``private_key_jwt``, DPoP, the
  RFC 9207 mix-up defence, ID token validation, userinfo, refresh, logout, step-up),
  its flow state in a take-once :class:`~govkit.stores.FlowStore`.
* Stores for revocation (``TokenVerifier(store=...)``: revoked ``jti`` values and "log
  out everywhere") and for DPoP replay: :class:`MemoryIdentityStore`,
  :class:`SQLiteIdentityStore`, :class:`PostgresIdentityStore`, implementing
  :class:`RevocationStore` and :class:`ReplayStore`. They read no clock: the
  verifiers pass their verification time (``now=``). They live in
  :mod:`govkit.stores` (re-exported here), next to separate replay and revocation
  stores (:class:`~govkit.stores.SQLiteReplayStore`,
  :class:`~govkit.stores.SQLiteRevocationStore`...) any verifier accepts.
"""

from govkit._http import SourcePolicy
from govkit.identity._assurance import AMR_VALUES, AssuranceLevel
from govkit.identity._claims import IdentityClaims, Profile
from govkit.identity._dpop import DPoPProof, DPoPVerifier, create_dpop_proof
from govkit.identity._fapi import Fapi2Report, inspect_fapi2_discovery, inspect_fapi2_provider
from govkit.identity._jwks import JwksSource
from govkit.identity._stores import (
    MemoryIdentityStore,
    PostgresIdentityStore,
    ReplayStore,
    RevocationStore,
    SQLiteIdentityStore,
    upgrade_identity_store,
)
from govkit.identity._tokens import (
    KeySource,
    TokenCheck,
    TokenIssuer,
    TokenReport,
    TokenVerifier,
    pairwise_subject,
)

__all__ = [
    "AMR_VALUES",
    "AssuranceLevel",
    "DPoPProof",
    "DPoPVerifier",
    "Fapi2Report",
    "IdentityClaims",
    "JwksSource",
    "KeySource",
    "MemoryIdentityStore",
    "PostgresIdentityStore",
    "Profile",
    "ReplayStore",
    "RevocationStore",
    "SQLiteIdentityStore",
    "SourcePolicy",
    "TokenCheck",
    "TokenIssuer",
    "TokenReport",
    "TokenVerifier",
    "create_dpop_proof",
    "inspect_fapi2_discovery",
    "inspect_fapi2_provider",
    "pairwise_subject",
    "upgrade_identity_store",
]
