"""``python -m flowodm`` runs the command line."""

import sys

from flowodm.cli.main import main

sys.exit(main())
