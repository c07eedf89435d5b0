"""Sphinx configuration for the govkit documentation.

``make docs`` builds it twice, both with warnings as errors::

    sphinx-build -W --keep-going -q -b html docs docs/_build/html
    sphinx-build -W --keep-going -q -b doctest docs docs/_build/doctest

The doctest builder runs every ``.. doctest::`` and ``.. testcode::`` block of the
pages; pytest runs the ``>>>`` examples in the docstrings (``--doctest-modules``).

Intersphinx links to Python, cryptography and pyHanko ask the network for each
project's ``objects.inv`` first and fall back to the subsets in ``_intersphinx/``
(written by ``_intersphinx/make_inventories.py``), so a build without network access
resolves the same names and ``-W`` does not fail on an unreachable inventory.
"""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

# Document the source tree beside this folder, not whatever govkit is installed.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import govkit  # noqa: E402 - needs the path above

project = "govkit"
author = "govkit contributors"
copyright = "govkit contributors"
version = govkit.__version__
release = govkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "sphinx_copybutton",
]

exclude_patterns = ["_build"]
language = "en"

# -- autodoc and napoleon (Google-style docstrings) ---------------------------
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# -- intersphinx -------------------------------------------------------------
# Each project: its documentation, then where its inventory is read from. None (the
# network) comes first; the local subset is the fallback, and a project that loads from
# one of its locations logs the other's failure as information, not as a warning.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", (None, "_intersphinx/python.inv")),
    "cryptography": ("https://cryptography.io/en/latest/", (None, "_intersphinx/cryptography.inv")),
    "pyhanko": ("https://pyhanko.readthedocs.io/en/latest/", (None, "_intersphinx/pyhanko.inv")),
}
intersphinx_timeout = 10

# -- copy button ---------------------------------------------------------------
# In a block with prompts (``>>>``, ``...``, ``$``) copy the prompted lines without
# their prompts, and no output; a block without prompts is copied whole.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- doctest -----------------------------------------------------------------
# The builder runs the explicit ``.. doctest::`` / ``.. testcode::`` blocks of these
# pages. Bare ``>>>`` blocks are not collected: the ones autodoc pulls in from
# docstrings are run by pytest (``--doctest-modules``) with their module's globals,
# and here they would all share one namespace. Exception messages are compared in
# full (no IGNORE_EXCEPTION_DETAIL), so a page cannot show a message govkit no
# longer produces. Examples that write files use a temporary directory.
doctest_test_doctest_blocks = ""
doctest_default_flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1

# -- HTML ----------------------------------------------------------------------
html_theme = "furo"
html_title = f"govkit {release}"
