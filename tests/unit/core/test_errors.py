"""Evidence for :mod:`govkit.errors`: one tree, stable codes, safe JSON shape."""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

import govkit.errors as errors_module
from govkit.errors import (
    AuditError,
    ClockError,
    GovkitError,
    InvalidSignature,
    KeysError,
    VerificationError,
)

#: The public functions of govkit.errors; every other name in ``__all__`` is an error class.
FUNCTIONS = {"render_message", "message_for"}
ERROR_NAMES = [name for name in errors_module.__all__ if name not in FUNCTIONS]
ERROR_CLASSES: list[type[GovkitError]] = [getattr(errors_module, name) for name in ERROR_NAMES]

#: Errors that say "this artifact is not genuine". Each must be a VerificationError.
KNOWN_VERIFICATION = {
    "VerificationError",
    "EncodingError",
    "InvalidSignature",
    "UnknownKey",
    "KeyNotValidAt",
    "AuditVerificationError",
    "InvalidProof",
    "LeafMismatch",
    "RootMismatch",
    "LogTruncated",
    "LogGap",
    "InconsistentLog",
    "CheckpointInvalid",
    "CheckpointSignatureInvalid",
}

#: Errors about configuration, inputs to the caller's own operations or the environment.
#: None of them may be caught as "the artifact is forged".
KNOWN_NOT_VERIFICATION = {
    "GovkitError",
    "ConfigurationError",
    "ClockError",
    "NaiveDatetimeError",
    "KeysError",
    "UnsupportedAlgorithm",
    "WeakKey",
    "NoActiveKey",
    "AuditError",
    "AuditStoreError",
    "AuditStoreLocked",
    "SubjectErased",
    # The names below read like verification failures but are not, for the reason given.
    "InvalidKey",  # key data handed to a loader is malformed: the caller's input, no artifact
    "KeyPasswordError",  # a wrong password for the caller's own key file
    "KeyMismatch",  # a key configured with the wrong algorithm
    "AuditEventInvalid",  # an event the caller is about to append is malformed
    "InvalidIdentifier",  # an ID number fails its check digit: input validation, no artifact
    "LicenceDataInvalid",  # licence data an issuer is about to sign does not fit its schema
    # A picture that could not be read says nothing about the licence in it: retake it.
    "QrUnreadable",
    "QrNotFound",
    "QrSeveralCodes",
}

#: A name that reads as "this is not genuine" must be a VerificationError (or be listed above).
VERIFICATION_WORDS = re.compile(
    r"Invalid|Mismatch|Signature|Proof|Truncated|Gap|Inconsistent|Expired|Revoked|Replayed"
    r"|Malformed|Wrong|Forged|Tamper"
)

CODE = re.compile(r"[a-z]+(?:\.[a-z_]+)+")


def make(cls: type[GovkitError], message: str | None = None, **context: Any) -> GovkitError:
    """Build ``cls``, filling any required keyword-only argument with a placeholder."""
    required = {
        name: "placeholder"
        for name, param in inspect.signature(cls).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
        and param.default is inspect.Parameter.empty
        and name not in context
    }
    return cls(message, **required, **context)


def test_all_lists_every_error_class_and_only_error_classes() -> None:
    assert len(ERROR_CLASSES) == len(set(ERROR_NAMES))
    assert set(errors_module.__all__) >= FUNCTIONS
    assert all(callable(getattr(errors_module, name)) for name in FUNCTIONS)
    for cls in ERROR_CLASSES:
        assert isinstance(cls, type)
        assert issubclass(cls, GovkitError)
        assert issubclass(cls, Exception)
    defined = {
        name
        for name, value in vars(errors_module).items()
        if isinstance(value, type)
        and issubclass(value, GovkitError)
        and value.__module__ == "govkit.errors"
    }
    assert defined == set(ERROR_NAMES)


def test_every_error_has_its_own_unique_dotted_code() -> None:
    codes = [cls.code for cls in ERROR_CLASSES]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    assert duplicates == []
    for cls in ERROR_CLASSES:
        assert "code" in vars(cls), f"{cls.__name__} inherits its parent's code"
        assert CODE.fullmatch(cls.code), f"{cls.__name__}.code={cls.code!r} is not dotted"


@pytest.mark.parametrize(
    ("base", "prefix"), [(KeysError, "key."), (AuditError, "audit."), (ClockError, "clock.")]
)
def test_component_errors_share_the_component_code_prefix(
    base: type[GovkitError], prefix: str
) -> None:
    members = [cls for cls in ERROR_CLASSES if issubclass(cls, base)]
    assert len(members) > 1
    assert [cls.__name__ for cls in members if not cls.code.startswith(prefix)] == []


def test_every_verification_class_derives_from_verification_error() -> None:
    by_name = {cls.__name__: cls for cls in ERROR_CLASSES}
    assert set(by_name) >= KNOWN_VERIFICATION
    assert [
        n for n in sorted(KNOWN_VERIFICATION) if not issubclass(by_name[n], VerificationError)
    ] == []
    audit_base = by_name["AuditVerificationError"]
    assert all(issubclass(c, VerificationError) for c in ERROR_CLASSES if issubclass(c, audit_base))


def test_names_that_read_as_forgery_are_verification_errors() -> None:
    suspicious = [
        cls.__name__
        for cls in ERROR_CLASSES
        if VERIFICATION_WORDS.search(cls.__name__)
        and cls.__name__ not in KNOWN_NOT_VERIFICATION
        and not issubclass(cls, VerificationError)
    ]
    assert suspicious == [], "decide: make them VerificationErrors or list them, with a reason"


def test_configuration_and_environment_errors_are_not_verification_errors() -> None:
    by_name = {cls.__name__: cls for cls in ERROR_CLASSES}
    assert set(by_name) >= KNOWN_NOT_VERIFICATION
    wrongly = [
        n for n in sorted(KNOWN_NOT_VERIFICATION) if issubclass(by_name[n], VerificationError)
    ]
    assert wrongly == []


def test_every_error_class_has_a_docstring_that_serves_as_default_message() -> None:
    for cls in ERROR_CLASSES:
        doc = vars(cls).get("__doc__")
        assert doc, f"{cls.__name__} has no docstring"
        if cls is not GovkitError:
            assert make(cls).message == doc


def parse_tree() -> dict[str, tuple[str | None, str | None, bool]]:
    """The tree drawn in the module docstring: name -> (parent, code, + VerificationError)."""
    doc = errors_module.__doc__ or ""
    lines = doc.split("The tree::", 1)[1].strip("\n").splitlines()
    drawn: dict[str, tuple[str | None, str | None, bool]] = {}
    stack: list[tuple[int, str]] = []
    for line in lines:
        match = re.search(r"[A-Za-z]", line)
        if match is None:
            continue
        depth = match.start()
        name = re.match(r"\w+", line[depth:])
        assert name is not None
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else None
        rest = line[depth + len(name.group()) :]
        code = CODE.search(rest)
        drawn[name.group()] = (
            parent,
            code.group() if code else None,
            "(+ VerificationError)" in rest,
        )
        stack.append((depth, name.group()))
    return drawn


def test_docstring_tree_matches_the_classes() -> None:
    drawn = parse_tree()
    assert set(drawn) == set(ERROR_NAMES)
    for name, (parent, code, marked_verification) in drawn.items():
        cls = getattr(errors_module, name)
        if parent is not None:
            assert issubclass(cls, getattr(errors_module, parent)), f"{name} under {parent}"
        if code is not None:
            assert cls.code == code, f"{name} drawn with {code}, has {cls.code}"
        if marked_verification:
            assert issubclass(cls, VerificationError), name


def test_verification_errors_are_caught_in_one_place() -> None:
    with pytest.raises(VerificationError):
        raise InvalidSignature("signature does not verify", kid="k1")
    with pytest.raises(KeysError):
        raise InvalidSignature
    with pytest.raises(GovkitError):
        raise InvalidSignature


def test_to_dict_has_code_message_and_json_ready_context() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    err = InvalidSignature(
        "signature does not verify",
        kid="k1",
        index=3,
        ratio=0.5,
        ok=False,
        missing=None,
        path=("a", 1, when),
        at=when,
    )
    as_dict = err.to_dict()
    assert as_dict == {
        "code": "key.invalid_signature",
        "message": "signature does not verify",
        "context": {
            "kid": "k1",
            "index": 3,
            "ratio": 0.5,
            "ok": False,
            "missing": None,
            "path": ["a", 1, str(when)],
            "at": str(when),
        },
    }
    assert json.loads(json.dumps(as_dict)) == as_dict


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_serialises_to_the_same_shape(cls: type[GovkitError]) -> None:
    as_dict = make(cls, kid="k").to_dict()
    assert set(as_dict) == {"code", "message", "context"}
    assert as_dict["code"] == cls.code
    assert isinstance(as_dict["message"], str)
    assert as_dict["message"]
    assert as_dict["context"]["kid"] == "k"
    assert all(v == "placeholder" for k, v in as_dict["context"].items() if k != "kid")
    json.dumps(as_dict)


def test_context_is_read_only_and_copied() -> None:
    context = {"kid": "k1"}
    err = InvalidSignature("bad", **context)
    context["kid"] = "changed"
    assert err.context["kid"] == "k1"
    with pytest.raises(TypeError):
        err.context["kid"] = "forged"  # type: ignore[index]


def test_str_is_the_message_and_repr_names_the_code() -> None:
    err = InvalidSignature("signature does not verify", kid="k1")
    assert str(err) == "signature does not verify"
    assert repr(err) == (
        "InvalidSignature(code='key.invalid_signature', message='signature does not verify')"
    )
    assert err.args == ("signature does not verify",)


def test_message_defaults_to_the_class_docstring() -> None:
    assert InvalidSignature().message == "A signature does not verify."
