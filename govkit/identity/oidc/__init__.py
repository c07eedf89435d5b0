"""Login with an OpenID Provider: a relying-party client to the FAPI 2.0 security profile.

One :class:`OidcClient` per provider. A login is two requests of the application:

1. :meth:`OidcClient.start_login` makes the flow's secrets (``state``, ``nonce``, a
   PKCE S256 verifier, a fresh DPoP key), pushes the authorization request (PAR, with
   ``private_key_jwt`` and DPoP), keeps the secrets sealed in a take-once
   :class:`~govkit.stores.FlowStore` under the ``state``, and returns the URL to send
   the browser to;
2. :meth:`OidcClient.finish_login` takes the callback: ``state`` (once), the RFC 9207
   ``iss`` (the mix-up defence), the code redeemed with the PKCE verifier and a
   DPoP proof (one retry on the provider's nonce challenge, with a fresh proof and
   assertion), and the ID token validated (:class:`IdTokenValidator`: signature by a
   key of the provider's JWKS with an announced algorithm, never ``none`` or HMAC;
   ``iss``, ``aud``/``azp``, ``exp``, ``iat``, ``nonce``, ``acr`` at least what was
   asked, ``auth_time`` within ``max_age``, ``at_hash``).

Then :meth:`OidcClient.userinfo` (DPoP-bound, ``sub`` must match),
:meth:`OidcClient.refresh` (rotation), :meth:`OidcClient.logout_url` (RP-initiated
logout) and :meth:`OidcClient.verify_logout_token` (back-channel logout, replay
checked). A service that needs more assurance answers with an RFC 9470 challenge;
:meth:`OidcClient.start_step_up` re-authenticates with its ``acr_values`` and
``max_age``. Every network call has an ``a``-prefixed async form.

The limits of the calls to the provider and of the discovery cache are a
:class:`SourcePolicy`, the one every govkit source takes. Errors are ``oidc.*``
(:class:`~govkit.errors.OidcError`) and, for the ID token's JWS, times, issuer and
audience, ``token.*``.
"""

from govkit._http import SourcePolicy
from govkit.identity.oidc._client import (
    Login,
    LoginRequest,
    OidcClient,
    ProviderMetadata,
    StepUpChallenge,
    TokenSet,
    parse_step_up_challenge,
)
from govkit.identity.oidc._tokens import (
    DEFAULT_ACR_LEVELS,
    IdToken,
    IdTokenValidator,
    LogoutToken,
    LogoutTokenValidator,
)

__all__ = [
    "DEFAULT_ACR_LEVELS",
    "IdToken",
    "IdTokenValidator",
    "Login",
    "LoginRequest",
    "LogoutToken",
    "LogoutTokenValidator",
    "OidcClient",
    "ProviderMetadata",
    "SourcePolicy",
    "StepUpChallenge",
    "TokenSet",
    "parse_step_up_challenge",
]
