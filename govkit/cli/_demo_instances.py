"""The demo's instances step: two API instances sharing their state through one SQLite file.

A province-wide service runs many instances behind a load balancer; what one instance
has seen, every other must know. Here two instances, A and B, are two token verifiers
(each with its own DPoP verifier and its own store objects) that open the same SQLite
file, ``instances/state.db``, as their replay and revocation stores: embedded
defaults, no server. (Redis or PostgreSQL take the file's place across hosts.)

* A accepts a DPoP-bound token with its proof; B refuses the same proof as a replay
  (``token.replayed``), and accepts the token with a new proof.
* A's revocation store revokes the token; B refuses it (``token.revoked``).
* The stores are purged: now nothing goes (every entry is live), an hour later the
  expired proof and revocation entries go (``govkit db purge instances/state.db`` does
  the same).
* The ``govkit.*`` log records of these operations (kind, outcome, code, kid,
  issuer, duration: never a token, a key or personal data) are written as JSON lines
  to ``logs/govkit.jsonl`` by a logging handler the demo attaches for this step only.

A run with ``--force`` starts the store afresh (the demo's own folder) and replaces
the log file, so the counts are the same on every run.
"""

from __future__ import annotations

import json
import logging
import shutil
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from govkit._json import loads_object
from govkit.cli._app import CliInvalid
from govkit.cli._demo import DEMO_ISSUER, DEMO_SERVICE, DemoContext
from govkit.cli._files import write_file
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    TokenIssuer,
    TokenReport,
    TokenVerifier,
    create_dpop_proof,
    pairwise_subject,
)
from govkit.keys import KeyRing, SigningKey
from govkit.stores import SQLiteReplayStore, SQLiteRevocationStore

__all__ = ["JsonLinesHandler", "step_instances"]

#: The request the demo's client makes to both instances.
_HTM: Final = "GET"
_HTU: Final = DEMO_SERVICE + "/tax-records"
#: How much later the second purge runs: after every proof and the token have expired.
_LATER: Final = timedelta(hours=1)
#: The verifiers' clock skew allowance (the token's revocation outlives it).
_LEEWAY: Final = timedelta(seconds=30)
#: The attributes every log record has; anything else is an ``extra`` field.
_STANDARD: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLinesHandler(logging.Handler):
    """Formats each record as one JSON object: time, level, logger, message, extras.

    The lines are kept in :attr:`lines` (the demo writes them to a file at the end of
    its step). ``extra`` fields that are not JSON scalars are written as strings.
    """

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Add ``record`` as a JSON line."""
        try:
            self.lines.append(json.dumps(self.document(record), ensure_ascii=False))
        except Exception:  # logging's rule: a handler never raises
            self.handleError(record)

    @staticmethod
    def document(record: logging.LogRecord) -> dict[str, object]:
        """The JSON object of one record."""
        found: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name in _STANDARD or name in found or name.startswith("_"):
                continue
            scalar = value is None or isinstance(value, str | int | float | bool)
            found[name] = value if scalar else str(value)
        return found


class _Instance:
    """One API instance: a token verifier with a DPoP verifier, its own store objects."""

    def __init__(self, stack: ExitStack, ring: KeyRing, path: Path) -> None:
        self.replay = stack.enter_context(SQLiteReplayStore(path))
        self.revocation = stack.enter_context(SQLiteRevocationStore(path))
        self.verifier = TokenVerifier(
            ring,
            issuer=DEMO_ISSUER,
            audience=DEMO_SERVICE,
            min_assurance=AssuranceLevel.SUBSTANTIAL,
            leeway=_LEEWAY,
            store=self.revocation,
            dpop=DPoPVerifier(replay_store=self.replay),
        )

    def call(self, token: str, proof: str) -> TokenReport:
        """What the instance answers the client's request with ``token`` and ``proof``."""
        return self.verifier.inspect(token, dpop_proof=proof, htm=_HTM, htu=_HTU)


def _subject(ctx: DemoContext) -> str:
    """The demo citizen's pseudonym for the service (the identity step's subject key)."""
    key = (ctx.out_dir / "identity" / "subject.key").read_bytes()
    return pairwise_subject(key, "440104199003071234", DEMO_SERVICE)


def step_instances(ctx: DemoContext) -> None:
    """Two verifier instances share replay and revocation state; purge; JSON log lines."""
    folder = ctx.out_dir / "instances"
    if folder.is_dir():
        shutil.rmtree(folder)  # the demo's own folder, written by an earlier run
    folder.mkdir(parents=True)
    store = folder / "state.db"
    log_path = ctx.out_dir / "logs" / "govkit.jsonl"
    handler = JsonLinesHandler()
    logger = logging.getLogger("govkit")
    level = logger.level
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)  # the records of this step, whatever the host's setup
    logger.addHandler(handler)
    try:
        with ExitStack() as stack:
            checks, purged = _run(ctx, stack, store)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()
    write_file(log_path, "".join(line + "\n" for line in handler.lines).encode(), force=True)
    records = [loads_object(line, allow_floats=True) for line in handler.lines]  # ms: floats
    kinds = sorted({str(record.get("kind")) for record in records} - {"None"})
    rows = [
        (
            check["instance"],
            ctx.out.t(f"demo.instances.{check['request']}"),
            ctx.verdict(check["ok"], check["code"], word="demo.accepted"),
        )
        for check in checks
    ]
    for name, key in (("now", "demo.instances.purge_now"), ("later", "demo.instances.purge_later")):
        counts = purged[name]
        rows.append(
            (
                "A",
                ctx.out.t(key),
                ctx.out.t(
                    "demo.instances.removed",
                    replay=counts["replay"],
                    revocation=counts["revocation"],
                ),
            )
        )
    rows.append(
        (
            "A, B",
            ctx.out.t("demo.instances.log", path=str(log_path)),
            ctx.out.t("demo.instances.records", count=len(handler.lines)),
        )
    )
    ctx.results["instances"] = {
        "store": str(store),
        "checks": checks,
        "purged": purged,
        "log": str(log_path),
        "log_records": len(handler.lines),
        "log_kinds": kinds,
    }
    ctx.section("demo.title.instances", rows, ("instance", "step", "result"))
    expected = [(True, None), (False, "token.replayed"), (True, None), (False, "token.revoked")]
    if (
        [(c["ok"], c["code"]) for c in checks] != expected
        or (purged["now"]["replay"], purged["now"]["revocation"]) != (0, 0)
        or (purged["later"]["replay"], purged["later"]["revocation"]) != (2, 1)
        or not {"token.inspect", "dpop.verify"} <= set(kinds)
    ):
        raise CliInvalid


def _run(
    ctx: DemoContext, stack: ExitStack, store: Path
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Issue, verify at A and B, revoke at A, verify at B, purge; what each answered."""
    ring = KeyRing(ctx.keys["ES256"])
    a, b = _Instance(stack, ring, store), _Instance(stack, ring, store)
    client = SigningKey.generate("ES256")  # the citizen's app's DPoP key
    # The login service's issuer (the identity step audits issuance; this step is about
    # the API instances that verify).
    issuer = TokenIssuer(ring, issuer=DEMO_ISSUER)
    token = issuer.issue(
        _subject(ctx),
        DEMO_SERVICE,
        AssuranceLevel.SUBSTANTIAL,
        timedelta(minutes=10),
        amr=["pwd", "sms"],
        confirmation_jkt=client.kid,
    )
    checks: list[dict[str, Any]] = []

    def call(instance: str, request: str, proof: str) -> TokenReport:
        report = (a if instance == "A" else b).call(token, proof)
        checks.append(
            {"instance": instance, "request": request, "ok": report.ok, "code": report.code}
        )
        return report

    proof = create_dpop_proof(client, htm=_HTM, htu=_HTU, access_token=token)
    first = call("A", "first", proof)
    call("B", "replay", proof)
    fresh = create_dpop_proof(client, htm=_HTM, htu=_HTU, access_token=token)
    call("B", "fresh", fresh)
    if first.claims is None:
        raise CliInvalid
    claims = first.claims
    a.revocation.revoke_token(claims.token_id, expires_at=claims.expires_at + _LEEWAY)
    ctx.record("token.revoke", "identity_token", claims.token_id, reason="logout")
    call("B", "revoked", create_dpop_proof(client, htm=_HTM, htu=_HTU, access_token=token))
    now = datetime.now(UTC)
    later = now + _LATER
    purged = {
        name: {
            "replay": a.replay.purge(now=when),
            "revocation": a.revocation.purge(now=when),
            "at": when.isoformat(),
        }
        for name, when in (("now", now), ("later", later))
    }
    return checks, purged
