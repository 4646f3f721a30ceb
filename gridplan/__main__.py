"""``python -m gridplan``: the command line."""

import sys

from gridplan.cli import main

sys.exit(main())
