"""Citizens log in to a Django service through the identity provider (docs/guide/django.rst).

This module is a URLconf (``ROOT_URLCONF = "login_django"``); the environment that
``login_setup.build_logins`` reads configures the login. For ASGI pass
``asynchronous=True`` to ``login_urls``. tests/integration/integrations/test_login_routes.py
runs this file.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from login_setup import build_logins

from govkit.identity import AssuranceLevel
from govkit.integrations.django import login_urls, require_login

logins = build_logins()


@require_login(logins)
def me(request: HttpRequest) -> JsonResponse:
    """Who is logged in (no session: a redirect to /login?next=/me)."""
    session = request.login_session  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "subject": session.subject,
            "sid": session.sid,
            "assurance": session.assurance.label if session.assurance else None,
        }
    )


@require_login(logins, AssuranceLevel.HIGH)
def submit(request: HttpRequest) -> JsonResponse:
    """Filing needs face verification: a weaker login is sent back to log in (step-up)."""
    return JsonResponse({"filed_by": request.login_session.subject})  # type: ignore[attr-defined]


urlpatterns = [
    # login, callback, logout (POST, with Django's CSRF token), backchannel-logout
    *login_urls(logins),
    path("me", me),
    path("returns/submit", submit),
]
