"""Argument parsing, dispatch, output and exit codes for the ``govkit`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

import govkit
from govkit.errors import (
    AlgorithmUnavailable,
    ClockBehind,
    ConfigurationError,
    GovkitError,
    PaymentDeliveryUnknown,
    PaymentEventUnknown,
    QrUnreadable,
    StoreError,
    TrustListError,
    VerificationError,
)

#: Exit code: the command did what was asked; the artifact is genuine.
EXIT_OK: Final = 0
#: Exit code: the input was read but is not valid (not genuine, malformed).
EXIT_INVALID: Final = 1
#: Exit code: wrong arguments.
EXIT_USAGE: Final = 2
#: Exit code: something outside the input is wrong (files, variables, services), or the
#: input could not be read at all (a picture without one readable QR code).
EXIT_ENV: Final = 3

#: What to do next, by error code, printed after the failure line (and as ``hint`` in
#: the JSON ``error`` object).
HINTS: Final = {
    "qr.not_found": "请重新拍照：二维码完整、清晰、光线充足 / retake the photo (PNG or JPEG): "
    "the whole QR code in the frame, sharp and well lit",
    "qr.several_codes": "请重新拍照，画面中只保留一个二维码 / retake the photo with only one "
    "QR code in the frame",
    "certificate.status_unknown": "撤销状态无法检查：请用 --status 提供签发机关当前的状态列表 / "
    "revocation could not be checked: give the issuer's current status list (--status)",
    "certificate.status_stale": "状态列表已过期：请获取签发机关最新的状态列表 / the status list "
    "has expired: fetch the issuer's latest one (--status)",
    "esign.signer_mismatch": "信任列表未授权该证书为此签发机关签署PDF：请勿采信此文件；"
    "若证书确属该机关，由信任列表管理方添加（govkit trust add-issuer --pdf-signer-cert）/ "
    "the trust list does not "
    "authorise this PDF's signing certificate for the licence's issuer: do not rely on the "
    "file; if the certificate is the issuer's, the list's operator adds it "
    "(govkit trust add-issuer --pdf-signer-cert)",
    "clock.behind": "设备时钟落后于本设备已见过的签名时间：请校准时钟后重新验证 / the device "
    "clock is behind a signed time this device has already seen: set the clock, then verify "
    "again",
    "trust.rollback": "所给列表比本设备已持有的旧：请勿使用；可用 govkit verifier status 查看所持"
    "列表 / the list given is older than the one this device holds: do not use it "
    "(govkit verifier status shows what is held)",
    "payment.event_unknown": "请核对事件编号（govkit payments show 可列出事件）；若多个支付渠道使用"
    "同一编号，请加 --provider / check the event id (govkit payments show lists them); if "
    "several providers use that id, give --provider",
}

#: Errors that say something outside the input is wrong or missing, never a verdict
#: (exit 3): nothing was read to give one on. A store that is down, locked, damaged or
#: of a newer schema (every ``*.store*`` code), a picture without one readable QR code,
#: a trust list that cannot be loaded, an id the store does not hold (like a file
#: that does not exist), and a list signed later than the device's clock (set the clock).
_ENVIRONMENT_ERRORS: Final = (
    StoreError,
    QrUnreadable,
    TrustListError,
    ClockBehind,
    PaymentEventUnknown,
    PaymentDeliveryUnknown,
)


class CliUsageError(Exception):
    """Bad combination of arguments, or a required one missing (exit 2)."""

    def __init__(self, message: str, code: str = "cli.usage") -> None:
        super().__init__(message)
        self.code = code


class CliEnvironmentError(Exception):
    """Something outside the input is wrong: a missing file, variable or service (exit 3)."""

    def __init__(self, message: str, code: str = "cli.environment") -> None:
        super().__init__(message)
        self.code = code


class CliInvalid(Exception):
    """A command reached a verdict of "invalid" and already reported it (exit 1)."""


@dataclass
class Output:
    """Where a command writes: data to stdout, status to stderr."""

    json: bool = False
    quiet: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def data(self, payload: Any, text: str | None = None) -> None:
        """Print ``payload`` as JSON with ``--json``, else ``text`` (or the payload)."""
        if self.json:
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
            self.stdout.write("\n")
        else:
            self.stdout.write((text if text is not None else _plain(payload)) + "\n")
        self.stdout.flush()

    def status(self, message: str) -> None:
        """A status line on stderr (suppressed with ``--quiet``)."""
        if not self.quiet:
            self.stderr.write(message + "\n")
            self.stderr.flush()

    def progress(self, label: str, done: int, total: int) -> None:
        """A progress line on stderr for long work (only on a terminal, unless verbose)."""
        if self.quiet or not self.stderr.isatty():
            return
        pct = 100 * done // total if total else 100
        self.stderr.write(f"\r{label}: {done}/{total} ({pct}%)")
        if done >= total:
            self.stderr.write("\n")
        self.stderr.flush()


def _plain(payload: Any) -> str:
    if isinstance(payload, dict):
        width = max((len(str(k)) for k in payload), default=0)
        lines = []
        for key, value in payload.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(f"{key:<{width}}  {shown}")
        return "\n".join(lines)
    return str(payload)


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Format rows as a plain-text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def env_password(var: str | None) -> str | None:
    """Read a password from the environment variable named ``var`` (exit 3 if unset)."""
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None or value == "":
        raise CliEnvironmentError(f"environment variable {var} is not set", "cli.missing_env")
    return value


Handler = Callable[[argparse.Namespace, Output], int]


def _common() -> argparse.ArgumentParser:
    # SUPPRESS: an option given anywhere (before or after the subcommand) is kept;
    # the top-level parser supplies the defaults.
    common = argparse.ArgumentParser(add_help=False)
    quiet = argparse.SUPPRESS
    common.add_argument(
        "--json", action="store_true", default=quiet, help="print machine-readable JSON"
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=quiet, help="no status lines on stderr"
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=quiet, help="show tracebacks"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (used by the docs and the tests too)."""
    from govkit.cli import (  # noqa: PLC0415 - keeps startup cheap
        _audit,
        _certificates,
        _db,
        _demo,
        _esign,
        _identity,
        _keys,
        _payments,
        _presentations,
        _verifier,
        _verify,
    )

    common = _common()
    parser = argparse.ArgumentParser(
        prog="govkit",
        description="govkit: identity tokens, e-licences, signatures, payment callbacks "
        "and a tamper-evident audit log for government apps.",
        epilog="Exit codes: 0 ok/valid, 1 invalid, 2 usage, 3 environment or I/O error.",
        parents=[common],
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (
        _keys,
        _identity,
        _certificates,
        _presentations,
        _esign,
        _verify,
        _verifier,
        _audit,
        _payments,
        _db,
        _demo,
    ):
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``govkit`` command and return its exit code."""
    from govkit.cli._verify import with_default_kind  # noqa: PLC0415 - keeps startup cheap

    parser = build_parser()
    try:
        # ``govkit verify INPUT`` is ``govkit verify auto INPUT`` (the kind is detected).
        args = parser.parse_args(with_default_kind(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    for flag in ("json", "quiet", "verbose"):  # common flags default to SUPPRESS
        if not hasattr(args, flag):
            setattr(args, flag, False)
    if args.version:
        if args.json:
            print(json.dumps({"version": govkit.__version__}))
        else:
            print(f"govkit {govkit.__version__}")
        return EXIT_OK
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write("govkit: error: a command is required\n")
        return EXIT_USAGE
    out = Output(json=args.json, quiet=args.quiet)
    try:
        return handler(args, out)
    except CliInvalid:
        return EXIT_INVALID
    except CliUsageError as exc:
        return _fail(out, args=args, code=exc.code, message=str(exc), exit_code=EXIT_USAGE)
    except CliEnvironmentError as exc:
        return _fail(out, args=args, code=exc.code, message=str(exc), exit_code=EXIT_ENV)
    except AlgorithmUnavailable as exc:  # an optional extra is not installed
        return _fail(out, args=args, code=exc.code, message=exc.message, exit_code=EXIT_ENV)
    except _ENVIRONMENT_ERRORS as exc:  # nothing was read to give a verdict on
        return _fail(
            out, args=args, code=exc.code, message=exc.message, exit_code=EXIT_ENV, error=exc
        )
    except ConfigurationError as exc:
        return _fail(
            out, args=args, code=exc.code, message=exc.message, exit_code=EXIT_USAGE, error=exc
        )
    except GovkitError as exc:
        return _fail(
            out, args=args, code=exc.code, message=exc.message, exit_code=EXIT_INVALID, error=exc
        )
    except BrokenPipeError:
        # The reader went away (``govkit ... | head``): stop quietly, like other tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ENV
    except OSError as exc:
        what = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        return _fail(out, args=args, code="cli.io", message=what, exit_code=EXIT_ENV)
    except KeyboardInterrupt:
        return _fail(
            out, args=args, code="cli.interrupted", message="interrupted", exit_code=EXIT_ENV
        )


def _fail(
    out: Output,
    *,
    args: argparse.Namespace,
    code: str,
    message: str,
    exit_code: int,
    error: GovkitError | None = None,
) -> int:
    label = "INVALID" if isinstance(error, VerificationError) else "ERROR"
    sys.stderr.write(f"{label}: {message} [{code}]\n")
    hint = HINTS.get(code)
    if hint is not None:
        sys.stderr.write(f"hint: {hint}\n")
    if args.verbose:
        traceback.print_exc(file=sys.stderr)
    if out.json:
        payload = (
            error.to_dict()
            if error is not None
            else {"code": code, "message": message, "context": {}}
        )
        # The error shape: {"error": {...}} and nothing else at the top (never "valid").
        out.data({"error": payload | ({} if hint is None else {"hint": hint})})
    return exit_code
