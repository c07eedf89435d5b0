"""The verified claims of an identity token (implementation of :mod:`govkit.identity`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias

from govkit.clock import require_aware
from govkit.errors import ConfigurationError
from govkit.identity._assurance import AssuranceLevel

__all__ = ["IdentityClaims", "Profile"]

#: The two token profiles: ``access`` (RFC 9068 ``at+jwt``) and ``id`` (``JWT``).
Profile: TypeAlias = Literal["access", "id"]

# Characters that str.isprintable() accepts but that render as nothing or as a blank:
# the Default_Ignorable_Code_Point characters of Unicode's DerivedCoreProperties.txt (14.0)
# that are letters or marks (the others are Cf or Cn, which isprintable() refuses already:
# U+00AD, U+200B-U+200F, U+2060-U+206F, U+FEFF, tags...) and U+2800 BRAILLE PATTERN BLANK.
_BLANK_PRINTABLE: Final = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ / AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS (and VOWEL SEPARATOR)
    (0x2800, 0x2800),  # BRAILLE PATTERN BLANK
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS 1-16
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xE0000, 0xE0FFF),  # tags and VARIATION SELECTORS 17-256
)


def has_visible_character(text: str) -> bool:
    """Whether ``text`` holds at least one character that is drawn as something.

    Not visible: separators and spaces (Unicode ``Z*``, U+00A0, U+3000 ideographic
    space), controls (``Cc``), format characters (``Cf``: U+200B-U+200D zero-width
    characters, U+2060 word joiner, U+FEFF), surrogates, private-use and unassigned
    code points (everything :meth:`str.isprintable` refuses besides), and the printable
    blanks above (Hangul fillers, variation selectors, U+2800). A ``sub`` made only of
    these would look empty in every log and screen.

    >>> has_visible_character("pseudonym-7f3a"), has_visible_character("\\u3000\\u200b ")
    (True, False)
    """
    for char in text:
        if "!" <= char <= "~":  # the common case: printable ASCII
            return True
        if char >= "\x80" and char.isprintable() and not char.isspace():
            code = ord(char)
            if not any(low <= code <= high for low, high in _BLANK_PRINTABLE):
                return True
    return False


@dataclass(frozen=True, slots=True)
class IdentityClaims:
    """What a verified identity token says, typed.

    Only :class:`~govkit.identity.TokenVerifier` makes these from tokens; every
    field has been checked. Times are aware UTC datetimes.

    Attributes:
        issuer: ``iss``, exactly the verifier's configured issuer.
        subject: ``sub``, a stable pseudonym of the person (see
            :func:`~govkit.identity.pairwise_subject`).
        audience: ``aud``, the verifier's own audience.
        assurance: ``acr`` as an :class:`AssuranceLevel`.
        amr: ``amr``, the authentication methods used (``("face",)``), maybe empty.
        scope: ``scope`` split on spaces, maybe empty.
        issued_at: ``iat``.
        not_before: ``nbf``, or ``iat`` when the token has no ``nbf``.
        expires_at: ``exp``.
        token_id: ``jti``, unique per token (revocation and replay key).
        profile: ``"access"`` or ``"id"``, from the header ``typ``.
        kid: the key id of the key that verified the signature.
        confirmation_jkt: ``cnf.jkt``, the RFC 7638 thumbprint of the DPoP key the
            token is bound to, or ``None`` for a bearer token.
        extra: every other claim, read-only.
    """

    issuer: str
    subject: str
    audience: str
    assurance: AssuranceLevel
    amr: tuple[str, ...]
    scope: tuple[str, ...]
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    token_id: str
    profile: Profile
    kid: str
    confirmation_jkt: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("issuer", "subject", "audience", "token_id", "kid"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"IdentityClaims.{name} must be a non-empty string")
        if not has_visible_character(self.subject):
            raise ConfigurationError("IdentityClaims.subject must contain a visible character")
        if not isinstance(self.assurance, AssuranceLevel):
            raise ConfigurationError("IdentityClaims.assurance must be an AssuranceLevel")
        if self.profile not in ("access", "id"):
            raise ConfigurationError("IdentityClaims.profile must be 'access' or 'id'")
        for name in ("issued_at", "not_before", "expires_at"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is not UTC:
                object.__setattr__(self, name, require_aware(value, name))
        if type(self.amr) is not tuple:
            object.__setattr__(self, "amr", tuple(self.amr))
        if type(self.scope) is not tuple:
            object.__setattr__(self, "scope", tuple(self.scope))
        if not all(isinstance(v, str) for v in (*self.amr, *self.scope)):
            raise ConfigurationError("IdentityClaims.amr and scope must hold strings")
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @classmethod
    def _verified(  # noqa: PLR0917 - every field, in order
        cls,
        issuer: str,
        subject: str,
        audience: str,
        assurance: AssuranceLevel,
        amr: tuple[str, ...],
        scope: tuple[str, ...],
        issued_at: datetime,
        not_before: datetime,
        expires_at: datetime,
        token_id: str,
        profile: Profile,
        kid: str,
        confirmation_jkt: str | None,
        extra: Mapping[str, Any],
    ) -> IdentityClaims:
        """Claims from :class:`~govkit.identity.TokenVerifier`, which has checked every field.

        Skips :meth:`__post_init__`'s re-validation (it costs about 3 us per token):
        the slots are filled on an :class:`_UnfrozenClaims` (no frozen
        ``__setattr__``), which then becomes an ``IdentityClaims``. ``extra`` must
        already be a read-only mapping and times aware UTC datetimes.
        """
        claims: Any = _UnfrozenClaims()  # no __init__: quicker than object.__new__
        claims.issuer = issuer
        claims.subject = subject
        claims.audience = audience
        claims.assurance = assurance
        claims.amr = amr
        claims.scope = scope
        claims.issued_at = issued_at
        claims.not_before = not_before
        claims.expires_at = expires_at
        claims.token_id = token_id
        claims.profile = profile
        claims.kid = kid
        claims.confirmation_jkt = confirmation_jkt
        claims.extra = extra
        claims.__class__ = cls
        return claims  # type: ignore[no-any-return]

    def has_scope(self, *scopes: str) -> bool:
        """Whether the token grants every one of ``scopes``."""
        return all(s in self.scope for s in scopes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: claim values by field name, times in ISO 8601."""
        return {
            "issuer": self.issuer,
            "subject": self.subject,
            "audience": self.audience,
            "assurance": self.assurance.label,
            "amr": list(self.amr),
            "scope": list(self.scope),
            "issued_at": self.issued_at.isoformat(),
            "not_before": self.not_before.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "token_id": self.token_id,
            "profile": self.profile,
            "kid": self.kid,
            "confirmation_jkt": self.confirmation_jkt,
            "extra": dict(self.extra),
        }


class _UnfrozenClaims:
    """:class:`IdentityClaims`' slots without its frozen ``__setattr__``, for
    :meth:`IdentityClaims._verified`: plain attribute stores fill one, then its
    ``__class__`` becomes ``IdentityClaims``. CPython allows that assignment exactly
    when the two classes have the same slots over the same base (the same memory
    layout), which this class has by construction.
    """

    __slots__ = IdentityClaims.__slots__
