"""Entry point for ``python -m tools.calibrate``."""

from .cli import main

raise SystemExit(main())
