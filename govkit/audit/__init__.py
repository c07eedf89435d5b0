"""Tamper-evident audit log: an RFC 6962 Merkle tree with C2SP signed checkpoints.

>>> import tempfile, os
>>> from datetime import datetime, timezone
>>> from govkit.audit import AuditEvent, AuditLog, NoteSigner, verify_log
>>> signer = NoteSigner.generate("example.gov/audit")
>>> log = AuditLog(os.path.join(tempfile.mkdtemp(), "audit.db"),
...                origin="example.gov/audit", signer=signer, pseudonym_key=b"s" * 32)
>>> indexes = log.append_many(
...     AuditEvent(occurred_at=datetime(2026, 11, 28, 9, i, tzinfo=timezone.utc),
...                actor_id="clerk-12", actor_type="officer", action="licence.issue",
...                resource_type="driving_licence", resource_id=f"GD-{i}")
...     for i in range(5))
>>> note = log.checkpoint()
>>> proof = log.inclusion_proof(3)
>>> proof.verify(log.root_hash())
>>> verify_log(log, verifiers=[signer.verifier]).size
5
>>> log.close()

Who did what, when, to which record, from where, and how it ended: each
:class:`AuditEvent` becomes one leaf. Leaves never depend on each other, so
concurrent writers compete only for a dense index, assigned under one lock, and
can never fork the log. Personal fields enter a leaf only as keyed pseudonyms;
clear values sit in an erasable side table, so erasing a person's data never
breaks a proof. Checkpoints are C2SP signed notes (Ed25519) that witnesses and
existing transparency-log tools can check; with the ``govkit[sm]`` extra they
can be SM2 instead (``NoteSigner.generate(origin, alg="SM2")``).
"""

from govkit.audit._events import ENTRY_TYPE, PERSONAL_FIELDS, AuditEvent, Outcome
from govkit.audit._log import (
    LOG_CHECKS,
    AuditLog,
    CheckResult,
    InclusionProof,
    LogEntry,
    LogReport,
    LogVerification,
    inspect_log,
    verify_checkpoint_consistency,
    verify_export,
    verify_log,
)
from govkit.audit._note import (
    Checkpoint,
    CheckpointReport,
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    VerifiedSignature,
    WitnessSigner,
    cosign_checkpoint,
    inspect_checkpoint,
    open_note,
    sign_checkpoint,
    verify_checkpoint,
)
from govkit.audit._store import (
    AuditStore,
    EntryRow,
    PostgresStore,
    Query,
    SQLiteStore,
    StoredEntry,
    open_store,
    upgrade_store,
)

__all__ = [
    "ENTRY_TYPE",
    "LOG_CHECKS",
    "PERSONAL_FIELDS",
    "AuditEvent",
    "AuditLog",
    "AuditStore",
    "CheckResult",
    "Checkpoint",
    "CheckpointReport",
    "EntryRow",
    "InclusionProof",
    "LogEntry",
    "LogReport",
    "LogVerification",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "Outcome",
    "PostgresStore",
    "Query",
    "SQLiteStore",
    "StoredEntry",
    "VerifiedSignature",
    "WitnessSigner",
    "cosign_checkpoint",
    "inspect_checkpoint",
    "inspect_log",
    "open_note",
    "open_store",
    "sign_checkpoint",
    "upgrade_store",
    "verify_checkpoint",
    "verify_checkpoint_consistency",
    "verify_export",
    "verify_log",
]
