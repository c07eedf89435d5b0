"""The offline intersphinx fallbacks of docs/conf.py load and name what the docs link to.

``docs/conf.py`` reads each project's inventory from the network first and from
``docs/_intersphinx/`` when offline; a broken or missing fallback would fail the
``-W`` documentation build on every machine without network access.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from sphinx.util.inventory import InventoryFile

DOCS = Path(__file__).resolve().parent.parent / "docs"

EXPECTED = {
    "python": ("https://docs.python.org/3", "datetime.timedelta", "library/datetime.html"),
    "cryptography": (
        "https://cryptography.io/en/latest/",
        "cryptography.x509.Certificate",
        "x509/reference/",
    ),
    "pyhanko": (
        "https://pyhanko.readthedocs.io/en/latest/",
        "pyhanko.sign.signers.pdf_signer.PdfSigner",
        "api-docs/pyhanko.sign.signers.pdf_signer.html",
    ),
}


@pytest.fixture(scope="module")
def mapping() -> dict[str, tuple[str, tuple[str | None, ...]]]:
    conf = runpy.run_path(str(DOCS / "conf.py"))
    assert "sphinx.ext.intersphinx" in conf["extensions"]
    assert "sphinx_copybutton" in conf["extensions"]
    found: dict[str, tuple[str, tuple[str | None, ...]]] = conf["intersphinx_mapping"]
    return found


@pytest.mark.parametrize("project", sorted(EXPECTED))
def test_each_project_falls_back_to_a_local_inventory_that_loads(
    project: str, mapping: dict[str, tuple[str, tuple[str | None, ...]]]
) -> None:
    target, name, page = EXPECTED[project]
    uri, locations = mapping[project]
    assert uri == target
    assert locations[0] is None  # the network first: the full upstream inventory
    local = DOCS / str(locations[-1])
    inventory = InventoryFile.loads(local.read_bytes(), uri=uri)
    data = getattr(inventory, "data", inventory)
    entries = {key: value for objects in data.values() for key, value in objects.items()}
    assert name in entries
    item = entries[name]
    location = getattr(item, "uri", None) or item[2]
    assert location.startswith(uri.rstrip("/") + "/" + page)
