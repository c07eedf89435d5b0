"""The EU Digital COVID Certificate test suite, run stage by stage through govkit's codec.

Provenance: eu-digital-green-certificates/dgc-testdata at commit
4a62c8d9a9a57c29b3b83ee6bf2b1e03d4d88e79 (licence beside the files), kept in the shared
vectors folder (``<vectors_dir>/dcc/``, see ``vectors/README.md``). Every ``*.json`` under
``dcc/`` is a case (581 files); the count is asserted, so nothing is silently dropped.

How each step is run
--------------------
Per file, per ``EXPECTED*`` key, govkit runs that one stage on the file's own input for
that stage and the outcome (stage succeeded or not) is compared with the expected
boolean. When a stage's input field is missing, it is derived from the nearest earlier
field with govkit's own earlier stages ("derived" below); with no earlier field at all the
step is counted as ``no_input``.

==================== =========================== ===========================================
step                 input                       govkit call; extra check when it succeeds
==================== =========================== ===========================================
UNPREFIX             PREFIX                      ``codec.decode(PREFIX, prefixes=("HC1:",))``
                                                 fails with reason ``prefix`` or not; the
                                                 rest must equal BASE45
B45DECODE            BASE45                      ``b45decode``; output must equal COMPRESSED
COMPRESSION          COMPRESSED (derived:        ``codec.decompress`` (HC1 requires zlib);
                     BASE45)                     output must equal COSE
DECODE               COSE, else CBOR (CBO1:      ``codec.decode_cose``; the claims or the
                     the payload alone, in an    HCERT document (claim -260, key 1) must
                     unsigned COSE shell), else  equal CBOR, after decoding both (389 files
                     derived from COMPRESSED,    hold the claims, 170 the document)
                     BASE45, PREFIX
VERIFY               COSE (derived: COMPRESSED,  ``decode_cose``; TESTCTX.CERTIFICATE's key
                     BASE45, PREFIX) and         (ES256 for P-256, PS256 for RSA) is the one
                     TESTCTX.CERTIFICATE         candidate if its HCERT kid (SHA-256 of the
                                                 certificate DER, 8 bytes) equals the
                                                 message's kid, else there is none;
                                                 ``codec.verify_signature``
EXPIRATIONCHECK      COSE (derived as for        ``codec.check_times(claims, at=clock)``:
                     VERIFY) and VALIDATION-     ``iat <= clock <= exp``; a clock without
                     CLOCK                       a zone (8 files) is read as UTC
PICTUREDECODE        2DCODE (base64 PNG)         Pillow + ``zxingcpp.read_barcodes`` (QR
                                                 only): exactly one code, text == PREFIX
==================== =========================== ===========================================

Decisions and quirks
--------------------
* **Not run** (counted in :data:`NOT_RUN_COUNTS`, each for a stated reason in
  :data:`NOT_RUN`): VALIDOBJECT, SCHEMAVALIDATION, VALIDJSON, ENCODE, KEYUSAGE, a stray
  ``EXPECTEDRESULTS`` key in 3 ES files, and ``EXPTECTEDEXPIRED``.
* **EXPTECTEDEXPIRED** (7 files, ES 201-203 and BG 1-4): the misspelt key is no step of
  the upstream harness, and its literal reading ("expected expired: true") is contradicted
  by the data: in all 7 files ``iat <= VALIDATIONCLOCK <= exp``. It is not run as a step;
  :func:`test_misspelt_exptectedexpired_files_are_within_their_validity` pins that fact.
* **CO20** puts ``alg`` in the unprotected header (the protected bstr is empty) and
  expects VERIFY true. RFC 9052 requires ``alg`` to be protected and
  ``codec.verify_signature`` refuses it by default; VERIFY here passes
  ``unsafe_unprotected_alg=True`` to mirror HCERT verifiers, and
  :func:`test_summary_counts` asserts that CO20 is the only file whose VERIFY outcome the
  flag changes.
* **PICTUREDECODE without a picture**: 29 files expect it but carry no ``2DCODE`` (three LV
  files carry ``_2DCODE`` instead, renamed upstream); they are counted as ``no_input``.
* **Known issues**: only rows of ``dcc/known_issues.csv`` may excuse a mismatch. Rows for
  steps govkit does not run are read and ignored; an unknown ``test_name`` fails the test.
  Used: ``test_verification_check`` for ES 401-403 (issue #228: the certificates are
  P-384 keys, which govkit does not accept, while the files expect VERIFY true). The FI
  rows (issue #407) excuse nothing: govkit matches every FI expectation.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from PIL import Image, UnidentifiedImageError

from govkit._encoding import b45decode
from govkit.certificates import codec
from govkit.errors import CertificateFormatError, GovkitError
from govkit.keys import VerifyingKey

EXPECTED_FILES = 581

#: The steps run here, in pipeline order.
STEPS = (
    "EXPECTEDPICTUREDECODE",
    "EXPECTEDUNPREFIX",
    "EXPECTEDB45DECODE",
    "EXPECTEDCOMPRESSION",
    "EXPECTEDDECODE",
    "EXPECTEDVERIFY",
    "EXPECTEDEXPIRATIONCHECK",
)

#: Keys of EXPECTEDRESULTS that are no govkit codec step, and why.
NOT_RUN: dict[str, str] = {
    "EXPECTEDVALIDOBJECT": "the DCC JSON object model is HCERT content, not the codec",
    "EXPECTEDSCHEMAVALIDATION": "the DCC JSON schema is HCERT content, not the codec",
    "EXPECTEDVALIDJSON": "JSON equality of the DCC content is HCERT content, not the codec",
    "EXPECTEDENCODE": "re-encoding needs the issuer's private key, which the files lack",
    "EXPECTEDKEYUSAGE": "DSC extended key usage vs DCC type is HCERT trust policy",
    "EXPECTEDRESULTS": "a stray key in ES 1001-1003, no step",
    "EXPTECTEDEXPIRED": "misspelt key, no step upstream; see the module docstring",
}

#: How often each not-run key occurs (pinned; a change in the data fails the summary).
NOT_RUN_COUNTS = {
    "EXPECTEDVALIDOBJECT": 390,
    "EXPECTEDSCHEMAVALIDATION": 530,
    "EXPECTEDVALIDJSON": 531,
    "EXPECTEDENCODE": 90,
    "EXPECTEDKEYUSAGE": 388,
    "EXPECTEDRESULTS": 3,
    "EXPTECTEDEXPIRED": 7,
}

#: known_issues.csv ``test_name`` -> the step it excuses (None: a step not run here).
KNOWN_ISSUE_STEPS: dict[str, str | None] = {
    "test_verification_check": "EXPECTEDVERIFY",
    "test_expiration_check": "EXPECTEDEXPIRATIONCHECK",
    "test_expected_key_usage": None,
    "test_cose_schema": None,
    "test_cose_json": None,
    "test_cbor_json": None,
}

#: Observed outcomes per step: ``true``/``false`` = matched the expected boolean,
#: ``known_issue`` = a mismatch excused by known_issues.csv, ``no_input`` = nothing to run.
SUMMARY = {
    "EXPECTEDPICTUREDECODE": {"true": 489, "false": 1, "no_input": 29},
    "EXPECTEDUNPREFIX": {"true": 537, "false": 3},
    "EXPECTEDB45DECODE": {"true": 537, "false": 1},
    "EXPECTEDCOMPRESSION": {"true": 508, "false": 2},
    "EXPECTEDDECODE": {"true": 547, "false": 1},
    "EXPECTEDVERIFY": {"true": 545, "false": 7, "known_issue": 3},
    "EXPECTEDEXPIRATIONCHECK": {"true": 477, "false": 5},
}

#: The known-issue rows that excused a mismatch: (step, file).
KNOWN_ISSUES_USED = {
    ("EXPECTEDVERIFY", "ES/2DCode/raw/401"),
    ("EXPECTEDVERIFY", "ES/2DCode/raw/402"),
    ("EXPECTEDVERIFY", "ES/2DCode/raw/403"),
}

#: Files whose VERIFY outcome changes with ``unsafe_unprotected_alg`` (see the docstring).
UNPROTECTED_ALG_FILES = {"common/2DCode/raw/CO20"}

HC1 = "HC1:"
_CLOCK = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?")


def _vectors_root() -> Path:
    """Collection-time mirror of the ``vectors_dir`` fixture's search (tests/conftest.py).

    Only used to name the parameters; the tests read files through ``vectors_dir`` and
    :func:`test_every_file_is_collected` checks that both agree.
    """
    env = os.environ.get("GOVKIT_VECTORS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "vectors"


def _case_names(root: Path) -> list[str]:
    base = root / "dcc"
    return sorted(p.relative_to(base).with_suffix("").as_posix() for p in base.rglob("*.json"))


CASES = _case_names(_vectors_root())


# --- running one file ------------------------------------------------------------------


@dataclass
class FileResult:
    """What govkit did with one file: per step the outcome, plus any wrong outputs."""

    name: str
    outcomes: dict[str, bool | None] = field(default_factory=dict)
    expected: dict[str, bool] = field(default_factory=dict)
    #: Outputs that differ from the file's next field although the stage succeeded.
    wrong_output: list[str] = field(default_factory=list)
    #: VERIFY outcome with the default (strict) ``verify_signature``.
    verify_strict: bool | None = None


def _load(vectors_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors_dir / "dcc" / f"{name}.json").read_text())
    return data


def _hex(case: dict[str, Any], key: str) -> bytes | None:
    value = case.get(key)
    return bytes.fromhex(value) if isinstance(value, str) else None


def _derive_cose(case: dict[str, Any]) -> bytes | None:
    """COSE bytes for the DECODE/VERIFY/EXPIRATIONCHECK steps (derived when missing).

    Raises a GovkitError when an earlier govkit stage fails on the earlier field.
    """
    cose = _hex(case, "COSE")
    if cose is not None:
        return cose
    compressed = _hex(case, "COMPRESSED")
    if compressed is None and isinstance(case.get("BASE45"), str):
        compressed = b45decode(case["BASE45"])
    if compressed is None and isinstance(case.get("PREFIX"), str):
        prefix: str = case["PREFIX"]
        if not prefix.startswith(HC1):
            raise CertificateFormatError("no HC1 prefix", reason="prefix")
        compressed = b45decode(prefix[len(HC1) :])
    if compressed is None:
        return None
    return codec.decompress(compressed)


def _clock(case: dict[str, Any]) -> datetime:
    match = _CLOCK.fullmatch(case["TESTCTX"]["VALIDATIONCLOCK"])
    assert match, case["TESTCTX"]["VALIDATIONCLOCK"]
    whole, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    if zone in (None, "Z"):  # 8 files give no zone: read as UTC
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return datetime.fromisoformat(f"{whole}.{micro}{zone}")


def _certificate_key(case: dict[str, Any], alg: str | None) -> tuple[VerifyingKey, bytes]:
    """The file's signing certificate as a govkit key, and its HCERT kid."""
    der = base64.b64decode(case["TESTCTX"]["CERTIFICATE"])
    public = x509.load_der_x509_certificate(der).public_key()
    key_alg = "PS256" if isinstance(public, rsa.RSAPublicKey) else alg
    key = VerifyingKey(public, key_alg)  # type: ignore[arg-type]
    return key, hashlib.sha256(der).digest()[:8]


def _step_picture(case: dict[str, Any], result: FileResult) -> bool | None:
    png = case.get("2DCODE")
    if not isinstance(png, str):
        return None
    try:
        image = Image.open(io.BytesIO(base64.b64decode(png, validate=True)))
        image.load()
    except (binascii.Error, UnidentifiedImageError, OSError):
        return False
    codes = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return [code.text for code in codes] == [case["PREFIX"]]


def _step_unprefix(case: dict[str, Any], result: FileResult) -> bool | None:
    text: str = case["PREFIX"]
    try:
        codec.decode(text, prefixes=(HC1,))
    except GovkitError as exc:
        if exc.context.get("reason") == "prefix":
            return False
    if "BASE45" in case and text[len(HC1) :] != case["BASE45"]:
        result.wrong_output.append("UNPREFIX: the rest of PREFIX differs from BASE45")
    return True


def _step_b45(case: dict[str, Any], result: FileResult) -> bool | None:
    if not isinstance(case.get("BASE45"), str):
        return None
    try:
        raw = b45decode(case["BASE45"])
    except GovkitError:
        return False
    compressed = _hex(case, "COMPRESSED")
    if compressed is not None and raw != compressed:
        result.wrong_output.append("B45DECODE: output differs from COMPRESSED")
    return True


def _step_compression(case: dict[str, Any], result: FileResult) -> bool | None:
    compressed = _hex(case, "COMPRESSED")
    try:
        if compressed is None:
            if not isinstance(case.get("BASE45"), str):
                return None
            compressed = b45decode(case["BASE45"])
        cose = codec.decompress(compressed)
    except GovkitError:
        return False
    expected = _hex(case, "COSE")
    if expected is not None and cose != expected:
        result.wrong_output.append("COMPRESSION: output differs from COSE")
    return True


def _message(case: dict[str, Any]) -> codec.CoseMessage | None:
    cose = _derive_cose(case)
    return None if cose is None else codec.decode_cose(cose)


def _step_decode(case: dict[str, Any], result: FileResult) -> bool | None:
    cbor = _hex(case, "CBOR")
    try:
        if "COSE" not in case and cbor is not None:
            # CBO1: only the CWT payload is given. Run the codec's COSE and CWT layers on
            # an unsigned COSE_Sign1 shell around it.
            shell = cbor2.dumps(cbor2.CBORTag(18, [b"", {}, cbor, b""]))
            codec.decode_cose(shell)
            return True
        message = _message(case)
    except GovkitError:
        return False
    if message is None:
        return None
    if cbor is not None:
        # CBOR holds the whole claims map in some files, only the HCERT document in others.
        wanted = cbor2.loads(cbor)
        document = message.claims.get(codec.HCERT, {}).get(1)
        if wanted not in (message.claims, document):
            result.wrong_output.append("DECODE: neither the claims nor the document equal CBOR")
    return True


def _verify(case: dict[str, Any], *, unsafe: bool) -> bool | None:
    try:
        message = _message(case)
        if message is None:
            return None
        key, kid = _certificate_key(case, message.alg)
        candidates = [key] if message.kid == kid else []
        codec.verify_signature(message, candidates, unsafe_unprotected_alg=unsafe)
    except GovkitError:
        return False
    return True


def _step_verify(case: dict[str, Any], result: FileResult) -> bool | None:
    result.verify_strict = _verify(case, unsafe=False)
    return _verify(case, unsafe=True)


def _step_expiration(case: dict[str, Any], result: FileResult) -> bool | None:
    try:
        message = _message(case)
        if message is None:
            return None
        codec.check_times(message.claims, at=_clock(case))
    except GovkitError:
        return False
    return True


RUNNERS = {
    "EXPECTEDPICTUREDECODE": _step_picture,
    "EXPECTEDUNPREFIX": _step_unprefix,
    "EXPECTEDB45DECODE": _step_b45,
    "EXPECTEDCOMPRESSION": _step_compression,
    "EXPECTEDDECODE": _step_decode,
    "EXPECTEDVERIFY": _step_verify,
    "EXPECTEDEXPIRATIONCHECK": _step_expiration,
}


def run_file(vectors_dir: Path, name: str) -> FileResult:
    case = _load(vectors_dir, name)
    result = FileResult(name)
    expected: dict[str, Any] = case["EXPECTEDRESULTS"]
    unknown = set(expected) - set(RUNNERS) - set(NOT_RUN)
    assert not unknown, f"{name}: EXPECTEDRESULTS keys with no decision: {sorted(unknown)}"
    for step in STEPS:
        if step in expected:
            assert isinstance(expected[step], bool), f"{name}: {step} is not a boolean"
            result.expected[step] = expected[step]
            result.outcomes[step] = RUNNERS[step](case, result)
    return result


# --- known issues ------------------------------------------------------------------------


def known_issues(vectors_dir: Path) -> set[tuple[str, str, str]]:
    """(step, country, test set or "") rows of known_issues.csv for steps run here."""
    rows: set[tuple[str, str, str]] = set()
    with (vectors_dir / "dcc" / "known_issues.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["test_name"]
            assert name in KNOWN_ISSUE_STEPS, f"known_issues.csv names an unknown test {name!r}"
            step = KNOWN_ISSUE_STEPS[name]
            if step is not None:
                rows.add((step, row["country"], row["test_set"]))
    return rows


def is_known_issue(issues: set[tuple[str, str, str]], step: str, name: str) -> bool:
    country, stem = name.split("/", maxsplit=1)[0], name.rsplit("/", 1)[-1]
    return (step, country, stem) in issues or (step, country, "") in issues


def classify(result: FileResult, issues: set[tuple[str, str, str]]) -> dict[str, str]:
    """step -> ``true``, ``false``, ``known_issue``, ``no_input`` or ``mismatch``."""
    labels: dict[str, str] = {}
    for step, got in result.outcomes.items():
        want = result.expected[step]
        if got is None:
            labels[step] = "no_input"
        elif got == want:
            labels[step] = "true" if want else "false"
        elif is_known_issue(issues, step, result.name):
            labels[step] = "known_issue"
        else:
            labels[step] = "mismatch"
    return labels


@pytest.fixture(scope="module")
def issues(vectors_dir: Path) -> set[tuple[str, str, str]]:
    return known_issues(vectors_dir)


@pytest.fixture(scope="module")
def results() -> dict[str, FileResult]:
    """Results shared by the per-file tests and the summary (filled on demand)."""
    return {}


def _result(results: dict[str, FileResult], vectors_dir: Path, name: str) -> FileResult:
    if name not in results:
        results[name] = run_file(vectors_dir, name)
    return results[name]


# --- tests --------------------------------------------------------------------------------


def test_every_file_is_collected(vectors_dir: Path) -> None:
    assert len(CASES) == EXPECTED_FILES
    assert _case_names(vectors_dir) == CASES


@pytest.mark.parametrize("name", CASES)
def test_dcc_file(
    vectors_dir: Path,
    name: str,
    issues: set[tuple[str, str, str]],
    results: dict[str, FileResult],
) -> None:
    result = _result(results, vectors_dir, name)
    labels = classify(result, issues)
    mismatches = [
        f"{step}: expected {result.expected[step]}, govkit {result.outcomes[step]}"
        for step, label in labels.items()
        if label == "mismatch"
    ]
    assert not mismatches, mismatches
    assert not result.wrong_output, result.wrong_output


def test_summary_counts(
    vectors_dir: Path, issues: set[tuple[str, str, str]], results: dict[str, FileResult]
) -> None:
    summary: dict[str, Counter[str]] = {step: Counter() for step in STEPS}
    not_run: Counter[str] = Counter()
    used: set[tuple[str, str]] = set()
    strict_differs: set[str] = set()
    for name in CASES:
        result = _result(results, vectors_dir, name)
        for step, label in classify(result, issues).items():
            summary[step][label] += 1
            if label == "known_issue":
                used.add((step, name))
        if result.verify_strict != result.outcomes.get("EXPECTEDVERIFY", result.verify_strict):
            strict_differs.add(name)
        not_run.update(k for k in _load(vectors_dir, name)["EXPECTEDRESULTS"] if k in NOT_RUN)
    assert {step: dict(counts) for step, counts in summary.items()} == SUMMARY
    assert used == KNOWN_ISSUES_USED
    assert dict(not_run) == NOT_RUN_COUNTS
    assert strict_differs == UNPROTECTED_ALG_FILES


def test_co20_is_refused_without_the_unsafe_flag(vectors_dir: Path) -> None:
    case = _load(vectors_dir, "common/2DCode/raw/CO20")
    message = _message(case)
    assert message is not None
    assert message.alg is None
    assert message.unprotected[1] == -7
    key, kid = _certificate_key(case, "ES256")
    assert message.kid == kid
    from govkit.errors import CertificateAlgorithmRejected  # noqa: PLC0415

    with pytest.raises(CertificateAlgorithmRejected):
        codec.verify_signature(message, [key])
    assert codec.verify_signature(message, [key], unsafe_unprotected_alg=True) == key


def test_misspelt_exptectedexpired_files_are_within_their_validity(vectors_dir: Path) -> None:
    checked = []
    for name in CASES:
        case = _load(vectors_dir, name)
        if "EXPTECTEDEXPIRED" in case["EXPECTEDRESULTS"]:
            assert case["EXPECTEDRESULTS"]["EXPTECTEDEXPIRED"] is True
            message = _message(case)
            assert message is not None
            codec.check_times(message.claims, at=_clock(case))
            checked.append(name)
    assert len(checked) == NOT_RUN_COUNTS["EXPTECTEDEXPIRED"]
