"""The ``govkit`` command: a thin, scriptable shell over the public API.

>>> from govkit.cli import main
>>> main(["--version"])  # doctest: +ELLIPSIS
govkit ...
0

Data goes to stdout, status to stderr; every command takes ``--json``. Exit
codes: 0 ok or valid, 1 invalid, 2 usage, 3 environment or I/O error.
"""

from govkit.cli._app import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main

__all__ = ["EXIT_ENV", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "main"]
