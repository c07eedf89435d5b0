"""``python -m govkit.cli`` runs the ``govkit`` command."""

from govkit.cli import main

raise SystemExit(main())
