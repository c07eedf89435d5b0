"""Write the offline fallback inventories of docs/conf.py's intersphinx mapping.

Sphinx's intersphinx extension reads each project's ``objects.inv`` from the network.
``docs/conf.py`` asks the network first and falls back to the files this script writes,
so a build without network access (CI sandboxes, the tests) still resolves links to
Python, cryptography and pyHanko, and ``sphinx-build -W`` does not fail on an
unreachable inventory. With network access the complete upstream inventories are used.

These files are a *subset*, generated here rather than downloaded (the machine that made
them had no network access): the public names of the modules govkit's API mentions,
each pointing at the page upstream documents it on. The pages follow each project's
layout (Python ``library/<module>.html``, cryptography's ``x509/reference/`` and
``hazmat/primitives/...`` pages, pyHanko's ``api-docs/<module>.html``); an anchor may be
missing upstream for a name that is not documented there, in which case the link opens
the right page at its top. Replace them with the real files when online::

    curl -o docs/_intersphinx/python.inv https://docs.python.org/3/objects.inv

Run ``python docs/_intersphinx/make_inventories.py`` to regenerate the subset.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Python modules and the page each is documented on.
PYTHON_MODULES = {
    "asyncio": "library/asyncio.html",
    "collections.abc": "library/collections.abc.html",
    "concurrent.futures": "library/concurrent.futures.html",
    "dataclasses": "library/dataclasses.html",
    "datetime": "library/datetime.html",
    "enum": "library/enum.html",
    "functools": "library/functools.html",
    "hashlib": "library/hashlib.html",
    "io": "library/io.html",
    "ipaddress": "library/ipaddress.html",
    "json": "library/json.html",
    "logging": "library/logging.html",
    "os": "library/os.html",
    "pathlib": "library/pathlib.html",
    "sqlite3": "library/sqlite3.html",
    "threading": "library/threading.html",
    "types": "library/types.html",
    "typing": "library/typing.html",
    "urllib.parse": "library/urllib.parse.html",
    "uuid": "library/uuid.html",
    "zoneinfo": "library/zoneinfo.html",
}
#: Built-in types and their pages (the constructors are on functions.html).
PYTHON_BUILTIN_TYPES = {
    **dict.fromkeys(("bool", "float", "int", "object", "type"), "library/functions.html"),
    **dict.fromkeys(
        ("bytearray", "bytes", "dict", "frozenset", "list", "memoryview", "set", "str", "tuple"),
        "library/stdtypes.html",
    ),
}

#: cryptography modules and their pages (the docs are built with ``dirhtml``).
CRYPTOGRAPHY_MODULES = {
    "cryptography.exceptions": "exceptions/",
    "cryptography.x509": "x509/reference/",
    "cryptography.x509.oid": "x509/reference/",
    "cryptography.hazmat.primitives.hashes": "hazmat/primitives/cryptographic-hashes/",
    "cryptography.hazmat.primitives.serialization": "hazmat/primitives/asymmetric/serialization/",
    "cryptography.hazmat.primitives.asymmetric.rsa": "hazmat/primitives/asymmetric/rsa/",
    "cryptography.hazmat.primitives.asymmetric.padding": "hazmat/primitives/asymmetric/rsa/",
    "cryptography.hazmat.primitives.asymmetric.ec": "hazmat/primitives/asymmetric/ec/",
    "cryptography.hazmat.primitives.asymmetric.ed25519": "hazmat/primitives/asymmetric/ed25519/",
    "cryptography.hazmat.primitives.asymmetric.ed448": "hazmat/primitives/asymmetric/ed448/",
    "cryptography.hazmat.primitives.ciphers.aead": "hazmat/primitives/aead/",
    "cryptography.hazmat.primitives.hmac": "hazmat/primitives/mac/hmac/",
    "cryptography.hazmat.primitives.kdf.hkdf": "hazmat/primitives/key-derivation-functions/",
}

#: pyHanko modules govkit.esign and govkit.certificates use; each has its own API page.
PYHANKO_MODULES = {
    name: f"api-docs/{name}.html"
    for name in (
        "pyhanko.pdf_utils.reader",
        "pyhanko.pdf_utils.incremental_writer",
        "pyhanko.sign.fields",
        "pyhanko.sign.general",
        "pyhanko.sign.signers.pdf_signer",
        "pyhanko.sign.signers.pdf_cms",
        "pyhanko.sign.timestamps.requests_client",
        "pyhanko.sign.validation.errors",
        "pyhanko.sign.validation.status",
        "pyhanko.stamp",
        "pyhanko_certvalidator",
    )
}


def _members(module_name: str) -> Iterator[tuple[str, str]]:
    """``(full name, role)`` for a module's public classes, functions and exceptions."""
    module = importlib.import_module(module_name)
    names: Iterable[str] = getattr(module, "__all__", None) or dir(module)
    for name in sorted(set(names)):
        if name.startswith("_"):
            continue
        with warnings.catch_warnings():  # deprecated names still have a page
            warnings.simplefilter("ignore")
            value = getattr(module, name, None)
        if inspect.isclass(value):
            role = "exception" if issubclass(value, BaseException) else "class"
        elif inspect.isfunction(value) or inspect.isbuiltin(value):
            role = "function"
        else:
            continue
        home = getattr(value, "__module__", "") or ""
        if home.partition(".")[0] != module_name.partition(".")[0] and home != "builtins":
            continue  # imported from elsewhere (typing.Any from abc...): not documented here
        yield f"{module_name}.{name}", role


def _lines(modules: dict[str, str]) -> list[str]:
    lines = []
    for module_name, page in modules.items():
        lines.append(f"{module_name} py:module 0 {page}#module-$ -")
        lines += [f"{name} py:{role} 1 {page}#$ -" for name, role in _members(module_name)]
    return lines


def _write(path: Path, project: str, version: str, lines: list[str]) -> None:
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    ).encode()
    body = "".join(line + "\n" for line in sorted(set(lines))).encode()
    path.write_bytes(header + zlib.compress(body, 9))


def main() -> None:
    """Write python.inv, cryptography.inv and pyhanko.inv beside this script."""
    import sys  # noqa: PLC0415

    python = _lines(PYTHON_MODULES)
    python += [f"{name} py:class 1 {page}#$ -" for name, page in PYTHON_BUILTIN_TYPES.items()]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    _write(HERE / "python.inv", "Python (govkit offline subset)", version, python)
    _write(HERE / "cryptography.inv", "cryptography (govkit offline subset)", "latest",
           _lines(CRYPTOGRAPHY_MODULES))  # fmt: skip
    _write(HERE / "pyhanko.inv", "pyHanko (govkit offline subset)", "latest",
           _lines(PYHANKO_MODULES))  # fmt: skip


if __name__ == "__main__":
    main()
