"""Optional glue between govkit and web frameworks (extras only).

Each framework has its own module, imported only by an application that uses it; nothing
here is imported by ``import govkit``:

* :mod:`govkit.integrations.fastapi` (``pip install govkit[fastapi]``): a dependency
  returning verified :class:`~govkit.identity.IdentityClaims`, and a payment-callback
  endpoint and router;
* :mod:`govkit.integrations.flask` (``govkit[flask]``): the ``GovkitIdentity``
  extension, a ``require_identity`` decorator setting ``flask.g.identity``, and a
  payment-callback view;
* :mod:`govkit.integrations.django` (``govkit[django]``): middleware setting
  ``request.identity``, a ``require_identity`` view decorator and a payment-callback view.

All three answer the same way (the framework-neutral mapping lives in one private
module): ``401`` with a ``WWW-Authenticate`` challenge (RFC 6750, RFC 9449) for a missing
or invalid token, the RFC 9470 step-up challenge
(``error="insufficient_user_authentication"`` with ``acr_values``) for too low an
assurance level, ``use_dpop_nonce`` with a ``DPoP-Nonce`` header when the server's DPoP
nonce is required, ``400 invalid_request`` for a malformed ``Authorization`` header, and
``503`` when a key source or the replay store cannot answer (fail closed). Payment
callbacks get each provider's own answer; a store failure is answered with the
provider's *retry* answer (a 5xx), never with "success". The ``error_description`` of a
challenge is a govkit error code: it never holds anything from the token.

Browser login (OpenID Connect, with :class:`~govkit.identity.oidc.OidcClient`):
:class:`LoginManager` holds what the login, callback, logout and back-channel logout
routes of each framework do (``login_router`` for FastAPI, ``login_blueprint`` for
Flask, ``login_urls`` for Django) and checks each request's :class:`LoginSession`, a
sealed cookie tied to the ID token's ``sid`` (``require_login``).

Importing a module whose framework is not installed raises
:class:`~govkit.errors.ConfigurationError` naming the extra to install.
"""

from govkit.integrations._login import LoginManager, LoginSession

__all__ = ["LoginManager", "LoginSession"]
