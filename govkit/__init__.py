"""govkit: the public components every digital-government app needs.

>>> import govkit
>>> isinstance(govkit.__version__, str)
True

The components, each a subpackage with its own ``__all__``:

* :mod:`govkit.keys`: signing and verifying keys, key rings, JWKS, the ``Signer`` protocol.
* :mod:`govkit.stores`: shared state (replay, revocation and take-once flow stores in
  memory, SQLite or PostgreSQL) and the SQL layer under every store.
* :mod:`govkit.audit`: a tamper-evident transparency log (RFC 6962 Merkle tree,
  C2SP checkpoints) on SQLite or PostgreSQL.
* :mod:`govkit.errors`: the one error tree, each error with a stable ``code``.
* :mod:`govkit.clock`: the ``Clock`` protocol; aware UTC everywhere.
* :mod:`govkit.testing`: fakes for applications' own tests (``FixedClock``).
* :mod:`govkit.cli`: the ``govkit`` command, a thin shell over the public API.

Components announced in the roadmap (identity tokens, electronic licences, PDF
signing, payment callbacks) land as their own subpackages.
"""

__version__ = "0.1.0"
