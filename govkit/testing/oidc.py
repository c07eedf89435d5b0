"""An OpenID Provider on loopback for applications' own login tests.

:class:`LocalProvider` runs in a thread of the test process on ``http://127.0.0.1`` and a
free port, and speaks the FAPI 2.0 flow :class:`~govkit.identity.oidc.OidcClient` drives:
discovery, JWKS, pushed authorization requests with ``private_key_jwt``, PKCE S256,
DPoP with server nonces, the RFC 9207 ``iss``, the code and refresh grants (refresh
tokens rotate), userinfo, RP-initiated logout and signed back-channel logout tokens.
:meth:`LocalProvider.authorize` plays the browser: it logs the ``login_hint`` subject in
and returns the callback URL. It is defined in :mod:`govkit.identity.oidc.loopback`
(which ``govkit demo`` uses too).

>>> from govkit.identity.oidc import OidcClient
>>> from govkit.keys import SigningKey
>>> from govkit.stores import MemoryFlowStore
>>> client_key = SigningKey.generate("ES256")
>>> with LocalProvider(client_keys=[client_key.verifying_key]) as provider:
...     client = OidcClient(
...         provider.issuer,
...         client_id=provider.client_id,
...         client_key=client_key,
...         redirect_uri=provider.redirect_uris[0],
...         flows=MemoryFlowStore(key=bytes(32)),
...     )
...     started = client.start_login(login_hint="citizen-0001")
...     login = client.finish_login(
...         provider.authorize(started.url), expected_state=started.state
...     )
...     client.close()
>>> login.subject
'citizen-0001'
"""

from govkit.identity.oidc.loopback import LocalProvider, ProviderErrorPage

__all__ = ["LocalProvider", "ProviderErrorPage"]
