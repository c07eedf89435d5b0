"""``govkit demo``: a guided tour that exercises every component on embedded defaults."""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from govkit.audit import AuditEvent, AuditLog, NoteSigner
from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    LicenceRegistry,
    LicenceType,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    VerifierState,
    load_status_list,
    load_trust_list,
    sign_status_list,
    sign_trust_list,
)
from govkit.cli._app import CliEnvironmentError, CliInvalid, Output, table
from govkit.cli._certificates import load_state, save_state
from govkit.cli._files import write_file
from govkit.identity import AssuranceLevel, TokenIssuer, TokenVerifier, pairwise_subject
from govkit.keys import ALGORITHMS, KeyRing, SigningKey

#: The demo log's C2SP origin.
DEMO_ORIGIN = "demo.govkit.invalid/audit"
#: The demo issuer's status state, as ``govkit issue --status-state`` and ``govkit revoke``
#: read it: every licence the demo issues has an index in the one published status list.
STATUS_STATE = "status-state.json"


@dataclass
class DemoContext:
    """What the demo steps share: the output folder, the output channel, the results."""

    out_dir: Path
    out: Output
    audit: AuditLog
    keys: dict[str, SigningKey] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)

    def record(self, action: str, resource_type: str, resource_id: str, **extra: Any) -> None:
        """Write what the demo just did to the demo's audit log."""
        self.audit.append(
            AuditEvent(
                occurred_at=datetime.now(UTC),
                actor_id="govkit-demo",
                actor_type="service",
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                service="govkit-demo",
                personal=frozenset(),
                **extra,
            )
        )

    def section(self, title: str, rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
        """A table of the summary: ``title`` and ``headers`` are message keys
        (``demo.title.*`` and ``demo.column.*``), said in the output's language."""
        columns = [self.out.t(f"demo.column.{name}") for name in headers]
        self.tables.append(self.out.t(title) + "\n" + table(rows, columns))

    def verdict(self, ok: bool, code: str | None, *, word: str = "demo.valid") -> str:
        """A table cell: ``valid`` (or ``word``) in the output's language, else the code."""
        return self.out.t(word) if ok else str(code)


DemoStep = Callable[[DemoContext], None]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``demo`` command."""
    demo = sub.add_parser(
        "demo", parents=[common], help="run a guided tour of govkit into a folder"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("demo-out"), metavar="DIR", help="output folder"
    )
    demo.add_argument(
        "--force",
        action="store_true",
        help="run in a folder that is not empty (an earlier run's): replace its files",
    )
    demo.set_defaults(handler=cmd_demo)


def step_keys(ctx: DemoContext) -> None:
    """Generate one key per algorithm and write them under ``keys/``."""
    rows = []
    keys = []
    for alg in ALGORITHMS:
        key = SigningKey.generate(alg)
        path = ctx.out_dir / "keys" / f"{alg.lower()}.pem"
        write_file(path, key.to_pem(), private=True, force=True)
        write_file(path.with_name(path.name + ".pub"), key.verifying_key.to_pem(), force=True)
        ctx.keys[alg] = key
        rows.append((alg, key.kid, str(path)))
        keys.append({"alg": alg, "kid": key.kid, "path": str(path)})
        ctx.record("key.generate", "signing_key", key.kid, details={"alg": alg})
    ctx.results["keys"] = keys
    ctx.section("demo.title.keys", rows, ("alg", "kid", "private_key"))


def step_citizen_activity(ctx: DemoContext) -> None:
    """Log what a citizen and a clerk did; personal fields become pseudonyms."""
    when = datetime.now(UTC)
    events = [
        AuditEvent(
            occurred_at=when,
            actor_id="440104199003071234",  # a citizen, identified by ID number
            actor_type="person",
            assurance="high",
            action="licence.view",
            resource_type="driving_licence",
            resource_id="GD-DL-2026-000042",
            service="yss-app",
            client_address="203.0.113.7",
            correlation_id="demo-session-1",
            personal=frozenset({"actor_id", "client_address"}),
        ),
        AuditEvent(
            occurred_at=when,
            actor_id="clerk-0731",
            actor_type="officer",
            assurance="substantial",
            action="licence.renew",
            resource_type="driving_licence",
            resource_id="GD-DL-2026-000042",
            service="traffic-bureau",
            outcome="success",
            correlation_id="demo-session-1",
        ),
    ]
    first = ctx.audit.append_many(events)
    ctx.results["citizen_activity"] = {"indexes": first}


DEMO_ISSUER = "https://login.demo.govkit.invalid"
DEMO_SERVICE = "https://tax.demo.govkit.invalid"


def step_identity(ctx: DemoContext) -> None:
    """Issue a token at each assurance level; verify each for a service that needs SUBSTANTIAL."""
    folder = ctx.out_dir / "identity"
    ring = KeyRing(ctx.keys["ES256"])
    write_file(folder / "jwks.json", json.dumps(ring.to_jwks(), indent=2).encode(), force=True)
    subject_key = folder / "subject.key"
    if not subject_key.is_file():
        write_file(subject_key, secrets.token_bytes(32), private=True)
    subject = pairwise_subject(subject_key.read_bytes(), "440104199003071234", DEMO_SERVICE)
    issuer = TokenIssuer(ring, issuer=DEMO_ISSUER, audit=ctx.audit)
    verifier = TokenVerifier(
        ring, issuer=DEMO_ISSUER, audience=DEMO_SERVICE, min_assurance=AssuranceLevel.SUBSTANTIAL
    )
    methods = {
        AssuranceLevel.LOW: ["pwd"],
        AssuranceLevel.SUBSTANTIAL: ["pwd", "sms"],
        AssuranceLevel.HIGH: ["face", "mfa"],
    }
    rows, results = [], []
    for level, amr in methods.items():
        name = level.name.lower()
        token = issuer.issue(subject, DEMO_SERVICE, level, timedelta(minutes=10), amr=amr)
        write_file(folder / f"token-{name}.jwt", token.encode() + b"\n", force=True)
        report = verifier.inspect(token)
        outcome = "success" if report.ok else "denied"
        ctx.record(
            "token.verify",
            "identity_token",
            report.claims.token_id if report.claims else name,
            outcome=outcome,
            details={"assurance": name, "code": report.code},
        )
        rows.append(
            (name, ",".join(amr), ctx.verdict(report.ok, report.code, word="demo.accepted"))
        )
        results.append({"assurance": name, "ok": report.ok, "code": report.code})
    ctx.results["identity"] = {
        "issuer": DEMO_ISSUER,
        "audience": DEMO_SERVICE,
        "jwks": str(folder / "jwks.json"),
        "tokens": results,
    }
    ctx.section("demo.title.identity", rows, ("assurance", "amr", "verification"))


DEMO_AGENCY_USCC = "114400000069445123"
_SAMPLE_TEXT = {
    "name": "张三",
    "nationality": "CHN",
    "plate_number": "粤A12345",
    "vin": "LSVAU2180N2123456",
}


#: Optional fields the demo leaves out of plain QR licences: a traffic officer compares
#: the photo digest from a presentation (the presentations step), so the static QR, which
#: everybody who sees it can read, stays at version 12.
_PRESENTATION_ONLY = frozenset({"photo_digest"})


def _sample_fields(kind: LicenceType) -> dict[str, object]:
    """Plausible sample values for a licence type's fields (the demo's citizen)."""
    values: dict[str, object] = {}
    for spec in kind.fields:
        if spec.name in _PRESENTATION_ONLY:
            continue
        if spec.kind == "date":
            values[spec.name] = "2020-06-01"
        elif spec.kind == "enum":
            values[spec.name] = spec.choices[0]
        elif spec.kind == "int":
            values[spec.name] = 1200
        elif spec.kind == "bool":
            values[spec.name] = True
        else:
            values[spec.name] = _SAMPLE_TEXT.get(spec.name, f"示例{spec.zh}")[: spec.max_length]
    return values


def step_certificates(ctx: DemoContext) -> None:
    """Trust list, status list and one licence of each of the ten types, each verified."""
    keys, folder = ctx.out_dir / "keys", ctx.out_dir / "certificates"
    anchor, issuer_key = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    write_file(keys / "trust-anchor.pem", anchor.to_pem(), private=True, force=True)
    write_file(keys / "trust-anchor.pub", anchor.verifying_key.to_pem(), force=True)
    write_file(keys / "issuer.pem", issuer_key.to_pem(), private=True, force=True)
    write_file(keys / "issuer.pem.pub", issuer_key.verifying_key.to_pem(), force=True)
    registry = LicenceRegistry.default()
    agency = Agency("广东省政务服务数据管理局（演示）", DEMO_AGENCY_USCC)
    now = datetime.now(UTC).replace(microsecond=0)
    trust = TrustList(
        (TrustedIssuer(agency, (TrustedKey.for_key(issuer_key.verifying_key, registry.names()),)),),
        1,
        now,
        now + timedelta(days=30),
    )
    write_file(ctx.out_dir / "trust.json", sign_trust_list(trust, anchor), force=True)
    status = StatusList(4096, list_id="demo-status")
    issuer = CertificateIssuer(issuer_key, agency=agency, status=status, audit=ctx.audit)
    state: dict[str, Any] = {"status": status.to_json(), "licences": {}, "sequence": 1}
    issued = []
    for name in registry.names():
        kind = registry.get(name)
        start = now.date() - timedelta(days=30)
        span = min(kind.max_validity or timedelta(days=3650), timedelta(days=3650))
        licence = issuer.issue(
            name,
            holder=Holder("p-" + secrets.token_hex(8), "pseudonym"),
            fields=_sample_fields(kind),
            valid_from=start,
            valid_until=start + span - timedelta(days=1),
        )
        write_file(folder / f"{name}.txt", licence.qr_payload.encode() + b"\n", force=True)
        write_file(folder / f"{name}.png", licence.qr_png(), force=True)
        issued.append((kind, licence))
    revoked = issuer.issue(
        "driving-licence",
        holder=Holder("p-" + secrets.token_hex(8), "pseudonym"),
        fields=_sample_fields(registry.get("driving-licence")),
        valid_from=now.date() - timedelta(days=30),
        valid_until=now.date() + timedelta(days=365),
    )
    issuer.revoke(revoked)
    write_file(folder / "revoked-driving-licence.txt", revoked.qr_payload.encode(), force=True)
    signed_status = sign_status_list(
        status, issuer_key, issued_at=now, expires_at=now + timedelta(days=1), sequence=1
    )
    write_file(ctx.out_dir / "status.json", signed_status, force=True)
    save_issued_status(ctx, issuer, state, [licence.id for _, licence in issued] + [revoked.id])
    import_into_verifier(ctx, anchor, signed_status)
    verifier = CertificateVerifier(
        load_trust_list((ctx.out_dir / "trust.json").read_bytes(), [anchor.verifying_key]),
        status=load_status_list(signed_status, [issuer_key.verifying_key]),
        audit=ctx.audit,
    )
    rows, results = [], []
    for kind, licence in issued:
        report = verifier.inspect((folder / f"{kind.name}.png").read_bytes())
        rows.append(
            (
                kind.name,
                kind.zh,
                str(licence.qr_version()),
                ctx.verdict(report.ok, report.code),
            )
        )
        results.append(
            {
                "type": kind.name,
                "id": licence.id,
                "qr_version": licence.qr_version(),
                "valid": report.ok,
                "code": report.code,
            }
        )
    report = verifier.inspect(revoked.qr_payload)
    driving = registry.get("driving-licence")
    example = ctx.out.t("demo.revoked_example")
    rows.append((example, driving.zh, str(revoked.qr_version()), str(report.code)))
    ctx.results["certificates"] = {
        "trust": str(ctx.out_dir / "trust.json"),
        "status": str(ctx.out_dir / "status.json"),
        "status_state": str(ctx.out_dir / STATUS_STATE),
        "anchor": str(keys / "trust-anchor.pub"),
        "licences": results,
        "revoked_example": {"id": revoked.id, "code": report.code},
    }
    ctx.section("demo.title.licences", rows, ("type", "name_zh", "qr_version", "verification"))
    if not all(r["valid"] for r in results) or report.code != "certificate.revoked":
        raise CliInvalid


#: The demo device's verifier state (``govkit verify --state DEMO/verifier ...``).
VERIFIER_STATE = "verifier"


def import_into_verifier(ctx: DemoContext, anchor: SigningKey, signed_status: bytes) -> None:
    """Import the trust list and the status list into ``DIR/verifier``, as
    ``govkit verifier import`` does: ``govkit verify --state DIR/verifier INPUT`` then
    needs no list arguments. A run with ``--force`` makes a new anchor and lists that
    start again at sequence 1, so it starts the demo's state afresh too."""
    path = ctx.out_dir / VERIFIER_STATE
    if path.is_dir():
        shutil.rmtree(path)  # the demo's own folder, written by an earlier run
    VerifierState(path).import_lists(
        (ctx.out_dir / "trust.json").read_bytes(),
        [signed_status],
        now=datetime.now(UTC),
        anchors=[anchor.verifying_key],
        trust_source=str(ctx.out_dir / "trust.json"),
        status_sources=[str(ctx.out_dir / "status.json")],
    )
    ctx.results["verifier_state"] = str(path)


def update_verifier(ctx: DemoContext) -> None:
    """Offer the current ``trust.json`` and ``status.json`` to ``DIR/verifier``, as
    ``govkit verifier sync`` would after the operator published newer lists (a step that
    re-signs a list moves the state forward with it)."""
    VerifierState(ctx.out_dir / VERIFIER_STATE).import_lists(
        (ctx.out_dir / "trust.json").read_bytes(),
        [(ctx.out_dir / "status.json").read_bytes()],
        now=datetime.now(UTC),
        trust_source=str(ctx.out_dir / "trust.json"),
        status_sources=[str(ctx.out_dir / "status.json")],
    )


def issuer_with_status(
    ctx: DemoContext, key: SigningKey, agency: Agency
) -> tuple[CertificateIssuer, dict[str, Any]]:
    """An issuer that goes on with the certificates step's status list (a licence that
    could never be revoked is not issued), and the status state it continues."""
    state = load_state(ctx.out_dir / STATUS_STATE)
    status = StatusList.from_json(state["status"])
    return CertificateIssuer(key, agency=agency, status=status, audit=ctx.audit), state


def save_issued_status(
    ctx: DemoContext, issuer: CertificateIssuer, state: dict[str, Any], ids: list[str]
) -> None:
    """Record the status index of each licence issued in ``status-state.json``.

    Allocating an index changes no status bit, so the signed ``status.json`` published
    by the certificates step already covers them (every entry not set is valid).
    """
    if issuer.status is None:
        raise CliInvalid
    state["status"] = issuer.status.to_json()
    for ident in ids:
        state["licences"][ident] = issuer.status_index(ident)
    save_state(ctx.out_dir / STATUS_STATE, state)


def step_audit(ctx: DemoContext) -> None:
    """Sign a checkpoint, write the log's files and verify the log like ``audit verify``."""
    from govkit.cli._audit import run_verify  # noqa: PLC0415
    from govkit.cli._report import render_report  # noqa: PLC0415

    folder = ctx.out_dir / "audit"
    note = ctx.audit.checkpoint()
    write_file(folder / "checkpoint", note.encode("utf-8"), force=True)
    store = str(ctx.out_dir / "audit.db")
    # The key the demo holds, passed explicitly: audit verify never trusts the log folder's.
    vkey = ctx.audit.verifier.vkey
    report = run_verify(
        store,
        vkeys=[vkey],
        checkpoint=folder / "checkpoint",
        out=ctx.out,
        state=VerifierState(ctx.out_dir / VERIFIER_STATE),
    )
    ctx.results["audit"] = {
        "store": store,
        "size": report.size,
        "checkpoint": str(folder / "checkpoint"),
        "vkey": vkey,
        "verify": report.to_dict(),
    }
    ctx.tables.append(
        ctx.out.t("demo.title.audit") + "\n" + render_report(report, report.store, ctx.out.lang)
    )
    if not report.ok:
        raise CliInvalid


def demo_steps() -> list[tuple[str, DemoStep]]:
    """The demo's steps in order; each later component adds its own."""
    from govkit.cli._demo_documents import step_documents  # noqa: PLC0415 - imports _demo
    from govkit.cli._demo_instances import step_instances  # noqa: PLC0415 - imports _demo
    from govkit.cli._demo_login import step_login  # noqa: PLC0415 - imports _demo
    from govkit.cli._demo_payments import step_payments  # noqa: PLC0415 - imports _demo
    from govkit.cli._demo_presentations import (  # noqa: PLC0415 - imports _demo
        step_presentations,
    )

    return [
        ("keys", step_keys),
        ("citizen_activity", step_citizen_activity),
        ("identity", step_identity),
        ("login", step_login),
        ("certificates", step_certificates),
        ("presentations", step_presentations),
        ("documents", step_documents),
        ("payments", step_payments),
        ("instances", step_instances),
        ("audit", step_audit),
    ]


def open_demo_log(out_dir: Path) -> AuditLog:
    """Open (or create) the demo's audit log and its key files under ``out_dir``."""
    folder = out_dir / "audit"
    key_file, pseudonym_file = folder / "note-key", folder / "pseudonym.key"
    if key_file.is_file():
        signer = NoteSigner.from_private_key_string(key_file.read_text("utf-8").strip())
    else:
        signer = NoteSigner.generate(DEMO_ORIGIN)
        write_file(key_file, signer.to_private_key_string().encode() + b"\n", private=True)
    write_file(folder / "note-key.vkey", signer.vkey.encode() + b"\n", force=True)
    if not pseudonym_file.is_file():
        write_file(pseudonym_file, secrets.token_bytes(32), private=True)
    return AuditLog(
        out_dir / "audit.db",
        origin=DEMO_ORIGIN,
        signer=signer,
        pseudonym_key=pseudonym_file.read_bytes(),
    )


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    """``govkit demo``."""
    out_dir: Path = args.out
    occupied = out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir()))
    if occupied and not args.force:
        raise CliEnvironmentError("demo.not_empty", "cli.file_exists", path=out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_demo_log(out_dir) as audit:
        ctx = DemoContext(out_dir=out_dir, out=out, audit=audit)
        steps = demo_steps()
        for number, (name, step) in enumerate(steps, 1):
            out.say("demo.step", number=number, total=len(steps), name=out.t(f"demo.step.{name}"))
            step(ctx)
    out.data(
        {"ok": True, "out": str(ctx.out_dir), **ctx.results},
        text="\n\n".join(ctx.tables),
    )
    return 0
