"""``python -m flowodm.sandbox.registry``: run the local Confluent-compatible registry."""

from __future__ import annotations

from flowodm.sandbox.registry.cli import main

raise SystemExit(main())
