"""``govkit trust``, ``govkit issue``, ``govkit revoke`` and the licence branch of ``verify``.

Issuer-side status state is one JSON file (``--status-state``): the unsigned status
list, the status index of every licence issued with it, and the last sequence
signed. Every licence gets a status index (a licence that could never be revoked is not
issued), so ``govkit issue`` requires it; ``--status-out`` also publishes the signed
status list. ``govkit revoke`` updates the state and writes the signed status list.
"""

from __future__ import annotations

import argparse
import difflib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from govkit._json import loads_object
from govkit.certificates import (
    TRUST_LIST_MAX_BYTES,
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    LicenceRegistry,
    Status,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_trust_list,
    sign_status_list,
    sign_trust_list,
)
from govkit.cli._app import (
    CliEnvironmentError,
    CliUsageError,
    Output,
    env_password,
    table,
)
from govkit.cli._files import read_file, refuse_existing, write_file
from govkit.cli._i18n import t, term
from govkit.cli._report import emit_report
from govkit.cli._types import duration, iso_date, name_value
from govkit.errors import InvalidKey
from govkit.esign import load_certificates, spki_sha256
from govkit.keys import SigningKey, VerifyingKey


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``trust``, ``issue`` and ``revoke``."""
    trust = sub.add_parser("trust", parents=[common], help="create and sign trust lists")
    trust_sub = trust.add_subparsers(dest="trust_command", metavar="SUBCOMMAND", required=True)
    create = trust_sub.add_parser("create", parents=[common], help="a new, empty, signed list")
    create.add_argument(
        "--anchor", required=True, type=Path, metavar="KEYFILE", help="the trust anchor's key"
    )
    create.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="where to write the list"
    )
    create.add_argument(
        "--valid-for",
        type=duration,
        default=timedelta(days=30),
        metavar="DURATION",
        help="how long the list is valid (default 30d)",
    )
    create.add_argument("--password-env", metavar="VAR", help="password of the anchor key")
    create.add_argument("--force", action="store_true", help="replace an existing file")
    create.set_defaults(handler=cmd_trust_create)
    add = trust_sub.add_parser(
        "add-issuer", parents=[common], help="add an issuer key and re-sign the list"
    )
    add.add_argument("trust_file", type=Path, metavar="FILE", help="the trust list to update")
    add.add_argument(
        "--anchor", required=True, type=Path, metavar="KEYFILE", help="the trust anchor's key"
    )
    add.add_argument("--name", required=True, metavar="AGENCY", help="the issuing authority")
    add.add_argument("--uscc", required=True, metavar="CODE", help="its unified social credit code")
    add.add_argument("--key", required=True, type=Path, metavar="PUBKEY", help="issuer key")
    add.add_argument(
        "--types",
        required=True,
        metavar="T1,T2",
        help=f"licence types it signs: {', '.join(LicenceRegistry.default().names())}",
    )
    add.add_argument(
        "--valid-for",
        type=duration,
        default=timedelta(days=30),
        metavar="DURATION",
        help="how long the re-signed list is valid (default 30d)",
    )
    add.add_argument("--password-env", metavar="VAR", help="password of the anchor key")
    pdf = add.add_argument_group(
        "licence PDF signers",
        "the certificates allowed to sign this issuer's licence PDFs (repeatable; added to "
        "those it has). An issuer with none has no licence PDF accepted. For an issuer "
        "already on the list, give its listed --key again: the key entry is kept as it is.",
    )
    pdf.add_argument(
        "--pdf-signer-cert",
        action="append",
        default=[],
        type=Path,
        metavar="CERT",
        help="a signing certificate (PEM or DER): its SPKI SHA-256 is listed",
    )
    pdf.add_argument(
        "--pdf-signer-spki",
        action="append",
        default=[],
        type=_spki_hex,
        metavar="HEX",
        help="SHA-256 of a certificate's DER SubjectPublicKeyInfo (64 hex digits)",
    )
    pdf.add_argument(
        "--pdf-signer-subject",
        action="append",
        default=[],
        metavar="ID",
        help="organizationIdentifier=VALUE or serialNumber=VALUE of the certificate subject",
    )
    add.set_defaults(handler=cmd_trust_add)
    sign = trust_sub.add_parser(
        "sign", parents=[common], help="sign an edited (unsigned) trust list with the anchor"
    )
    sign.add_argument("body", type=Path, metavar="UNSIGNED", help="the trust_list JSON body")
    sign.add_argument(
        "--anchor", required=True, type=Path, metavar="KEYFILE", help="the trust anchor's key"
    )
    sign.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="where to write the list"
    )
    sign.add_argument("--password-env", metavar="VAR", help="password of the anchor key")
    sign.add_argument("--force", action="store_true", help="replace an existing file")
    sign.set_defaults(handler=cmd_trust_sign)
    show = trust_sub.add_parser("show", parents=[common], help="verify and print a trust list")
    show.add_argument("trust_file", type=Path, metavar="FILE", help="the signed trust list")
    show.add_argument(
        "--anchor",
        required=True,
        type=Path,
        metavar="KEYFILE",
        help="the trust anchor's public key (PEM)",
    )
    show.set_defaults(handler=cmd_trust_show)

    _register_issuing(sub, common)


def _register_issuing(sub: Any, common: argparse.ArgumentParser) -> None:
    types = ", ".join(LicenceRegistry.default().names())
    issue = sub.add_parser(
        "issue",
        parents=[common],
        help="issue a signed licence and its QR",
        description=f"Issue a signed licence and its QR picture. Licence types: {types}.",
    )
    issue.add_argument("--key", required=True, type=Path, metavar="KEYFILE", help="issuer key")
    issue.add_argument(
        "--password-env", metavar="VAR", help="the environment variable holding its password"
    )
    issue.add_argument("--agency", required=True, metavar="NAME", help="the issuing authority")
    issue.add_argument(
        "--uscc", required=True, metavar="CODE", help="its unified social credit code"
    )
    issue.add_argument(
        "--type", required=True, metavar="TYPE", dest="licence_type", help=f"one of: {types}"
    )
    issue.add_argument("--holder", required=True, metavar="REF", help="a pseudonym or masked id")
    issue.add_argument(
        "--holder-kind",
        choices=("pseudonym", "masked", "raw-id"),
        default="pseudonym",
        help="what --holder is (default pseudonym)",
    )
    issue.add_argument("--allow-raw-id", action="store_true", help="the type needs a raw id")
    issue.add_argument(
        "--field",
        action="append",
        type=name_value,
        default=[],
        metavar="NAME=VALUE",
        help="a field of the licence type (repeatable)",
    )
    issue.add_argument("--valid-from", type=iso_date, metavar="DATE", help="default today")
    issue.add_argument(
        "--valid-until", required=True, type=iso_date, metavar="DATE", help="the last day"
    )
    issue.add_argument(
        "--status-state",
        required=True,
        type=Path,
        metavar="FILE",
        help="the issuer's status state (created if missing); every licence gets an index",
    )
    issue.add_argument(
        "--status-out",
        type=Path,
        metavar="FILE",
        help="also sign the status list (valid for a day) and write it here for verifiers",
    )
    issue.add_argument("--out", required=True, type=Path, metavar="PREFIX", help="PREFIX.txt/.png")
    issue.add_argument(
        "--device-key",
        type=Path,
        metavar="PUBKEY",
        help="bind a selective licence to the holder's device; writes PREFIX.gks instead",
    )
    issue.add_argument("--force", action="store_true", help="replace existing output files")
    issue.set_defaults(handler=cmd_issue)

    revoke = sub.add_parser("revoke", parents=[common], help="revoke or suspend a licence")
    revoke.add_argument("licence_id", metavar="ID", help="the licence identifier")
    revoke.add_argument("--key", required=True, type=Path, metavar="KEYFILE", help="issuer key")
    revoke.add_argument(
        "--password-env", metavar="VAR", help="the environment variable holding its password"
    )
    revoke.add_argument(
        "--status-state",
        required=True,
        type=Path,
        metavar="FILE",
        help="the status state the licence was issued with",
    )
    revoke.add_argument("--out", required=True, type=Path, metavar="FILE", help="signed list")
    revoke.add_argument("--suspend", action="store_true", help="suspend instead of revoke")
    revoke.add_argument("--reinstate", action="store_true", help="mark valid again")
    revoke.add_argument(
        "--valid-for",
        type=duration,
        default=timedelta(days=1),
        metavar="DURATION",
        help="how long the signed status list is valid (default 1d)",
    )
    revoke.add_argument("--force", action="store_true", help="replace an existing --out file")
    revoke.set_defaults(handler=cmd_revoke)


# -- helpers ----------------------------------------------------------------------


def _signing_key(path: Path, password_env: str | None) -> SigningKey:
    return SigningKey.from_pem(read_file(path), env_password(password_env))


def _public_key(path: Path) -> VerifyingKey:
    data = read_file(path)
    if b"PRIVATE KEY-----" in data:
        return SigningKey.from_pem(data).verifying_key
    if data.lstrip().startswith(b"{"):
        return VerifyingKey.from_jwk(loads_object(data, what="the JWK file", error=InvalidKey))
    return VerifyingKey.from_pem(data)


def _spki_hex(text: str) -> bytes:
    """``--pdf-signer-spki``: a SHA-256 hash as 64 hex digits (``:`` separators allowed)."""
    digits = text.strip().replace(":", "")
    if len(digits) != 64:
        raise argparse.ArgumentTypeError(t("type.sha256", "en"))
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise argparse.ArgumentTypeError(t("type.sha256", "en")) from None


def _pdf_signer_spki(args: argparse.Namespace) -> list[bytes]:
    """The SPKI hashes ``--pdf-signer-cert`` and ``--pdf-signer-spki`` name."""
    found = list(args.pdf_signer_spki)
    for path in args.pdf_signer_cert:
        certificates = load_certificates(read_file(path))
        if len(certificates) != 1:
            raise CliUsageError("trust.one_certificate", path=path)
        found.append(spki_sha256(certificates[0]))
    return found


def read_trust_list(path: Path) -> bytes:
    """A trust list file (signed, or the body ``trust sign`` takes), up to the library's
    limit for a list of 100,000 issuers (:data:`~govkit.certificates.TRUST_LIST_MAX_BYTES`,
    about 98 MiB) rather than the 16 MiB other input files may have."""
    return read_file(path, limit=TRUST_LIST_MAX_BYTES)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def load_state(path: Path) -> dict[str, Any]:
    """The issuer's status state file (created empty when missing)."""
    if not path.exists():
        status = StatusList(131072, list_id=path.stem or "status")
        return {"status": status.to_json(), "licences": {}, "sequence": 0}
    try:
        state = loads_object(read_file(path), what=f"{path}", error=ValueError)
        StatusList.from_json(state["status"])
        if not isinstance(state["licences"], dict) or not isinstance(state["sequence"], int):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise CliEnvironmentError("state.not_a_state", "cli.bad_state", path=path) from None
    return dict(state)


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the status state atomically (updating it in place is what it is for)."""
    write_file(path, json.dumps(state, indent=1).encode("utf-8") + b"\n", private=True, force=True)


def sign_state(state: dict[str, Any], key: SigningKey, valid_for: timedelta) -> bytes:
    """Sign the state's status list with the next sequence number."""
    state["sequence"] = int(state["sequence"]) + 1
    now = _now()
    return sign_status_list(
        StatusList.from_json(state["status"]),
        key,
        issued_at=now,
        expires_at=now + valid_for,
        sequence=state["sequence"],
    )


# -- trust --------------------------------------------------------------------------


def cmd_trust_create(args: argparse.Namespace, out: Output) -> int:
    """``govkit trust create``."""
    anchor = _signing_key(args.anchor, args.password_env)
    now = _now()
    trust = TrustList((), 1, now, now + args.valid_for)
    write_file(args.out, sign_trust_list(trust, anchor), force=args.force)
    out.say("wrote", path=args.out)
    out.data({"sequence": trust.sequence, "expires_at": trust.expires_at.isoformat()})
    return 0


def cmd_trust_add(args: argparse.Namespace, out: Output) -> int:
    """``govkit trust add-issuer``."""
    anchor = _signing_key(args.anchor, args.password_env)
    current = load_trust_list(
        read_trust_list(args.trust_file), [anchor.verifying_key], allow_stale=True
    )
    types = [name.strip() for name in args.types.split(",") if name.strip()]
    registry = LicenceRegistry.default()
    unknown = [name for name in types if name not in registry]
    if unknown or not types:
        raise _unknown_types(unknown, registry.names())
    key = TrustedKey.for_key(_public_key(args.key), types)
    spki, subjects = _pdf_signer_spki(args), list(args.pdf_signer_subject)
    existing = [i for i in current.issuers if i.agency.uscc == args.uscc]
    if existing and (spki or subjects) and any(k.key == key.key for k in existing[0].keys):
        updated = current  # adding PDF signers to an issuer: its key entry stays as it is
    elif existing:
        updated = current.with_key(args.uscc, key)
    else:
        updated = current.with_issuer(TrustedIssuer(Agency(args.name, args.uscc), (key,)))
    if spki or subjects:
        updated = updated.with_pdf_signers(args.uscc, spki_sha256=spki, subjects=subjects)
    now = _now()
    # One new sequence number for the whole edit; every other member of the list is kept.
    updated = replace(
        updated, sequence=current.sequence + 1, issued_at=now, expires_at=now + args.valid_for
    )
    # add-issuer updates the FILE it was given, in place; it writes nothing else.
    write_file(args.trust_file, sign_trust_list(updated, anchor), force=True)
    out.say("trust.added", name=args.name, kid=key.kid.hex(), path=args.trust_file)
    out.data(
        {
            "sequence": updated.sequence,
            "kid": key.kid.hex(),
            "types": types,
            "pdf_signers": next(i for i in updated.issuers if i.agency.uscc == args.uscc)
            .to_json()
            .get("pdf_signers", {}),
        }
    )
    return 0


def cmd_trust_sign(args: argparse.Namespace, out: Output) -> int:
    """``govkit trust sign``: the body is what ``govkit trust show --json`` prints."""
    anchor = _signing_key(args.anchor, args.password_env)
    try:
        body = loads_object(read_trust_list(args.body), what=f"{args.body}", error=ValueError)
    except ValueError as exc:
        raise CliUsageError("trust.body_not_json", detail=exc) from None
    body.pop("stale", None)
    body = body.get("trust_list", body)
    trust = TrustList.from_json(body)
    write_file(args.out, sign_trust_list(trust, anchor), force=args.force)
    out.say("trust.wrote", path=args.out, sequence=trust.sequence)
    out.data({"sequence": trust.sequence, "expires_at": trust.expires_at.isoformat()})
    return 0


def cmd_trust_show(args: argparse.Namespace, out: Output) -> int:
    """``govkit trust show``."""
    trust = load_trust_list(
        read_trust_list(args.trust_file), [_public_key(args.anchor)], allow_stale=True
    )
    rows = [
        (
            i.agency.name,
            i.agency.uscc,
            k.kid.hex(),
            ",".join(sorted(k.licence_types)),
            out.t("trust.key_withdrawn" if k.withdrawn else "trust.key_active"),
        )
        for i in trust.issuers
        for k in i.keys
    ]
    stale = trust.is_stale(datetime.now(UTC))
    head = out.t(
        "trust.show_stale" if stale else "trust.show",
        sequence=trust.sequence,
        expires=trust.expires_at.isoformat(),
    )
    headers = ("agency", "uscc", "kid", "types", "state")
    text = head + "\n" + table(rows, [out.t(f"trust.column.{h}") for h in headers])
    out.data({**trust.to_json(), "stale": stale}, text=text)
    return 0


# -- issue and revoke ---------------------------------------------------------------------


def cmd_issue(args: argparse.Namespace, out: Output) -> int:
    """``govkit issue``."""
    prefix: Path = args.out
    outputs = (
        (prefix.with_suffix(".gks"),)
        if args.device_key is not None
        else (prefix.with_suffix(".txt"), prefix.with_suffix(".png"))
    )
    refuse_existing(*outputs, force=args.force)  # before the status state changes
    if args.status_out is not None:
        refuse_existing(args.status_out, force=args.force)
    key = _signing_key(args.key, args.password_env)
    state = load_state(args.status_state) if args.status_state else None
    status = StatusList.from_json(state["status"]) if state else None
    issuer = CertificateIssuer(key, agency=Agency(args.agency, args.uscc), status=status)
    fields = dict(args.field)
    if len(fields) != len(args.field):
        raise CliUsageError("issue.field_twice")
    if args.device_key is not None:
        code = _issue_selective(args, out, issuer=issuer, fields=fields, state=state, status=status)
        _publish_status(args, state, key, out)
        return code
    issued = issuer.issue(
        args.licence_type,
        holder=Holder(args.holder, args.holder_kind),
        fields=fields,
        valid_from=args.valid_from or datetime.now(UTC).date(),
        valid_until=args.valid_until,
        allow_raw_id=args.allow_raw_id,
    )
    payload = issued.qr_payload.encode("ascii") + b"\n"
    write_file(prefix.with_suffix(".txt"), payload, force=args.force)
    write_file(prefix.with_suffix(".png"), issued.qr_png(), force=args.force)
    if state is not None and status is not None and args.status_state is not None:
        state["status"] = status.to_json()
        state["licences"][issued.id] = issued.licence.status_index
        save_state(args.status_state, state)
    _publish_status(args, state, key, out)
    out.say("wrote_two", path=prefix.with_suffix(".txt"), other=prefix.with_suffix(".png"))
    out.data(
        {**issued.to_json(), "qr_version": issued.qr_version()},
        text=f"{issued.id}\n{issued.qr_payload}",
    )
    return 0


def _publish_status(
    args: argparse.Namespace, state: dict[str, Any] | None, key: SigningKey, out: Output
) -> None:
    """``--status-out``: sign the state's status list (next sequence) and write it."""
    if args.status_out is None or state is None:
        return
    signed = sign_state(state, key, timedelta(days=1))
    save_state(args.status_state, state)
    write_file(args.status_out, signed, force=args.force)
    out.say("issue.wrote_status", path=args.status_out, sequence=state["sequence"])


def _issue_selective(
    args: argparse.Namespace,
    out: Output,
    *,
    issuer: CertificateIssuer,
    fields: dict[str, str],
    state: dict[str, Any] | None,
    status: StatusList | None,
) -> int:
    """``govkit issue --device-key``: a selective licence for the holder's app."""
    credential = issuer.issue_selective(
        args.licence_type,
        device_key=_public_key(args.device_key),
        holder=Holder(args.holder, args.holder_kind),
        fields=fields,
        valid_from=args.valid_from or datetime.now(UTC).date(),
        valid_until=args.valid_until,
        allow_raw_id=args.allow_raw_id,
    )
    ident = str(credential.values()["id"])
    path = Path(args.out).with_suffix(".gks")
    text = credential.to_text().encode("ascii") + b"\n"
    write_file(path, text, private=True, force=args.force)
    if state is not None and status is not None and args.status_state is not None:
        state["status"] = status.to_json()
        state["licences"][ident] = issuer.status_index(ident)
        save_state(args.status_state, state)
    out.say("issue.wrote_credential", path=path)
    out.data(
        {
            "id": ident,
            "type": credential.licence_type,
            "credential": str(path),
            "items": list(credential.items),
        },
        text=f"{ident}\n{path}",
    )
    return 0


def cmd_revoke(args: argparse.Namespace, out: Output) -> int:
    """``govkit revoke``."""
    if args.suspend and args.reinstate:
        raise CliUsageError("revoke.suspend_or_reinstate")
    refuse_existing(args.out, force=args.force)  # before the status state changes
    key = _signing_key(args.key, args.password_env)
    state = load_state(args.status_state)
    index = state["licences"].get(args.licence_id)
    if not isinstance(index, int):
        raise CliUsageError("revoke.not_issued")
    status = StatusList.from_json(state["status"])
    new = Status.SUSPENDED if args.suspend else Status.VALID if args.reinstate else Status.REVOKED
    status.set(index, new)
    state["status"] = status.to_json()
    signed = sign_state(state, key, args.valid_for)
    save_state(args.status_state, state)
    write_file(args.out, signed, force=args.force)
    out.say(
        "revoke.done",
        id=args.licence_id,
        status=term("status", new.name.lower(), out.lang),
        path=args.out,
    )
    out.data({"id": args.licence_id, "status": new.name.lower(), "sequence": state["sequence"]})
    return 0


# -- verify ---------------------------------------------------------------------------------


def open_verifier(args: argparse.Namespace, what: str) -> CertificateVerifier:
    """The verifier over this device's verifier state, after the lists ``--trust`` and
    ``--status`` give were checked against it (:func:`govkit.cli._verifier.open_verifier`).

    The lists are loaded here, so one that cannot be read is an environment error (exit
    3), and one older than the state holds is refused (``trust.rollback``, exit 1), before
    anything is said about the licence."""
    from govkit.cli._verifier import open_verifier as open_stateful  # noqa: PLC0415

    return open_stateful(args, what).verifier


def verify_licence_input(data: bytes, args: argparse.Namespace, out: Output) -> int:
    """``govkit verify licence``: the state's lists, and its clock check."""
    from govkit.cli._verifier import open_verifier as open_stateful  # noqa: PLC0415
    from govkit.cli._verifier import with_clock  # noqa: PLC0415

    opened = open_stateful(args, "what.licence")
    with opened.state.reading():
        found = opened.verifier.inspect(
            data.strip() if not data.startswith((b"\x89PNG", b"\xff\xd8")) else data,
            at=args.at,
        )
    report = with_clock(found, opened)
    return emit_report(
        report,
        out,
        title=out.t("title.licence", kind=term("kind", found.kind, out.lang)),
        ok_text=out.t("ok.licence"),
        partly_text=out.t("ok.licence_partly"),
    )


def _unknown_types(unknown: list[str], valid: tuple[str, ...]) -> CliUsageError:
    """``--types`` names a type the registry does not have: the valid types, the closest
    to each name given first."""
    close = [m for name in unknown for m in difflib.get_close_matches(name, valid, n=1)]
    return CliUsageError(
        "trust.unknown_types_close" if close else "trust.unknown_types",
        unknown=", ".join(unknown) or "-",
        suggestions=", ".join(close),
        valid=", ".join(valid),
    )


__all__ = ["open_verifier", "register", "verify_licence_input"]
