"""The command reads trust lists as large as the library accepts, not just 16 MiB.

A trust list may hold 100,000 issuers (about 44 MB signed); the library's limit is
:data:`govkit.certificates.TRUST_LIST_MAX_BYTES`. Other input files stay capped at
16 MiB. The list here has about 38,500 issuers, each with one key for all ten licence
types and a long agency name, to pass 20 MB quickly.
"""

from __future__ import annotations

import io
import json
import os
import random
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from govkit.certificates import (
    STATUS_LIST_MAX_BYTES,
    TRUST_LIST_MAX_BYTES,
    Agency,
    LicenceRegistry,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    sign_trust_list,
)
from govkit.certificates._status import STATUS_LIST_MAX_BYTES as STATUS_LIMIT
from govkit.certificates._trust import TRUST_LIST_MAX_BYTES as TRUST_LIMIT
from govkit.cli import EXIT_ENV, EXIT_OK, main
from govkit.cli._files import MAX_INPUT_BYTES
from govkit.keys import SigningKey, VerifyingKey

ISSUERS = 38_500
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(number: int) -> str:
    """The ``number``-th made-up USCC, with its GB 32100 check character."""
    body = f"11440100{number:09d}"
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_ALPHABET[-total % 31]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def anchor(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, Path]:
    key = SigningKey.generate("ES256")
    public = tmp_path_factory.mktemp("anchor") / "anchor.pub"
    public.write_bytes(key.verifying_key.to_pem())
    return key, public


def test_the_limits_are_public_and_are_the_librarys() -> None:
    assert TRUST_LIST_MAX_BYTES == TRUST_LIMIT == 102_465_536
    assert STATUS_LIST_MAX_BYTES == STATUS_LIMIT == 5_598_226
    assert TRUST_LIST_MAX_BYTES > MAX_INPUT_BYTES  # why the CLI needs its own limit


@pytest.mark.slow
def test_trust_show_reads_a_trust_list_larger_than_16_mib(
    tmp_path: Path, anchor: tuple[SigningKey, Path]
) -> None:
    rng = random.Random(15)
    types = set(LicenceRegistry.default())
    issuers = tuple(
        TrustedIssuer(
            Agency(f"广东省测试机构第{n}号行政审批与政务服务数据管理中心", uscc(n)),
            # 32 random bytes as an Ed25519 public key: nobody signs with these.
            (
                TrustedKey.for_key(
                    VerifyingKey(ed25519.Ed25519PublicKey.from_public_bytes(rng.randbytes(32))),
                    types,
                ),
            ),
        )
        for n in range(ISSUERS)
    )
    now = datetime.now(UTC)
    signed = sign_trust_list(TrustList(issuers, 7, now, now + timedelta(days=7)), anchor[0])
    assert len(signed) > 20_000_000 > MAX_INPUT_BYTES  # past the 16 MiB of other inputs
    path = tmp_path / "trust.json"
    path.write_bytes(signed)
    del issuers, signed
    code, out, err = run("trust", "show", str(path), "--anchor", str(anchor[1]), "--json")
    assert code == EXIT_OK, err[-2000:]
    shown = json.loads(out)
    assert shown["sequence"] == 7
    assert len(shown["issuers"]) == ISSUERS
    assert shown["issuers"][-1]["uscc"] == uscc(ISSUERS - 1)


def test_a_trust_list_file_over_the_librarys_limit_is_refused_unread(
    tmp_path: Path, anchor: tuple[SigningKey, Path]
) -> None:
    """One byte over TRUST_LIST_MAX_BYTES: cli.too_large (exit 3), before any parsing."""
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:  # sparse: no disk is used for the zeros
        handle.truncate(TRUST_LIST_MAX_BYTES + 1)
    code, out, err = run("trust", "show", str(path), "--anchor", str(anchor[1]), "--json")
    assert code == EXIT_ENV
    assert json.loads(out)["error"]["code"] == "cli.too_large"
    assert str(TRUST_LIST_MAX_BYTES) in err
    os.unlink(path)
