"""``python -m gridplan.cli``: the command line."""

import sys

from gridplan.cli import main

sys.exit(main())
