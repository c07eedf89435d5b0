"""A tax service on Django, protected by govkit (docs/guide/django.rst).

A one-file Django project: settings, views and URLs. Run it with
``gunicorn django_service:application`` (from this folder, with the environment
variables that ``service.build`` reads). In a real project the three parts live in
``settings.py``, ``views.py`` and ``urls.py``.
"""

from __future__ import annotations

import os

from django.conf import settings

# -- settings.py --------------------------------------------------------------------
settings.configure(
    SECRET_KEY=os.environ["DJANGO_SECRET_KEY"],
    ALLOWED_HOSTS=os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(","),
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    MIDDLEWARE=[
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "govkit.integrations.django.GovkitIdentityMiddleware",
    ],
    GOVKIT_IDENTITY={
        # a TokenVerifier, or a dotted path to one or to a function returning one
        "VERIFIER": f"{__name__}.verifier",
        # the URL clients use (DPoP proofs name it); never taken from the Host header
        "PUBLIC_URL": os.environ["GOVKIT_PUBLIC_URL"],
    },
)

import django  # noqa: E402 - after settings, as in a one-file project
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from service import build  # noqa: E402

from govkit.identity import AssuranceLevel, TokenVerifier  # noqa: E402
from govkit.integrations.django import payment_callback_view, require_identity  # noqa: E402

django.setup()
service = build()


def verifier() -> TokenVerifier:
    """The verifier the middleware and the decorator use (GOVKIT_IDENTITY['VERIFIER'])."""
    return service.verifier


# -- views.py -----------------------------------------------------------------------
@require_identity(AssuranceLevel.SUBSTANTIAL)
def returns(request: HttpRequest) -> JsonResponse:
    """The person's tax returns (here: who is asking)."""
    claims = request.identity  # the verified IdentityClaims
    return JsonResponse({"subject": claims.subject, "assurance": claims.assurance.label})


@require_identity(AssuranceLevel.HIGH, require_dpop=True)
def submit(request: HttpRequest) -> JsonResponse:
    """File a return: HIGH assurance and a DPoP proof."""
    return JsonResponse({"subject": request.identity.subject, "filed": "yes"})


# -- urls.py ------------------------------------------------------------------------
urlpatterns = [
    path("returns", returns),
    path("returns/submit", submit),
    # POST only and CSRF-exempt; each provider gets its own answer
    path("notify/wechatpay", payment_callback_view(lambda: service.inbox, service.wechat)),
    path("notify/alipay", payment_callback_view(lambda: service.inbox, service.alipay)),
]

application = get_wsgi_application()
