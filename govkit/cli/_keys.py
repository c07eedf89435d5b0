"""``govkit keys``: generate, show and publish keys."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from govkit._json import loads_object
from govkit.cli._app import Output, env_password
from govkit.cli._files import read_file, refuse_existing, write_file
from govkit.errors import InvalidKey
from govkit.keys import ALGORITHMS, OPTIONAL_ALGORITHMS, SigningKey, VerifyingKey


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``keys`` command group."""
    keys = sub.add_parser("keys", help="generate, show and publish keys", parents=[common])
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True)

    gen = keys_sub.add_parser(
        "generate", parents=[common], help="generate a key pair (PATH and PATH.pub)"
    )
    gen.add_argument(
        "--alg",
        required=True,
        choices=ALGORITHMS + OPTIONAL_ALGORITHMS,
        help="JOSE algorithm (SM2 needs govkit[sm])",
    )
    gen.add_argument("--out", required=True, type=Path, metavar="PATH", help="private key PEM path")
    gen.add_argument(
        "--password-env", metavar="VAR", help="encrypt the private key with the password in VAR"
    )
    gen.add_argument("--force", action="store_true", help="replace existing files")
    gen.set_defaults(handler=cmd_generate)

    show = keys_sub.add_parser("show", parents=[common], help="show a key's kid, alg and JWK")
    show.add_argument("path", type=Path, metavar="PATH", help="private PEM, public PEM or JWK file")
    show.add_argument("--password-env", metavar="VAR", help="password of an encrypted key")
    show.add_argument("--alg", choices=ALGORITHMS, help="algorithm, for RSA keys without one")
    show.set_defaults(handler=cmd_show)

    jwks = keys_sub.add_parser("jwks", parents=[common], help="print a JWKS of public keys")
    jwks.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="PEM or JWK files")
    jwks.add_argument("--password-env", metavar="VAR", help="password of encrypted keys")
    jwks.add_argument("--alg", choices=ALGORITHMS, help="algorithm, for RSA keys without one")
    jwks.set_defaults(handler=cmd_jwks)


def load_any_key(
    path: Path, password: str | None = None, alg: str | None = None
) -> tuple[VerifyingKey, bool]:
    """Load a private PEM, public PEM or JWK file; return the public key and whether private."""
    data = read_file(path)
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        jwk = loads_object(stripped, what="the JWK file", error=InvalidKey)
        return VerifyingKey.from_jwk(jwk, alg), False
    if b"PRIVATE KEY-----" in data:
        return SigningKey.from_pem(data, password, alg).verifying_key, True
    return VerifyingKey.from_pem(data, alg), False


def cmd_generate(args: argparse.Namespace, out: Output) -> int:
    """``govkit keys generate``."""
    out_path: Path = args.out
    pub_path = out_path.with_name(out_path.name + ".pub")
    refuse_existing(out_path, pub_path, force=args.force)  # neither written if one exists
    password = env_password(args.password_env)
    key = SigningKey.generate(args.alg)
    write_file(out_path, key.to_pem(password), private=True, force=args.force)
    write_file(pub_path, key.verifying_key.to_pem(), force=args.force)
    out.say("wrote_two", path=out_path, other=pub_path)
    out.data(
        {
            "kid": key.kid,
            "alg": key.alg,
            "jwk": key.verifying_key.to_jwk(),
            "private_key": str(out_path),
            "public_key": str(pub_path),
            "encrypted": password is not None,
        },
        text=key.kid,
    )
    return 0


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    """``govkit keys show``."""
    key, private = load_any_key(args.path, env_password(args.password_env), args.alg)
    out.data(
        {
            "kid": key.kid,
            "alg": key.alg,
            "kind": "private" if private else "public",
            "jwk": key.to_jwk(),
        }
    )
    return 0


def cmd_jwks(args: argparse.Namespace, out: Output) -> int:
    """``govkit keys jwks``."""
    password = env_password(args.password_env)
    seen: dict[str, dict[str, str]] = {}
    for path in args.paths:
        key, _ = load_any_key(path, password, args.alg)
        seen.setdefault(key.kid, key.to_jwk())
    jwks = {"keys": list(seen.values())}
    out.data(jwks, text=json.dumps(jwks, indent=2))
    return 0
