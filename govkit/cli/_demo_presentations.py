"""The demo's presentations step: a selective driving licence on a phone, shown to police.

The certificates step's issuer key signs a selective driving licence bound to a new
device key, with a status index in the certificates step's status list; the "phone"
makes a presentation for the ``traffic-police`` profile, written as
``presentations/driving-licence-traffic-police.txt`` and ``.png``; a roadside verifier
reads the picture and checks it, revocation included (``status.json``). Two refusals
follow: the same QR shown again (a replay) and a presentation that reveals more than the
profile allows.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from govkit.certificates import (
    PROFILES,
    CertificateVerifier,
    Holder,
    HolderDevice,
    LicenceRegistry,
    load_status_list,
    load_trust_list,
)
from govkit.cli._app import CliInvalid
from govkit.cli._demo import DemoContext, _sample_fields, issuer_with_status, save_issued_status
from govkit.cli._files import write_file
from govkit.errors import GovkitError
from govkit.keys import SigningKey, VerifyingKey

__all__ = ["step_presentations"]


def step_presentations(ctx: DemoContext) -> None:
    """Issue a selective driving licence, present it to traffic police, verify the picture."""
    keys, folder = ctx.out_dir / "keys", ctx.out_dir / "presentations"
    anchor = VerifyingKey.from_pem((keys / "trust-anchor.pub").read_bytes())
    trust = load_trust_list((ctx.out_dir / "trust.json").read_bytes(), [anchor])
    issuer_key = SigningKey.from_pem((keys / "issuer.pem").read_bytes())
    status = load_status_list(
        (ctx.out_dir / "status.json").read_bytes(), [issuer_key.verifying_key]
    )
    agency = trust.issuers[0].agency
    issuer, state = issuer_with_status(ctx, issuer_key, agency)
    device_key = SigningKey.generate("EdDSA")
    write_file(keys / "device.pem", device_key.to_pem(), private=True, force=True)
    write_file(keys / "device.pem.pub", device_key.verifying_key.to_pem(), force=True)
    fields = _sample_fields(LicenceRegistry.default().get("driving-licence"))
    photo = hashlib.sha256(b"demo photo of the driver").digest()[:16]
    fields["photo_digest"] = base64.urlsafe_b64encode(photo).decode("ascii").rstrip("=")
    today = datetime.now(UTC).date()
    credential = issuer.issue_selective(
        "driving-licence",
        device_key=device_key.verifying_key,
        holder=Holder("p-" + secrets.token_hex(8), "pseudonym"),
        fields=fields,
        valid_from=today - timedelta(days=30),
        valid_until=today + timedelta(days=6 * 365),
    )
    save_issued_status(ctx, issuer, state, [str(credential.values()["id"])])
    write_file(
        folder / "driving-licence.gks",
        credential.to_text().encode("ascii") + b"\n",
        private=True,
        force=True,
    )
    phone = HolderDevice(device_key)
    profile = PROFILES["traffic-police"]
    shown = phone.present(credential, sorted(profile.required))
    base = folder / "driving-licence-traffic-police"
    write_file(base.with_suffix(".txt"), shown.text.encode("ascii") + b"\n", force=True)
    write_file(base.with_suffix(".png"), shown.qr_png(), force=True)
    verifier = CertificateVerifier(trust, status=status, audit=ctx.audit)
    report = verifier.inspect_presentation(base.with_suffix(".png").read_bytes(), profile=profile)
    replay = verifier.inspect_presentation(shown.text, profile=profile)
    too_much = phone.present(credential, [*sorted(profile.required), "file_number"])
    over = CertificateVerifier(trust, status=status).inspect_presentation(
        too_much.text, profile=profile
    )
    rows = [
        (
            ctx.out.t("demo.from_png", profile="traffic-police"),
            ", ".join(shown.disclosed),
            str(shown.qr_version()),
            ctx.verdict(report.ok, report.code),
        ),
        (ctx.out.t("demo.same_qr"), "", "", str(replay.code)),
        (
            "+ file_number",
            ", ".join(too_much.disclosed),
            str(too_much.qr_version()),
            str(over.code),
        ),
    ]
    ctx.results["presentations"] = {
        "credential": str(folder / "driving-licence.gks"),
        "presentation": str(base.with_suffix(".txt")),
        "picture": str(base.with_suffix(".png")),
        "qr_version": shown.qr_version(),
        "characters": len(shown.text),
        "disclosed": list(shown.disclosed),
        "valid": report.ok,
        "replay": replay.code,
        "over_disclosure": over.code,
    }
    ctx.section(
        "demo.title.presentations",
        rows,
        ("presentation", "disclosed", "qr_version", "verification"),
    )
    expected = (True, "presentation.replayed", "presentation.over_disclosure")
    if (report.ok, replay.code, over.code) != expected:
        raise CliInvalid
    try:  # the picture verifies as the CLI would, with the profile by name
        checked = CertificateVerifier(trust, status=status).verify_presentation(
            base.with_suffix(".png").read_bytes(), profile="traffic-police"
        )
    except GovkitError:
        raise CliInvalid from None
    if checked.status is None:  # revocation is always checked
        raise CliInvalid
