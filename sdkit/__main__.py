"""``python -m sdkit`` runs the command line."""

from sdkit.cli import main

raise SystemExit(main())
