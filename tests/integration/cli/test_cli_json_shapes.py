"""Every ``--json`` output of every command is one of three shapes, each with a schema.

The shapes (docs/cli.rst, "JSON output"): a *report* (a verdict: ``govkit verify``,
``govkit audit verify``), *data* (any other command's result) and an *error*. Their JSON
Schemas are published in ``docs/schemas/``; each output here must validate against
exactly one of them, and the one its command and exit code call for.

The commands are enumerated from the argument parser: a command added without a
success and a failure case in :data:`CASES` fails
:func:`test_every_command_has_a_success_and_a_failure_case`.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import threading
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from jsonschema import Draft202012Validator

from govkit.audit import NoteSigner
from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from govkit.cli._app import build_parser
from govkit.esign import make_test_ca
from govkit.payments import PaymentInbox, Stripe
from govkit.testing.payments import stripe_callback

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
SHAPES = ("report", "data", "error")
VALIDATORS = {
    shape: Draft202012Validator(json.loads((SCHEMAS / f"{shape}.schema.json").read_text()))
    for shape in SHAPES
}
AGENCY = "广东省政务服务数据管理局（演示）"
USCC = "114400000069445123"
RESIDENT_ID = "11010519491231002X"  # GB 11643-1999 example number (valid check digit)


def run(*argv: str) -> tuple[int, str, str]:
    """``govkit *argv``: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def shapes_of(document: Any) -> list[str]:
    """The shapes whose schema ``document`` validates against."""
    return [shape for shape, v in VALIDATORS.items() if not list(v.iter_errors(document))]


# --- the demo's files, and what each case needs ----------------------------------------------


@dataclass(frozen=True)
class Env:
    """The files of one ``govkit demo`` run, shared (read only) by the cases."""

    demo: Path
    facts: dict[str, Any]

    def trust(self) -> list[str]:
        return [
            "--trust",
            str(self.demo / "trust.json"),
            "--anchor",
            str(self.demo / "keys" / "trust-anchor.pub"),
        ]

    def status(self) -> list[str]:
        return ["--status", str(self.demo / "status.json")]

    def demo_state(self, tmp: Path) -> Path:
        """A copy of the verifier state the demo imported its lists into."""
        return Path(shutil.copytree(self.demo / "verifier", tmp / "verifier"))

    def copy_log(self, tmp: Path) -> Path:
        """A copy of the demo's audit log and its key folder (for commands that write)."""
        shutil.copy(self.demo / "audit.db", tmp / "audit.db")
        shutil.copytree(self.demo / "audit", tmp / "audit")
        return tmp / "audit.db"

    def token_args(self) -> list[str]:
        identity = self.facts["identity"]
        return ["--jwks", identity["jwks"], "--issuer", identity["issuer"]]

    def bill(self, tmp: Path, yuan: str) -> Path:
        """A WeChat Pay trade bill with the demo's WeChat payment, of ``yuan``."""
        event = self.facts["payments"]["deliveries"][0]["event"]
        when = datetime.fromisoformat(event["occurred_at"]).astimezone(timezone(timedelta(hours=8)))
        path = tmp / "bill.csv"
        path.write_text(
            "交易时间,微信订单号,商户订单号,交易状态,货币种类,订单金额,退款金额,商户退款单号\n"
            f"`{when:%Y-%m-%d %H:%M:%S},`{event['transaction_id']},`{event['order_id']},"
            f"`SUCCESS,`CNY,`{yuan},`0.00,`0\n"
            f"总交易单数,应结订单总金额\n`1,`{yuan}\n"
        )
        return path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    demo = tmp_path_factory.mktemp("demo")
    code, out, err = run("demo", "--out", str(demo), "--json", "--quiet")
    assert code == EXIT_OK, err
    return Env(demo, json.loads(out))


def verify_detached_args(env: Env, tmp: Path, *, other_data: bool) -> list[str]:
    """Sign a letter (detached), then verify it, or another file, with that signature."""
    letter = tmp / "letter.txt"
    letter.write_text("批复")
    key = str(env.demo / "keys" / "es256.pem")
    code, _, err = run("sign", str(letter), "--key", key, "--purpose", "审批", "-q")
    assert code == EXIT_OK, err
    target = env.demo / "trust.json" if other_data else letter
    return [
        "verify",
        "detached",
        str(target),
        "--signature",
        f"{letter}.sig",
        "--key",
        f"{key}.pub",
    ]


def serve_demo_lists(env: Env) -> str:
    """The URL of the demo's trust list, served from 127.0.0.1 for the rest of the run."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(env.demo))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/trust.json"


def damaged_state(tmp: Path) -> Path:
    """A verifier state whose index is not one (cut short)."""
    (tmp / "state").mkdir()
    (tmp / "state" / "state.json").write_text('{"type": "govkit.verifier-state/v1", "anch')
    return tmp / "state"


def stranger_ca(tmp: Path) -> Path:
    """A CA certificate that did not issue the demo agency's certificate."""
    path = tmp / "stranger-ca.crt"
    path.write_bytes(make_test_ca("某地根证书").certificate.public_bytes(Encoding.PEM))
    return path


def fresh_presentation(env: Env, tmp: Path) -> Path:
    code, _, err = run(
        "present",
        str(env.demo / "presentations" / "driving-licence.gks"),
        "--device-key",
        str(env.demo / "keys" / "device.pem"),
        "--profile",
        "traffic-police",
        "--out",
        str(tmp / "shown"),
        "-q",
    )
    assert code == EXIT_OK, err
    return tmp / "shown.txt"


def trust_body(env: Env, tmp: Path) -> Path:
    code, out, err = run(
        "trust",
        "show",
        str(env.demo / "trust.json"),
        "--anchor",
        str(env.demo / "keys" / "trust-anchor.pub"),
        "--json",
    )
    assert code == EXIT_OK, err
    path = tmp / "body.json"
    path.write_text(out)
    return path


def quarantined_inbox(tmp: Path) -> Path:
    """An inbox holding one quarantined event, ``evt_q``: paid 9.99 for a 1.00 order."""
    path = tmp / "quarantine.db"
    with PaymentInbox(path, orders=True) as inbox:
        inbox.create_order("G-1", provider="stripe", amount=100)
        callback = stripe_callback("whsec_q", order_id="G-1", amount=999, event_id="evt_q")
        assert inbox.receive(Stripe(["whsec_q"]), *callback).status == "quarantined"
    return path


def not_an_object(tmp: Path) -> Path:
    path = tmp / "list.json"
    path.write_text("[]")
    return path


def serve_discovery(*, fapi: bool) -> str:
    """The issuer URL of an OpenID provider on 127.0.0.1 whose discovery document meets
    FAPI 2.0 (``fapi``) or makes PAR optional, served for the rest of the run."""
    documents: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    documents["/.well-known/openid-configuration"] = json.dumps(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "pushed_authorization_request_endpoint": f"{issuer}/par",
            "require_pushed_authorization_requests": fapi,
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "authorization_response_iss_parameter_supported": True,
        }
    ).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return issuer


def state_copy(env: Env, tmp: Path) -> Path:
    return Path(shutil.copy(env.demo / "status-state.json", tmp / "state.json"))


def a_licence_id(env: Env) -> str:
    state = json.loads((env.demo / "status-state.json").read_text())
    return next(iter(state["licences"]))


# --- the cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One run of a command: its arguments, the exit code and the shape it must print."""

    argv: Callable[[Env, Path], list[str]]
    exit: int
    shape: str
    label: str


def ok(label: str, argv: Callable[[Env, Path], list[str]], shape: str = "data") -> Case:
    return Case(argv, EXIT_OK, shape, label)


def fails(
    label: str, argv: Callable[[Env, Path], list[str]], exit: int, shape: str = "error"
) -> Case:
    return Case(argv, exit, shape, label)


def _k(env: Env, name: str) -> str:
    return str(env.demo / "keys" / name)


ISSUE_FIELDS = [
    "--field", "name=张三", "--field", "licence_class=C1", "--field",
    "first_issue_date=2015-06-01", "--field", "file_number=440100123456",
]  # fmt: skip


CASES: dict[tuple[str, ...], list[Case]] = {
    ("keys", "generate"): [
        ok("new", lambda e, t: ["keys", "generate", "--alg", "EdDSA", "--out", str(t / "k.pem")]),
        fails(
            "exists",
            lambda e, t: ["keys", "generate", "--alg", "EdDSA", "--out", _k(e, "eddsa.pem")],
            EXIT_ENV,
        ),
    ],
    ("keys", "show"): [
        ok("public", lambda e, t: ["keys", "show", _k(e, "eddsa.pem.pub")]),
        fails("not_a_key", lambda e, t: ["keys", "show", str(e.demo / "trust.json")], EXIT_INVALID),
    ],
    ("keys", "jwks"): [
        ok("two", lambda e, t: ["keys", "jwks", _k(e, "eddsa.pem.pub"), _k(e, "es256.pem")]),
        fails("missing", lambda e, t: ["keys", "jwks", str(t / "nope.pem")], EXIT_ENV),
    ],
    ("token", "issue"): [
        ok(
            "issued",
            lambda e, t: [
                "token",
                "issue",
                "--key",
                _k(e, "es256.pem"),
                "--issuer",
                "https://a",
                "--subject",
                "p-3f9a1c07d2",
                "--audience",
                "https://b",
                "--assurance",
                "high",
            ],
        ),
        fails(
            "resident_id_claim",
            lambda e, t: [
                "token",
                "issue",
                "--key",
                _k(e, "es256.pem"),
                "--issuer",
                "https://a",
                "--subject",
                "p-3f9a1c07d2",
                "--audience",
                "https://b",
                "--assurance",
                "high",
                "--claim",
                f"id={RESIDENT_ID}",
            ],
            EXIT_INVALID,
        ),
    ],
    ("trust", "create"): [
        ok(
            "new",
            lambda e, t: [
                "trust",
                "create",
                "--anchor",
                _k(e, "trust-anchor.pem"),
                "--out",
                str(t / "trust.json"),
            ],
        ),
        fails(
            "exists",
            lambda e, t: [
                "trust",
                "create",
                "--anchor",
                _k(e, "trust-anchor.pem"),
                "--out",
                str(e.demo / "trust.json"),
            ],
            EXIT_ENV,
        ),
    ],
    ("trust", "add-issuer"): [
        ok(
            "added",
            lambda e, t: [
                "trust",
                "add-issuer",
                shutil.copy(e.demo / "trust.json", t / "t.json"),
                "--anchor",
                _k(e, "trust-anchor.pem"),
                "--name",
                AGENCY,
                "--uscc",
                USCC,
                "--key",
                _k(e, "eddsa.pem.pub"),
                "--types",
                "passport",
            ],
        ),
        fails(
            "unknown_type",
            lambda e, t: [
                "trust",
                "add-issuer",
                shutil.copy(e.demo / "trust.json", t / "t.json"),
                "--anchor",
                _k(e, "trust-anchor.pem"),
                "--name",
                AGENCY,
                "--uscc",
                USCC,
                "--key",
                _k(e, "eddsa.pem.pub"),
                "--types",
                "nope",
            ],
            EXIT_USAGE,
        ),
    ],
    ("trust", "sign"): [
        ok(
            "signed",
            lambda e, t: [
                "trust",
                "sign",
                str(trust_body(e, t)),
                "--anchor",
                _k(e, "trust-anchor.pem"),
                "--out",
                str(t / "signed.json"),
            ],
        ),
        fails(
            "not_an_object",
            lambda e, t: [
                "trust",
                "sign",
                str(not_an_object(t)),
                "--anchor",
                _k(e, "trust-anchor.pem"),
                "--out",
                str(t / "signed.json"),
            ],
            EXIT_USAGE,
        ),
    ],
    ("trust", "show"): [
        ok(
            "shown",
            lambda e, t: [
                "trust",
                "show",
                str(e.demo / "trust.json"),
                "--anchor",
                _k(e, "trust-anchor.pub"),
            ],
        ),
        fails(
            "another_anchor",
            lambda e, t: [
                "trust",
                "show",
                str(e.demo / "trust.json"),
                "--anchor",
                _k(e, "eddsa.pem.pub"),
            ],
            EXIT_INVALID,
        ),
    ],
    ("issue",): [
        ok(
            "issued",
            lambda e, t: [
                "issue",
                "--key",
                _k(e, "issuer.pem"),
                "--agency",
                AGENCY,
                "--uscc",
                USCC,
                "--type",
                "driving-licence",
                "--holder",
                "p-3f9a1c07d2",
                *ISSUE_FIELDS,
                "--valid-until",
                "2031-05-31",
                "--status-state",
                str(state_copy(e, t)),
                "--out",
                str(t / "dl"),
            ],
        ),
        fails(
            "exists",
            lambda e, t: [
                "issue",
                "--key",
                _k(e, "issuer.pem"),
                "--agency",
                AGENCY,
                "--uscc",
                USCC,
                "--type",
                "driving-licence",
                "--holder",
                "p-3f9a1c07d2",
                *ISSUE_FIELDS,
                "--valid-until",
                "2031-05-31",
                "--status-state",
                str(state_copy(e, t)),
                "--out",
                str(e.demo / "certificates" / "driving-licence"),
            ],
            EXIT_ENV,
        ),
    ],
    ("revoke",): [
        ok(
            "revoked",
            lambda e, t: [
                "revoke",
                a_licence_id(e),
                "--key",
                _k(e, "issuer.pem"),
                "--status-state",
                str(state_copy(e, t)),
                "--out",
                str(t / "s.json"),
            ],
        ),
        fails(
            "unknown_licence",
            lambda e, t: [
                "revoke",
                "1.2.156.nope",
                "--key",
                _k(e, "issuer.pem"),
                "--status-state",
                str(state_copy(e, t)),
                "--out",
                str(t / "s.json"),
            ],
            EXIT_USAGE,
        ),
    ],
    ("present",): [
        ok(
            "shown",
            lambda e, t: [
                "present",
                str(e.demo / "presentations" / "driving-licence.gks"),
                "--device-key",
                _k(e, "device.pem"),
                "--profile",
                "traffic-police",
            ],
        ),
        fails(
            "unknown_item",
            lambda e, t: [
                "present",
                str(e.demo / "presentations" / "driving-licence.gks"),
                "--device-key",
                _k(e, "device.pem"),
                "--disclose",
                "nope",
            ],
            EXIT_USAGE,
        ),
    ],
    ("sign",): [
        ok(
            "detached",
            lambda e, t: [
                "sign",
                str(Path(shutil.copy(e.demo / "trust.json", t))),
                "--key",
                _k(e, "es256.pem"),
                "--purpose",
                "审批",
            ],
        ),
        fails(
            "no_purpose",
            lambda e, t: ["sign", str(e.demo / "trust.json"), "--key", _k(e, "es256.pem")],
            EXIT_USAGE,
        ),
    ],
    # ``govkit verify INPUT`` is ``govkit verify auto INPUT``: the kind is detected.
    ("verify", "auto"): [
        ok(
            "licence_picture",
            lambda e, t: [
                "verify",
                "auto",
                str(e.demo / "certificates" / "driving-licence.png"),
                *e.trust(),
                *e.status(),
            ],
            "report",
        ),
        fails(
            "token_with_a_trust_list",  # an option the detected kind does not take
            lambda e, t: [
                "verify",
                "auto",
                str(e.demo / "identity" / "token-high.jwt"),
                *e.token_args(),
                "--audience",
                e.facts["identity"]["audience"],
                *e.trust(),
            ],
            EXIT_USAGE,
        ),
    ],
    ("verify", "licence"): [
        ok(
            "licence_picture",
            lambda e, t: [
                "verify",
                "licence",
                str(e.demo / "certificates" / "driving-licence.png"),
                *e.trust(),
                *e.status(),
            ],
            "report",
        ),
        ok(
            "from_the_demo_state",
            lambda e, t: [
                "verify",
                "licence",
                str(e.demo / "certificates" / "driving-licence.png"),
                "--state",
                str(e.demo_state(t)),
            ],
            "report",
        ),
        ok(
            "licence_status_not_checked",
            lambda e, t: [
                "verify",
                "licence",
                str(e.demo / "certificates" / "driving-licence.txt"),
                *e.trust(),
                "--unsafe-skip-status",
            ],
            "report",
        ),
        fails(
            "revoked_licence",
            lambda e, t: [
                "verify",
                "licence",
                str(e.demo / "certificates" / "revoked-driving-licence.txt"),
                *e.trust(),
                *e.status(),
            ],
            EXIT_INVALID,
            "report",
        ),
        fails(
            "licence_without_status_list",
            lambda e, t: [
                "verify",
                "licence",
                str(e.demo / "certificates" / "driving-licence.txt"),
                *e.trust(),
            ],
            EXIT_INVALID,
            "report",
        ),
        fails(
            "no_such_file",
            lambda e, t: ["verify", "licence", str(t / "missing.txt"), *e.trust(), *e.status()],
            EXIT_ENV,
        ),
        fails(
            "no_trust_list",
            lambda e, t: [
                "verify",
                "licence",
                str(e.demo / "certificates" / "driving-licence.txt"),
            ],
            EXIT_USAGE,
        ),
    ],
    ("verify", "token"): [
        ok(
            "token",
            lambda e, t: [
                "verify",
                "token",
                str(e.demo / "identity" / "token-high.jwt"),
                *e.token_args(),
                "--audience",
                e.facts["identity"]["audience"],
            ],
            "report",
        ),
        fails(
            "token_for_another_audience",
            lambda e, t: [
                "verify",
                "token",
                str(e.demo / "identity" / "token-high.jwt"),
                *e.token_args(),
                "--audience",
                "https://elsewhere.invalid",
            ],
            EXIT_INVALID,
            "report",
        ),
    ],
    ("verify", "presentation"): [
        ok(
            "presentation",
            lambda e, t: [
                "verify",
                "presentation",
                str(fresh_presentation(e, t)),
                *e.trust(),
                *e.status(),
                "--profile",
                "traffic-police",
            ],
            "report",
        ),
        fails(
            "presentation_for_another_profile",
            lambda e, t: [
                "verify",
                "presentation",
                str(fresh_presentation(e, t)),
                *e.trust(),
                *e.status(),
                "--profile",
                "age-check",
            ],
            EXIT_INVALID,
            "report",
        ),
    ],
    ("verify", "pdf"): [
        ok(
            "licence_pdf",
            lambda e, t: [
                "verify",
                "pdf",
                str(e.demo / "certificates" / "driving-licence.pdf"),
                "--ca",
                _k(e, "ca.crt"),
                *e.trust(),
                *e.status(),
            ],
            "report",
        ),
        fails(
            "pdf_from_an_untrusted_ca",
            lambda e, t: [
                "verify",
                "pdf",
                str(e.demo / "certificates" / "driving-licence.pdf"),
                "--ca",
                str(stranger_ca(t)),
                *e.trust(),
                *e.status(),
            ],
            EXIT_INVALID,
            "report",
        ),
    ],
    ("verify", "detached"): [
        ok(
            "detached",
            lambda e, t: verify_detached_args(e, t, other_data=False),
            "report",
        ),
        fails(
            "detached_over_other_data",
            lambda e, t: verify_detached_args(e, t, other_data=True),
            EXIT_INVALID,
            "report",
        ),
    ],
    ("verifier", "sync"): [
        ok(
            "from_a_local_server",
            lambda e, t: [
                "verifier",
                "sync",
                "--trust-url",
                serve_demo_lists(e),
                "--anchor",
                _k(e, "trust-anchor.pub"),
                "--state",
                str(t / "state"),
            ],
        ),
        fails(
            "nothing_listens",
            lambda e, t: [
                "verifier",
                "sync",
                "--trust-url",
                "http://127.0.0.1:9/trust.json",
                "--anchor",
                _k(e, "trust-anchor.pub"),
                "--state",
                str(t / "state"),
                "--timeout",
                "2",
            ],
            EXIT_ENV,
        ),
    ],
    ("verifier", "import"): [
        ok(
            "demo_lists",
            lambda e, t: [
                "verifier",
                "import",
                *e.trust(),
                *e.status(),
                "--state",
                str(t / "state"),
            ],
        ),
        fails(
            "another_anchor",
            lambda e, t: [
                "verifier",
                "import",
                "--trust",
                str(e.demo / "trust.json"),
                "--anchor",
                _k(e, "issuer.pem.pub"),
                "--state",
                str(t / "state"),
            ],
            EXIT_INVALID,
        ),
    ],
    ("verifier", "status"): [
        ok("demo_state", lambda e, t: ["verifier", "status", "--state", str(e.demo_state(t))]),
        fails(
            "damaged_state",
            lambda e, t: ["verifier", "status", "--state", str(damaged_state(t))],
            EXIT_ENV,
        ),
    ],
    ("audit", "verify"): [
        ok(
            "pinned_vkey",
            lambda e, t: [
                "audit",
                "verify",
                str(e.demo / "audit.db"),
                "--vkey",
                str(e.demo / "audit" / "note-key.vkey"),
                "--deep",
            ],
            "report",
        ),
        fails(
            "another_key",
            lambda e, t: [
                "audit",
                "verify",
                str(e.demo / "audit.db"),
                "--vkey",
                NoteSigner.generate("demo.govkit.invalid/audit").vkey,
            ],
            EXIT_INVALID,
            "report",
        ),
        fails("no_vkey", lambda e, t: ["audit", "verify", str(e.demo / "audit.db")], EXIT_USAGE),
    ],
    ("audit", "checkpoint"): [
        ok("signed", lambda e, t: ["audit", "checkpoint", str(e.copy_log(t))]),
        fails("missing", lambda e, t: ["audit", "checkpoint", str(t / "none.db")], EXIT_ENV),
    ],
    ("audit", "keygen"): [
        ok("new", lambda e, t: ["audit", "keygen", "example.gov/log", "--out", str(t / "nk")]),
        fails(
            "exists",
            lambda e, t: [
                "audit",
                "keygen",
                "example.gov/log",
                "--out",
                str(e.demo / "audit" / "note-key"),
            ],
            EXIT_ENV,
        ),
    ],
    ("audit", "prove"): [
        ok("inclusion", lambda e, t: ["audit", "prove", str(e.demo / "audit.db"), "0"]),
        fails("neither", lambda e, t: ["audit", "prove", str(e.demo / "audit.db")], EXIT_USAGE),
    ],
    ("audit", "show"): [
        ok("entries", lambda e, t: ["audit", "show", str(e.demo / "audit.db"), "--limit", "2"]),
        fails("missing", lambda e, t: ["audit", "show", str(t / "none.db")], EXIT_ENV),
    ],
    ("audit", "export"): [
        ok("package", lambda e, t: ["audit", "export", str(e.copy_log(t)), "--limit", "2"]),
        fails("missing", lambda e, t: ["audit", "export", str(t / "none.db")], EXIT_ENV),
    ],
    ("audit", "erase"): [
        ok("erased", lambda e, t: ["audit", "erase", str(e.copy_log(t)), "--subject", "p-1"]),
        fails(
            "missing",
            lambda e, t: ["audit", "erase", str(t / "none.db"), "--subject", "p"],
            EXIT_ENV,
        ),
    ],
    ("payments", "show"): [
        ok("inbox", lambda e, t: ["payments", "show", str(e.demo / "payments" / "inbox.db")]),
        fails("missing", lambda e, t: ["payments", "show", str(t / "none.db")], EXIT_ENV),
    ],
    ("payments", "replay"): [
        ok(
            "done_event",
            lambda e, t: [
                "payments",
                "replay",
                shutil.copy(e.demo / "payments" / "inbox.db", t / "inbox.db"),
                e.facts["payments"]["deliveries"][0]["event"]["event_id"],
            ],
        ),
        fails(
            "unknown_event",
            lambda e, t: ["payments", "replay", str(e.demo / "payments" / "inbox.db"), "nope"],
            EXIT_ENV,
        ),
    ],
    ("payments", "release"): [
        ok(
            "quarantined_event",
            lambda e, t: [
                "payments",
                "release",
                str(quarantined_inbox(t)),
                "evt_q",
                "--reason",
                "amount checked with the payer",
                "--actor",
                "clerk-12",
            ],
        ),
        fails(
            "unknown_event",
            lambda e, t: [
                "payments",
                "release",
                str(quarantined_inbox(t)),
                "nope",
                "--reason",
                "r",
                "--actor",
                "a",
            ],
            EXIT_ENV,
        ),
    ],
    ("payments", "worker"): [
        ok("one_pass", lambda e, t: ["payments", "worker", str(quarantined_inbox(t)), "--once"]),
        fails(
            "no_poll_interval",
            lambda e, t: ["payments", "worker", str(quarantined_inbox(t)), "--poll", "0"],
            EXIT_USAGE,
        ),
    ],
    ("payments", "reconcile"): [
        ok(
            "agrees",
            lambda e, t: [
                "payments",
                "reconcile",
                str(e.bill(t, "200.00")),
                "--inbox",
                str(e.demo / "payments" / "inbox.db"),
            ],
        ),
        # A bill that disagrees is data with exit 1 (a reconciliation, not a verdict).
        fails(
            "amount_differs",
            lambda e, t: [
                "payments",
                "reconcile",
                str(e.bill(t, "300.00")),
                "--inbox",
                str(e.demo / "payments" / "inbox.db"),
            ],
            EXIT_INVALID,
            "data",
        ),
        fails(
            "missing_bill",
            lambda e, t: [
                "payments",
                "reconcile",
                str(t / "none.csv"),
                "--inbox",
                str(e.demo / "payments" / "inbox.db"),
            ],
            EXIT_ENV,
        ),
    ],
    ("db", "upgrade"): [
        ok("current", lambda e, t: ["db", "upgrade", str(e.copy_log(t))]),
        fails("missing", lambda e, t: ["db", "upgrade", str(t / "none.db")], EXIT_ENV),
    ],
    ("db", "purge"): [
        ok(
            "inbox",
            lambda e, t: [
                "db",
                "purge",
                str(shutil.copy(e.demo / "payments" / "inbox.db", t / "inbox.db")),
            ],
        ),
        fails("missing", lambda e, t: ["db", "purge", str(t / "none.db")], EXIT_ENV),
    ],
    ("oidc", "check"): [
        ok("meets", lambda e, t: ["oidc", "check", serve_discovery(fapi=True)], "report"),
        fails(
            "par_optional",
            lambda e, t: ["oidc", "check", serve_discovery(fapi=False)],
            EXIT_INVALID,
            "report",
        ),
        fails(
            "no_document",
            lambda e, t: ["oidc", "check", serve_discovery(fapi=True) + "/nowhere"],
            EXIT_ENV,
        ),
    ],
    ("demo",): [
        ok("run", lambda e, t: ["demo", "--out", str(t / "d")]),
        fails("folder_not_empty", lambda e, t: ["demo", "--out", str(e.demo)], EXIT_ENV),
    ],
}


def command_paths(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> set[tuple[str, ...]]:
    """Every runnable command of the parser, as its words (``("audit", "verify")``)."""
    found: set[tuple[str, ...]] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= command_paths(child, (*path, name))
    return found or {path}


def test_every_command_has_a_success_and_a_failure_case() -> None:
    commands = command_paths(build_parser())
    assert sorted(commands - CASES.keys()) == [], "commands without a --json case"
    assert sorted(CASES.keys() - commands) == [], "cases for commands that do not exist"
    for command, cases in CASES.items():
        exits = {case.exit for case in cases}
        assert EXIT_OK in exits, command
        assert exits - {EXIT_OK}, command


def test_the_schemas_are_valid_and_tell_the_shapes_apart() -> None:
    for validator in VALIDATORS.values():
        Draft202012Validator.check_schema(validator.schema)
    report = {"valid": False, "kind": "token", "code": "token.expired", "checks": [
        {"name": "expiry", "ok": False, "code": "token.expired", "detail": "expired"}]}  # fmt: skip
    assert shapes_of(report) == ["report"]
    assert shapes_of({"error": {"code": "cli.usage", "message": "m", "context": {}}}) == ["error"]
    assert shapes_of({"kid": "abc"}) == ["data"]
    # What the shapes rule out: a verdict without checks, a pass with a code, data that
    # looks like a verdict, a check that failed without saying why.
    assert shapes_of({"valid": True, "kind": "token", "code": None, "checks": []}) == []
    assert shapes_of({**report, "valid": True}) == []
    assert shapes_of({"valid": True, "out": "x"}) == []
    failed_without_code = {"name": "expiry", "ok": False, "code": None, "detail": ""}
    assert shapes_of({**report, "checks": [failed_without_code]}) == []
    assert shapes_of({"ok": False, "error": {"code": "a.b", "message": "", "context": {}}}) == []


def test_version_json_is_data() -> None:
    code, out, _ = run("--version", "--json")
    assert (code, shapes_of(json.loads(out))) == (EXIT_OK, ["data"])


@pytest.mark.parametrize(
    ("command", "case"),
    [(command, case) for command, cases in CASES.items() for case in cases],
    ids=[f"{'-'.join(command)}-{case.label}" for command, cases in CASES.items() for case in cases],
)
def test_json_output_validates_against_its_shape(
    env: Env, tmp_path: Path, command: tuple[str, ...], case: Case
) -> None:
    argv = [str(a) for a in case.argv(env, tmp_path)]
    assert tuple(argv[: len(command)]) == command
    code, out, err = run(*argv, "--json")
    assert code == case.exit, err
    document = json.loads(out)  # stdout is the JSON document and nothing else
    assert shapes_of(document) == [case.shape], (document, err)
    if case.shape == "report":
        assert document["valid"] is (code == EXIT_OK)
        assert document["checks"], document
    if case.shape == "error":
        assert f"[{document['error']['code']}]" in err  # the same failure, said on stderr
