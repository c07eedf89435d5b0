"""Argument parsing, dispatch, output and exit codes for the ``govkit`` command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn, TextIO

import govkit
from govkit.cli._i18n import MESSAGES, language_from, localise_help, t
from govkit.cli._i18n import table as _table
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
    render_message,
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


def hint(code: str | None, lang: str) -> str | None:
    """What to do next after a failure with ``code``, in ``lang``, if there is advice
    (printed after the failure line, and as ``hint`` in the JSON ``error`` object)."""
    key = f"hint.{code}"
    return t(key, lang) if key in MESSAGES else None


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
    """Bad combination of arguments, or a required one missing (exit 2).

    ``key`` names the message in the command's catalogue (:mod:`govkit.cli._i18n`),
    ``values`` fill it; ``str()`` is the English message.
    """

    def __init__(self, key: str, code: str = "cli.usage", /, **values: object) -> None:
        super().__init__(t(key, "en", **values))
        self.key, self.code, self.values = key, code, values

    def render(self, lang: str) -> str:
        """The message in ``lang``."""
        return t(self.key, lang, **self.values)


class CliEnvironmentError(Exception):
    """Something outside the input is wrong: a missing file, variable or service (exit 3).

    ``key`` and ``values`` as for :class:`CliUsageError`.
    """

    def __init__(self, key: str, code: str = "cli.environment", /, **values: object) -> None:
        super().__init__(t(key, "en", **values))
        self.key, self.code, self.values = key, code, values

    def render(self, lang: str) -> str:
        """The message in ``lang``."""
        return t(self.key, lang, **self.values)


class CliInvalid(Exception):
    """A command reached a verdict of "invalid" and already reported it (exit 1)."""


@dataclass
class Output:
    """Where a command writes: data to stdout, status to stderr."""

    json: bool = False
    quiet: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    #: The language of the messages: ``en`` or ``zh`` (``--lang``, else the locale).
    lang: str = "en"

    def t(self, key: str, /, **values: object) -> str:
        """The message ``key`` of the command's catalogue in this output's language."""
        return t(key, self.lang, **values)

    def say(self, key: str, /, **values: object) -> None:
        """The status line ``key`` of the catalogue, in this output's language."""
        self.status(t(key, self.lang, **values))

    def error_message(self, error: GovkitError) -> str:
        """A library error's message in this output's language (the code is unchanged)."""
        return render_message(error, self.lang)

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
        from govkit.cli._i18n import display_width, pad  # noqa: PLC0415

        width = max((display_width(str(k)) for k in payload), default=0)
        lines = []
        for key, value in payload.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(pad(str(key), width) + "  " + shown)
        return "\n".join(lines)
    return str(payload)


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Format rows as a plain-text table, aligned by display width (a Chinese character
    takes two columns): the one table of the command (:func:`govkit.cli._i18n.table`)."""
    return _table(rows, headers)


def env_password(var: str | None) -> str | None:
    """Read a password from the environment variable named ``var`` (exit 3 if unset)."""
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None or value == "":
        raise CliEnvironmentError("env.not_set", "cli.missing_env", var=var)
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
    common.add_argument(
        "--lang",
        choices=LANGUAGES_GIVEN,
        default=quiet,
        help="the language of messages: zh (Chinese) or en (English); default: zh when "
        "LC_ALL, LC_MESSAGES or LANG (the first set) starts with zh, else en",
    )
    return common


#: The values ``--lang`` takes.
LANGUAGES_GIVEN: Final = ("zh", "en")


def _argv_language(argv: Sequence[str]) -> str | None:
    """``--lang`` as given on the command line, read before argparse (whose own errors
    are printed in that language too)."""
    found: str | None = None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(argv):
            found = argv[index + 1]
        elif arg.startswith("--lang="):
            found = arg.split("=", 1)[1]
    return found if found in LANGUAGES_GIVEN else None


def _parser_class(lang: str) -> type[argparse.ArgumentParser]:
    """An argument parser whose usage errors are said in ``lang``: the messages of the
    command's option types and argparse's usual phrases are translated, anything else
    argparse says stays English."""

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            self.print_usage(sys.stderr)
            if lang != "en":
                message = translate_argparse(message, lang)
            self.exit(EXIT_USAGE, t("usage.argparse", lang, prog=self.prog, message=message) + "\n")

    return Parser


def translate_argparse(message: str, lang: str) -> str:
    """argparse's ``message`` with the English of every ``type.*`` and ``argparse.*``
    entry of the catalogue replaced by its text in ``lang``."""
    for key, (english, _) in MESSAGES.items():
        if key.startswith(("type.", "argparse.")) and english in message:
            message = message.replace(english, t(key, lang))
    return message


def build_parser(lang: str = "en") -> argparse.ArgumentParser:
    """The full argument parser (used by the docs and the tests too); usage errors and
    help texts are in ``lang``."""
    from govkit.cli import (  # noqa: PLC0415 - keeps startup cheap
        _audit,
        _certificates,
        _db,
        _demo,
        _esign,
        _identity,
        _keys,
        _oidc,
        _payments,
        _presentations,
        _verifier,
        _verify,
    )

    common = _common()
    parser = _parser_class(lang)(
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
        _oidc,
        _db,
        _demo,
    ):
        module.register(sub, common)
    localise_help(parser, lang)  # --help in the language of the messages
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``govkit`` command and return its exit code."""
    from govkit.cli._verify import with_default_kind  # noqa: PLC0415 - keeps startup cheap

    # The command says in its own words (and language) what the library logs; without a
    # handler, Python would also print the library's English warnings on stderr.
    library_log = logging.getLogger("govkit")
    if not library_log.handlers:
        library_log.addHandler(logging.NullHandler())
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = language_from(_argv_language(argv), os.environ)
    parser = build_parser(lang)
    try:
        # ``govkit verify INPUT`` is ``govkit verify auto INPUT`` (the kind is detected).
        args = parser.parse_args(with_default_kind(argv))
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    for flag in ("json", "quiet", "verbose"):  # common flags default to SUPPRESS
        if not hasattr(args, flag):
            setattr(args, flag, False)
    lang = language_from(getattr(args, "lang", None), os.environ)
    if args.version:
        if args.json:
            print(json.dumps({"version": govkit.__version__}))
        else:
            print(t("version", lang, version=govkit.__version__))
        return EXIT_OK
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write(
            t("usage.argparse", lang, prog="govkit", message=t("usage.command_required", lang))
            + "\n"
        )
        return EXIT_USAGE
    out = Output(json=args.json, quiet=args.quiet, lang=lang)
    try:
        return handler(args, out)
    except CliInvalid:
        return EXIT_INVALID
    except CliUsageError as exc:
        return _fail(out, args=args, code=exc.code, message=exc.render(lang), exit_code=EXIT_USAGE)
    except CliEnvironmentError as exc:
        return _fail(out, args=args, code=exc.code, message=exc.render(lang), exit_code=EXIT_ENV)
    except AlgorithmUnavailable as exc:  # an optional extra is not installed
        return _fail(
            out, args=args, code=exc.code, message=out.error_message(exc), exit_code=EXIT_ENV
        )
    except _ENVIRONMENT_ERRORS as exc:  # nothing was read to give a verdict on
        return _fail(
            out,
            args=args,
            code=exc.code,
            message=out.error_message(exc),
            exit_code=EXIT_ENV,
            error=exc,
        )
    except ConfigurationError as exc:
        return _fail(
            out,
            args=args,
            code=exc.code,
            message=out.error_message(exc),
            exit_code=EXIT_USAGE,
            error=exc,
        )
    except GovkitError as exc:
        return _fail(
            out,
            args=args,
            code=exc.code,
            message=out.error_message(exc),
            exit_code=EXIT_INVALID,
            error=exc,
        )
    except BrokenPipeError:
        # The reader went away (``govkit ... | head``): stop quietly, like other tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ENV
    except OSError as exc:
        reason = str(exc.strerror or exc)
        what = (
            t("io.failed_file", lang, reason=reason, file=exc.filename)
            if exc.filename
            else t("io.failed", lang, reason=reason)
        )
        return _fail(out, args=args, code="cli.io", message=what, exit_code=EXIT_ENV)
    except KeyboardInterrupt:
        return _fail(
            out,
            args=args,
            code="cli.interrupted",
            message=t("interrupted", lang),
            exit_code=EXIT_ENV,
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
    label = out.t("label.invalid" if isinstance(error, VerificationError) else "label.error")
    sys.stderr.write(out.t("fail.line", label=label, message=message, code=code) + "\n")
    advice = hint(code, out.lang)
    if advice is not None:
        sys.stderr.write(out.t("hint.line", label=out.t("label.hint"), hint=advice) + "\n")
    if args.verbose:
        traceback.print_exc(file=sys.stderr)
    if out.json:
        # The code never changes with the language; the message follows it.
        payload = {"code": code, "message": message, "context": {}}
        if error is not None:
            payload = error.to_dict() | {"message": message}
        # The error shape: {"error": {...}} and nothing else at the top (never "valid").
        out.data({"error": payload | ({} if advice is None else {"hint": advice})})
    return exit_code
