"""`python -m reidlab` runs the reidlab command (torchrun -m reidlab train ... too)."""

import sys

from reidlab.cli.main import main

sys.exit(main())
