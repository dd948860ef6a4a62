"""``python -m mockverse`` runs the command line."""

import sys

from mockverse.cli import main

sys.exit(main())
